#![allow(clippy::unwrap_used, clippy::panic)]

use serde_json::{Value, json};

use super::*;
use crate::canonical::ChatRequest;
use crate::gemini::GenerateContentRequest;
use crate::openai::ChatCompletionRequest;
use crate::openai::convert::{chat_request_to_canonical, chat_response_from_canonical};

fn openai_request() -> Value {
    json!({
        "model": "gemini-2.5-flash",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": "Use tools when useful."},
            {"role": "user", "content": [
                {"type": "text", "text": "What is in this picture, and the weather in Paris?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}
            ]},
            {"role": "assistant", "content": "Let me check.", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": ""}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "18C and sunny"},
            {"role": "tool", "tool_call_id": "call_2", "content": "{\"time\":\"12:00\"}"},
            {"role": "user", "content": "Thanks. Answer as JSON."}
        ],
        "tools": [
            {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                "parameters": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
                    "additionalProperties": false,
                    "properties": {"city": {"type": "string"}, "unit": {"type": ["string", "null"], "enum": ["c", "f"]}},
                    "required": ["city"]}, "strict": true}},
            {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}
        ],
        "tool_choice": "required",
        "max_tokens": 512,
        "temperature": 0.2,
        "top_p": 0.9,
        "stop": ["END"],
        "seed": 7,
        "n": 1,
        "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "strict": true,
            "schema": {"type": "object", "properties": {"summary": {"type": "string"}}, "required": ["summary"], "additionalProperties": false}}},
        "reasoning_effort": "medium",
        "user": "u-1"
    })
}

fn canonical_from_openai(value: Value) -> ChatRequest {
    let wire: ChatCompletionRequest = serde_json::from_value(value).unwrap();
    chat_request_to_canonical(&wire).unwrap()
}

fn gemini_response() -> GenerateContentResponse {
    serde_json::from_value(json!({
        "candidates": [{
            "content": {"role": "model", "parts": [
                {"text": "The user wants the weather.", "thought": true},
                {"text": "Checking both cities."},
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "c2lnLzEr"},
                {"functionCall": {"id": "fc-9", "name": "get_weather", "args": {"city": "Rome"}}}
            ]},
            "finishReason": "STOP",
            "index": 0,
            "safetyRatings": [{"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"}]
        }],
        "usageMetadata": {"promptTokenCount": 100, "candidatesTokenCount": 20, "totalTokenCount": 150,
            "cachedContentTokenCount": 40, "thoughtsTokenCount": 30},
        "modelVersion": "gemini-2.5-flash",
        "responseId": "resp-1"
    }))
    .unwrap()
}

#[test]
fn gemini_openai_request_to_gemini_snapshot() {
    let canonical = canonical_from_openai(openai_request());
    let wire = request_from_canonical(&canonical);
    let value = serde_json::to_value(&wire).unwrap();
    insta::assert_json_snapshot!("openai_request_as_gemini", value);

    // Only user/model roles, alternating.
    let roles: Vec<&str> = wire
        .contents
        .iter()
        .map(|c| c.role.as_deref().unwrap())
        .collect();
    assert_eq!(roles, ["user", "model", "user"]);
    // Tool results carry the names of the calls they answer, and their ids.
    let responses: Vec<(&str, &str)> = wire.contents[2]
        .parts
        .iter()
        .filter_map(|p| p.function_response.as_ref())
        .map(|r| (r.id.as_deref().unwrap(), r.name.as_str()))
        .collect();
    assert_eq!(
        responses,
        [("call_1", "get_weather"), ("call_2", "get_time")]
    );
    assert_eq!(
        wire.contents[2].parts.last().unwrap().text.as_deref(),
        Some("Thanks. Answer as JSON.")
    );
}

#[test]
fn gemini_tool_results_without_a_json_object_are_wrapped() {
    let canonical = canonical_from_openai(openai_request());
    let wire = request_from_canonical(&canonical);
    let first = wire.contents[2].parts[0]
        .function_response
        .as_ref()
        .unwrap();
    assert_eq!(first.response, json!({"output": "18C and sunny"}));
    let second = wire.contents[2].parts[1]
        .function_response
        .as_ref()
        .unwrap();
    assert_eq!(second.response, json!({"time": "12:00"}));
}

#[test]
fn gemini_generation_config_rules() {
    let canonical = canonical_from_openai(openai_request());
    let g = request_from_canonical(&canonical)
        .generation_config
        .unwrap();
    assert_eq!(g.temperature, Some(0.2));
    assert_eq!(g.top_p, Some(0.9));
    assert_eq!(g.max_output_tokens, Some(512));
    assert_eq!(g.stop_sequences, Some(vec!["END".to_owned()]));
    assert_eq!(g.candidate_count, Some(1));
    assert_eq!(g.seed, Some(7));
    assert_eq!(g.response_mime_type.as_deref(), Some("application/json"));
    assert_eq!(
        g.response_schema,
        Some(
            json!({"type": "object", "properties": {"summary": {"type": "string"}}, "required": ["summary"]})
        )
    );
    let t = g.thinking_config.unwrap();
    assert_eq!(t.thinking_budget, Some(4096));
    assert_eq!(t.include_thoughts, Some(true));

    let mut req = ChatRequest::new("m", vec![]);
    req.response_format = Some(json!({"type": "json_object"}));
    req.reasoning_effort = Some("none".into());
    let g = request_from_canonical(&req).generation_config.unwrap();
    assert_eq!(g.response_mime_type.as_deref(), Some("application/json"));
    assert_eq!(g.response_schema, None);
    assert_eq!(g.thinking_config.unwrap().thinking_budget, Some(0));

    req.response_format = Some(json!({"type": "text"}));
    req.reasoning_effort = None;
    assert_eq!(request_from_canonical(&req).generation_config, None);
}

#[test]
fn gemini_tool_choice_both_ways() {
    let cases = [
        (
            ToolChoice::Auto,
            json!({"functionCallingConfig": {"mode": "AUTO"}}),
        ),
        (
            ToolChoice::None,
            json!({"functionCallingConfig": {"mode": "NONE"}}),
        ),
        (
            ToolChoice::Required,
            json!({"functionCallingConfig": {"mode": "ANY"}}),
        ),
        (
            ToolChoice::Named("f".into()),
            json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["f"]}}),
        ),
    ];
    for (choice, wire) in cases {
        let mut req = ChatRequest::new("m", vec![]);
        req.tool_choice = Some(choice.clone());
        let out = request_from_canonical(&req);
        assert_eq!(
            serde_json::to_value(out.tool_config.unwrap()).unwrap(),
            wire
        );
        let back = request_to_canonical(
            "m",
            &serde_json::from_value(json!({"toolConfig": wire})).unwrap(),
        )
        .unwrap();
        assert_eq!(back.tool_choice, Some(choice));
        assert!(
            !back.dialect_extra.contains_key(DIALECT),
            "{:?}",
            back.dialect_extra
        );
    }
    // Modes the canonical form cannot say are kept for the Gemini renderer.
    let raw =
        json!({"functionCallingConfig": {"mode": "VALIDATED", "allowedFunctionNames": ["a", "b"]}});
    let req: GenerateContentRequest = serde_json::from_value(json!({"toolConfig": raw})).unwrap();
    let canonical = request_to_canonical("m", &req).unwrap();
    assert_eq!(canonical.tool_choice, Some(ToolChoice::Auto));
    assert_eq!(
        serde_json::to_value(request_from_canonical(&canonical).tool_config).unwrap(),
        raw
    );
}

#[test]
fn gemini_tool_parameters_are_cleaned_and_empty_objects_omitted() {
    let canonical = canonical_from_openai(openai_request());
    let wire = request_from_canonical(&canonical);
    let decls = wire.tools.unwrap()[0]
        .function_declarations
        .clone()
        .unwrap();
    assert_eq!(
        decls[0].parameters,
        Some(
            json!({"type": "object", "properties": {"city": {"type": "string"},
            "unit": {"type": "string", "nullable": true, "enum": ["c", "f"]}}, "required": ["city"]})
        )
    );
    assert_eq!(decls[1].parameters, None);
    assert_eq!(decls[1].parameters_json_schema, None);
}

#[test]
fn gemini_consecutive_turns_merge_and_roles_map() {
    let req = ChatRequest::new(
        "m",
        vec![
            Message::text_message(Role::User, "a"),
            Message::text_message(Role::User, "b"),
            Message::text_message(Role::Assistant, "c"),
            Message::text_message(Role::Assistant, "d"),
            Message::text_message(Role::System, "late system"),
            Message::text_message(Role::User, "e"),
        ],
    );
    let wire = serde_json::to_value(request_from_canonical(&req)).unwrap();
    assert_eq!(
        wire,
        json!({
            "contents": [
                {"role": "user", "parts": [{"text": "a"}, {"text": "b"}]},
                {"role": "model", "parts": [{"text": "c"}, {"text": "d"}]},
                {"role": "user", "parts": [{"text": "e"}]}
            ],
            "systemInstruction": {"parts": [{"text": "late system"}]}
        })
    );
}

#[test]
fn gemini_request_roles_are_validated() {
    let req: GenerateContentRequest = serde_json::from_value(
        json!({"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}),
    )
    .unwrap();
    let err = request_to_canonical("m", &req).unwrap_err();
    assert_eq!(err.status(), 400);
    assert_eq!(err.param(), Some("contents[0].role"));
    // A missing role is `user`; the legacy `function` role holds function responses.
    let req: GenerateContentRequest = serde_json::from_value(json!({"contents": [
        {"parts": [{"text": "hi"}]},
        {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}}]},
        {"role": "function", "parts": [{"functionResponse": {"name": "f", "response": {"ok": true}}}]}
    ]}))
    .unwrap();
    let c = request_to_canonical("m", &req).unwrap();
    let roles: Vec<Role> = c.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::Assistant, Role::Tool]);
}

#[test]
fn gemini_function_responses_pair_with_calls_by_id_then_name() {
    let req: GenerateContentRequest = serde_json::from_value(json!({"contents": [
        {"role": "user", "parts": [{"text": "go"}]},
        {"role": "model", "parts": [
            {"functionCall": {"name": "f", "args": {"n": 1}}},
            {"functionCall": {"name": "f", "args": {"n": 2}}},
            {"functionCall": {"id": "x7", "name": "g", "args": {}}}
        ]},
        {"role": "user", "parts": [
            {"functionResponse": {"id": "x7", "name": "g", "response": {"error": "boom"}}},
            {"functionResponse": {"name": "f", "response": {"n": 1}}},
            {"functionResponse": {"name": "f", "response": {"n": 2}}},
            {"text": "and?"}
        ]}
    ]}))
    .unwrap();
    let c = request_to_canonical("m", &req).unwrap();
    let call_ids: Vec<String> = c.messages[1]
        .content
        .iter()
        .filter_map(|p| match p {
            ContentPart::ToolCall { id, .. } => Some(id.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(call_ids, ["call_1_0", "call_1_1", "x7"]);
    let tool = &c.messages[2];
    assert_eq!(tool.role, Role::Tool);
    let result_ids: Vec<(&str, bool)> = tool
        .content
        .iter()
        .map(|p| match p {
            ContentPart::ToolResult { call_id, .. } => (call_id.as_str(), false),
            ContentPart::ToolError { call_id, .. } => (call_id.as_str(), true),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        result_ids,
        [("x7", true), ("call_1_0", false), ("call_1_1", false)]
    );
    assert_eq!(c.messages[3].role, Role::User);
    assert_eq!(c.messages[3].text(), "and?");

    // Rendering back gives the same pairing, by id and by name.
    let back = request_from_canonical(&c);
    let names: Vec<(Option<&str>, &str)> = back.contents[2]
        .parts
        .iter()
        .filter_map(|p| p.function_response.as_ref())
        .map(|r| (r.id.as_deref(), r.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            (Some("x7"), "g"),
            (Some("call_1_0"), "f"),
            (Some("call_1_1"), "f")
        ]
    );
}

#[test]
fn gemini_call_ids_carry_thought_signatures() {
    let id = encode_call_id("call_1", Some("ab+/cd=="));
    assert_eq!(id, "call_1__thought__ab-_cd");
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    );
    assert_eq!(decode_call_id(&id), ("call_1", Some("ab+/cd==".to_owned())));
    assert_eq!(decode_call_id("plain"), ("plain", None));
    assert_eq!(encode_call_id("plain", None), "plain");
    assert_eq!(encode_call_id("plain", Some("")), "plain");
    assert_eq!(decode_call_id("x__thought__"), ("x", None));
}

#[test]
fn gemini_finish_reasons() {
    assert_eq!(finish_to_canonical(Some("STOP"), false), FinishReason::Stop);
    assert_eq!(
        finish_to_canonical(Some("STOP"), true),
        FinishReason::ToolCalls
    );
    assert_eq!(finish_to_canonical(None, false), FinishReason::Stop);
    assert_eq!(
        finish_to_canonical(Some("MAX_TOKENS"), true),
        FinishReason::Length
    );
    for r in FILTER_REASONS {
        assert_eq!(
            finish_to_canonical(Some(r), false),
            FinishReason::ContentFilter,
            "{r}"
        );
    }
    assert_eq!(
        finish_to_canonical(Some("MALFORMED_FUNCTION_CALL"), false),
        FinishReason::Other("MALFORMED_FUNCTION_CALL".into())
    );
    assert_eq!(finish_from_canonical(&FinishReason::Stop), "STOP");
    assert_eq!(finish_from_canonical(&FinishReason::ToolCalls), "STOP");
    assert_eq!(finish_from_canonical(&FinishReason::Length), "MAX_TOKENS");
    assert_eq!(
        finish_from_canonical(&FinishReason::ContentFilter),
        "SAFETY"
    );
    assert_eq!(
        finish_from_canonical(&FinishReason::Other("LANGUAGE".into())),
        "LANGUAGE"
    );
    assert_eq!(
        finish_from_canonical(&FinishReason::Other("weird".into())),
        "OTHER"
    );
}

#[test]
fn gemini_usage_both_ways() {
    let u = usage_to_canonical(&gemini_response().usage_metadata.unwrap());
    assert_eq!(
        (
            u.input_tokens,
            u.output_tokens,
            u.cached_input_tokens,
            u.reasoning_tokens
        ),
        (100, 50, 40, 30)
    );
    assert_eq!(u.total_tokens(), 150);
    let back = usage_from_canonical(&u);
    assert_eq!(back, gemini_response().usage_metadata.unwrap());
    let tool_use: UsageMetadata =
        serde_json::from_value(json!({"promptTokenCount": 5, "toolUsePromptTokenCount": 3}))
            .unwrap();
    assert_eq!(usage_to_canonical(&tool_use).input_tokens, 8);
}

#[test]
fn gemini_response_to_canonical_rules() {
    let c = response_to_canonical(&gemini_response());
    assert_eq!(c.id, "resp-1");
    assert_eq!(c.model, "gemini-2.5-flash");
    assert!(c.created > 1_700_000_000);
    assert_eq!(c.finish_reason, FinishReason::ToolCalls);
    assert_eq!(
        c.content,
        vec![
            ContentPart::Reasoning {
                text: "The user wants the weather.".into(),
                signature: None
            },
            ContentPart::Text {
                text: "Checking both cities.".into()
            },
            ContentPart::ToolCall {
                id: "call_resp-1_0__thought__c2lnLzEr".into(),
                name: "get_weather".into(),
                arguments: "{\"city\":\"Paris\"}".into()
            },
            ContentPart::ToolCall {
                id: "fc-9".into(),
                name: "get_weather".into(),
                arguments: "{\"city\":\"Rome\"}".into()
            },
        ]
    );
    // No responseId: still a non-empty, unique id.
    let mut anon = gemini_response();
    anon.response_id = None;
    let a = response_to_canonical(&anon);
    let b = response_to_canonical(&anon);
    assert!(!a.id.is_empty() && a.id != b.id);
    assert!(a.content.iter().all(|p| match p {
        ContentPart::ToolCall { id, .. } => !id.is_empty() && id.contains(&a.id) || id == "fc-9",
        _ => true,
    }));
}

#[test]
fn gemini_blocked_prompt_is_content_filter() {
    let resp: GenerateContentResponse = serde_json::from_value(
        json!({"promptFeedback": {"blockReason": "SAFETY"}, "responseId": "r"}),
    )
    .unwrap();
    let c = response_to_canonical(&resp);
    assert_eq!(c.finish_reason, FinishReason::ContentFilter);
    assert!(c.content.is_empty());
}

#[test]
fn gemini_response_to_openai_snapshot() {
    let mut c = response_to_canonical(&gemini_response());
    c.created = 1_750_000_000;
    let openai = serde_json::to_value(chat_response_from_canonical(&c)).unwrap();
    insta::assert_json_snapshot!("gemini_response_as_openai", openai);
}

#[test]
fn gemini_response_from_canonical_snapshot() {
    let mut c = response_to_canonical(&gemini_response());
    c.created = 1_750_000_000;
    let wire = serde_json::to_value(response_from_canonical(&c)).unwrap();
    insta::assert_json_snapshot!("canonical_response_as_gemini", wire);
}

/// Every part and setting of a Gemini request, as a google-genai client would send it.
fn rich_gemini_request() -> Value {
    json!({
        "systemInstruction": {"parts": [{"text": "You are terse."}]},
        "contents": [
            {"role": "user", "parts": [
                {"text": "Describe and look up."},
                {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
                {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/a.jpg"}},
                {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}},
                {"inlineData": {"mimeType": "audio/wav", "data": "UklGR"}}
            ]},
            {"role": "model", "parts": [
                {"text": "Thinking about it", "thought": true, "thoughtSignature": "dGhvdWdodA=="},
                {"text": "Sure.", "thoughtSignature": "dGV4dA=="},
                {"functionCall": {"id": "c1", "name": "lookup", "args": {"q": "cats", "n": 2}}, "thoughtSignature": "Y2FsbA=="},
                {"executableCode": {"language": "PYTHON", "code": "print(1)"}}
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"id": "c1", "name": "lookup", "response": {"output": ["a", "b"]}}},
                {"text": "Go on."}
            ]}
        ],
        "tools": [
            {"functionDeclarations": [{"name": "lookup", "description": "Search",
                "parameters": {"type": "object", "properties": {"q": {"type": "string"}, "n": {"type": "integer"}}, "required": ["q"]}}]},
            {"googleSearch": {}}
        ],
        "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}},
        "generationConfig": {
            "temperature": 0.7, "topP": 0.95, "topK": 40, "maxOutputTokens": 1000,
            "stopSequences": ["STOP!"], "candidateCount": 1, "seed": 3,
            "presencePenalty": 0.1, "frequencyPenalty": 0.2,
            "responseMimeType": "application/json",
            "responseJsonSchema": {"type": "object", "additionalProperties": false, "properties": {"a": {"type": "string"}}},
            "thinkingConfig": {"thinkingBudget": 2048, "includeThoughts": true},
            "responseModalities": ["TEXT"]
        },
        "safetySettings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"}],
        "cachedContent": "cachedContents/abc",
        "labels": {"team": "x"}
    })
}

#[test]
fn gemini_request_round_trip_loses_nothing() {
    let raw = rich_gemini_request();
    let wire: GenerateContentRequest = serde_json::from_value(raw.clone()).unwrap();
    assert_eq!(
        serde_json::to_value(&wire).unwrap(),
        raw,
        "serde round trip"
    );
    let canonical = request_to_canonical("gemini-2.5-pro", &wire).unwrap();
    assert_eq!(canonical.model, "gemini-2.5-pro");
    assert_eq!(canonical.top_k, Some(40));
    // The budget is the setting; level-only dialects derive an effort from it.
    assert_eq!(canonical.reasoning_effort, None);
    assert_eq!(
        canonical.thinking,
        Some(Thinking::Enabled {
            budget_tokens: 2048
        })
    );
    assert_eq!(canonical.extra.get("seed"), Some(&json!(3)));
    // Nothing Gemini-only leaks into the fields the OpenAI renderer forwards.
    for key in canonical.extra.keys() {
        assert!(
            ["n", "seed", "presence_penalty", "frequency_penalty"].contains(&key.as_str()),
            "{key}"
        );
    }
    let back = serde_json::to_value(request_from_canonical(&canonical)).unwrap();
    assert_eq!(back, raw);
}

#[test]
fn gemini_request_to_canonical_snapshot() {
    let wire: GenerateContentRequest = serde_json::from_value(rich_gemini_request()).unwrap();
    let canonical = request_to_canonical("gemini-2.5-pro", &wire).unwrap();
    insta::assert_json_snapshot!("rich_gemini_request_canonical", canonical);
}

#[test]
fn gemini_response_round_trip_loses_nothing() {
    let raw = json!({
        "candidates": [{
            "content": {"role": "model", "parts": [
                {"text": "Plan", "thought": true},
                {"text": "Answer", "thoughtSignature": "c2ln"},
                {"functionCall": {"id": "a", "name": "f", "args": {"x": [1, 2]}}, "thoughtSignature": "Zm4="},
                {"functionCall": {"id": "b", "name": "g", "args": {}}},
                {"text": "", "thoughtSignature": "ZW5k"}
            ]},
            "finishReason": "STOP",
            "index": 0
        }],
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 22, "thoughtsTokenCount": 7},
        "modelVersion": "gemini-2.5-flash",
        "responseId": "r-1"
    });
    let wire: GenerateContentResponse = serde_json::from_value(raw.clone()).unwrap();
    let back =
        serde_json::to_value(response_from_canonical(&response_to_canonical(&wire))).unwrap();
    assert_eq!(back, raw);
}

#[test]
fn gemini_safety_finish_survives_as_content_filter() {
    let wire: GenerateContentResponse = serde_json::from_value(json!({
        "candidates": [{"content": {"role": "model", "parts": [{"text": "x"}]}, "finishReason": "RECITATION", "index": 0}],
        "responseId": "r"
    }))
    .unwrap();
    let c = response_to_canonical(&wire);
    assert_eq!(c.finish_reason, FinishReason::ContentFilter);
    assert_eq!(c.finish_reason.as_openai(), "content_filter");
}

#[test]
fn gemini_media_parts_both_ways() {
    let req = ChatRequest::new(
        "m",
        vec![Message::new(
            Role::User,
            vec![
                ContentPart::Image {
                    source: ImageSource::from_url("data:image/webp;base64,UklG"),
                    detail: Some("high".into()),
                },
                ContentPart::Image {
                    source: ImageSource::from_url("https://x.test/p.PNG?x=1"),
                    detail: None,
                },
                ContentPart::Image {
                    source: ImageSource::from_url("https://x.test/noext"),
                    detail: None,
                },
                ContentPart::Audio {
                    data: "AAA".into(),
                    format: "mp3".into(),
                },
                ContentPart::File {
                    file_id: None,
                    file_data: Some("data:application/pdf;base64,JVB".into()),
                    filename: Some("a.pdf".into()),
                },
                ContentPart::File {
                    file_id: Some("files/abc".into()),
                    file_data: None,
                    filename: None,
                },
            ],
        )],
    );
    let wire = serde_json::to_value(request_from_canonical(&req)).unwrap();
    assert_eq!(
        wire["contents"][0]["parts"],
        json!([
            {"inlineData": {"mimeType": "image/webp", "data": "UklG"}},
            {"fileData": {"mimeType": "image/png", "fileUri": "https://x.test/p.PNG?x=1"}},
            {"fileData": {"fileUri": "https://x.test/noext"}},
            {"inlineData": {"mimeType": "audio/mp3", "data": "AAA"}},
            {"inlineData": {"mimeType": "application/pdf", "data": "JVB"}},
            {"fileData": {"fileUri": "files/abc"}}
        ])
    );
}

#[test]
fn gemini_odd_arguments_never_panic() {
    assert_eq!(args_value(""), json!({}));
    assert_eq!(args_value("[1]"), json!({"value": [1]}));
    assert_eq!(args_value("{not json"), json!({"arguments": "{not json"}));
    assert_eq!(args_text(None), "{}");
}

#[test]
fn snake_case_json_schema_from_google_genai_is_read() {
    // google-genai sends this one field snake_cased; Google's parser accepts both spellings.
    let req: GenerateContentRequest = serde_json::from_value(json!({
        "contents": [{ "role": "user", "parts": [{ "text": "weather?" }] }],
        "tools": [{ "functionDeclarations": [{
            "name": "get_weather",
            "parameters_json_schema": { "type": "object", "properties": { "city": { "type": "string" } } }
        }] }]
    }))
    .unwrap();
    let canonical = request_to_canonical("m", &req).unwrap();
    let params = canonical.tools[0].parameters.as_ref().unwrap();
    assert_eq!(params["properties"]["city"]["type"], "string");
}
