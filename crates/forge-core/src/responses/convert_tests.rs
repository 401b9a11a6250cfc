#![allow(clippy::unwrap_used, clippy::panic)]
use serde_json::{Value, json};

use super::*;
use crate::anthropic::convert::request_from_canonical as anthropic_request;
use crate::canonical::{ContentPart, FinishReason, ImageSource, Message, Role, Usage};
use crate::responses::{Input, ResponsesRequest, new_response_id};

fn request(body: Value) -> ResponsesRequest {
    serde_json::from_value(body).unwrap()
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap()
}

fn rich_request() -> ResponsesRequest {
    request(json!({
        "model": "claude-sonnet",
        "instructions": "You are terse.",
        "input": [
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {"type": "message", "role": "assistant", "id": "msg_1", "status": "completed",
             "content": [{"type": "output_text", "text": "Checking both.", "annotations": []}]},
            {"type": "function_call", "id": "fc_1", "call_id": "call_a", "name": "weather",
             "arguments": "{\"city\":\"Paris\"}", "status": "completed"},
            {"type": "function_call", "id": "fc_2", "call_id": "call_b", "name": "weather",
             "arguments": "{\"city\":\"Rome\"}", "status": "completed"},
            {"type": "function_call_output", "call_id": "call_a", "output": "18C"},
            {"type": "function_call_output", "call_id": "call_b", "output": "24C"},
            {"role": "user", "content": [
                {"type": "input_text", "text": "And this picture?"},
                {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "low"}
            ]}
        ],
        "tools": [{"type": "function", "name": "weather", "description": "Weather by city",
                   "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                   "strict": true}],
        "tool_choice": {"type": "function", "name": "weather"},
        "text": {"format": {"type": "json_schema", "name": "answer", "strict": true,
                            "schema": {"type": "object", "properties": {"t": {"type": "string"}}}}},
        "reasoning": {"effort": "high", "summary": "auto"},
        "max_output_tokens": 500,
        "temperature": 0.5,
        "parallel_tool_calls": false,
        "store": true,
        "metadata": {"k": "v"},
        "include": ["reasoning.encrypted_content"],
        "user": "u-1",
        "stream": true
    }))
}

#[test]
fn responses_rich_request_to_canonical() {
    let req = rich_request();
    let chat = request_to_canonical(&req, None).unwrap();
    let roles: Vec<Role> = chat.messages.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [
            Role::System,
            Role::User,
            Role::Assistant,
            Role::Tool,
            Role::User
        ]
    );
    // The assistant text and both calls are one turn; both outputs one tool turn.
    assert_eq!(chat.messages[2].content.len(), 3);
    assert_eq!(chat.messages[3].content.len(), 2);
    assert_eq!(
        chat.messages[4].content[1],
        ContentPart::Image {
            source: ImageSource::Base64 {
                media_type: "image/png".into(),
                data: "AAAA".into()
            },
            detail: Some("low".into())
        }
    );
    assert_eq!(chat.max_tokens, Some(500));
    assert_eq!(chat.reasoning_effort.as_deref(), Some("high"));
    assert_eq!(chat.tool_choice, Some(ToolChoice::Named("weather".into())));
    assert_eq!(
        chat.response_format.as_ref().unwrap()["json_schema"]["name"],
        "answer"
    );
    assert_eq!(chat.extra.get("parallel_tool_calls"), Some(&json!(false)));
    assert!(!chat.extra.contains_key("store") && !chat.extra.contains_key("include"));
    assert!(chat.stream);
    insta::assert_json_snapshot!("responses_request_canonical", to_json(&chat));
}

#[test]
fn responses_translated_request_is_valid_anthropic() {
    let chat = request_to_canonical(&rich_request(), None).unwrap();
    let wire = to_json(&anthropic_request(&chat, 1024));
    assert_eq!(wire["system"], "You are terse.");
    let messages = wire["messages"].as_array().unwrap();
    assert!(messages.iter().all(|m| m["role"] != "system"));
    let uses: Vec<&Value> = messages[1]["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "tool_use")
        .collect();
    assert_eq!(uses.len(), 2);
    let results: Vec<&Value> = messages[2]["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "tool_result")
        .collect();
    assert_eq!(results[0]["tool_use_id"], "call_a");
    assert_eq!(results[1]["tool_use_id"], "call_b");
}

#[test]
fn responses_string_input_and_untyped_message() {
    let req = ResponsesRequest::new("m", Input::Text("hi".into()));
    let chat = request_to_canonical(&req, None).unwrap();
    assert_eq!(chat.messages, vec![Message::text_message(Role::User, "hi")]);

    let req = request(json!({"model": "m", "input": [
        {"role": "developer", "content": "be nice"},
        {"role": "system", "content": [{"type": "input_text", "text": "sys"}]},
        {"role": "user", "content": "q"}
    ]}));
    let chat = request_to_canonical(&req, None).unwrap();
    let roles: Vec<Role> = chat.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::Developer, Role::System, Role::User]);
    assert_eq!(chat.messages[1].text(), "sys");
    // Untyped messages serialise with their type.
    let items = match req.input.as_ref().unwrap() {
        Input::Items(items) => items,
        Input::Text(_) => panic!("items expected"),
    };
    assert_eq!(to_json(&items[0])["type"], "message");
}

#[test]
fn responses_request_settings() {
    let req = request(
        json!({"model": "m", "input": "x", "text": {"format": {"type": "json_object"}},
        "tool_choice": "required", "top_p": 0.9}),
    );
    let chat = request_to_canonical(&req, None).unwrap();
    assert_eq!(chat.response_format, Some(json!({"type": "json_object"})));
    assert_eq!(chat.tool_choice, Some(ToolChoice::Required));
    assert_eq!(chat.top_p, Some(0.9));
    assert!(!chat.stream);

    for (mode, want) in [
        ("auto", ToolChoice::Auto),
        ("none", ToolChoice::None),
        ("required", ToolChoice::Required),
    ] {
        let req = request(json!({"model": "m", "input": "x", "tool_choice": mode}));
        assert_eq!(
            request_to_canonical(&req, None).unwrap().tool_choice,
            Some(want)
        );
    }
    let req = request(json!({"model": "m", "input": "x", "text": {"format": {"type": "text"}}}));
    assert_eq!(
        request_to_canonical(&req, None).unwrap().response_format,
        None
    );
    // An unnamed schema still gets the name chat's `json_schema` requires.
    let req = request(json!({"model": "m", "input": "x",
        "text": {"format": {"type": "json_schema", "schema": {"type": "object"}}}}));
    let format = request_to_canonical(&req, None).unwrap().response_format;
    assert_eq!(
        format,
        Some(
            json!({"type": "json_schema", "json_schema": {"name": "response", "schema": {"type": "object"}}})
        )
    );
}

#[test]
fn responses_request_errors_name_the_param() {
    let cases = [
        (
            json!({"model": "m", "input": "x", "tools": [{"type": "function"}]}),
            "tools[0].name",
        ),
        (
            json!({"model": "m", "input": [{"type": "item_reference", "id": "msg_1"}]}),
            "input[0].type",
        ),
        (
            json!({"model": "m", "input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file_1"}]}]}),
            "input[0].content[0]",
        ),
        (
            json!({"model": "m", "input": "x", "tool_choice": "sometimes"}),
            "tool_choice",
        ),
        (
            json!({"model": "m", "input": "x", "text": {"format": {"type": "xml"}}}),
            "text.format.type",
        ),
        (json!({"model": "m"}), "input"),
    ];
    for (body, param) in cases {
        let err = request_to_canonical(&request(body.clone()), None).unwrap_err();
        assert_eq!(err.status(), 400, "{body}");
        assert_eq!(err.param(), Some(param), "{body}");
    }
    // A known item type with a malformed body is a parse error, not an `Other` item.
    let bad = serde_json::from_value::<ResponsesRequest>(
        json!({"model": "m", "input": [{"type": "function_call", "name": "f"}]}),
    );
    assert!(bad.is_err());
}

#[test]
fn responses_function_output_parts_and_files() {
    let req = request(json!({"model": "m", "input": [
        {"type": "function_call_output", "call_id": "c", "output": [
            {"type": "input_text", "text": "done"},
            {"type": "input_image", "image_url": "https://x/y.png"}
        ]},
        {"role": "user", "content": [{"type": "input_file", "filename": "a.pdf",
            "file_data": "data:application/pdf;base64,JVBE"}]}
    ]}));
    let chat = request_to_canonical(&req, None).unwrap();
    assert_eq!(
        chat.messages[0].content,
        vec![ContentPart::ToolResult {
            call_id: "c".into(),
            content: vec![
                ContentPart::Text {
                    text: "done".into()
                },
                ContentPart::Image {
                    source: ImageSource::Url {
                        url: "https://x/y.png".into()
                    },
                    detail: None
                }
            ]
        }]
    );
    assert_eq!(
        chat.messages[1].content,
        vec![ContentPart::File {
            file_id: None,
            file_data: Some("data:application/pdf;base64,JVBE".into()),
            filename: Some("a.pdf".into())
        }]
    );
}

#[test]
fn responses_reasoning_items_to_canonical() {
    let req = request(json!({"model": "m", "input": [
        {"role": "user", "content": "q"},
        {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "a"},
            {"type": "summary_text", "text": "b"}], "encrypted_content": "sig"},
        {"type": "reasoning", "id": "rs_2", "summary": [], "encrypted_content": "opaque"},
        {"type": "reasoning", "id": "rs_3", "summary": []},
        {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"}
    ]}));
    let chat = request_to_canonical(&req, None).unwrap();
    assert_eq!(chat.messages.len(), 2);
    assert_eq!(
        chat.messages[1].content,
        vec![
            ContentPart::Reasoning {
                text: "a\n\nb".into(),
                signature: Some("sig".into())
            },
            ContentPart::RedactedReasoning {
                data: "opaque".into()
            },
            ContentPart::ToolCall {
                id: "c".into(),
                name: "f".into(),
                arguments: "{}".into()
            }
        ]
    );
}

fn answer(content: Vec<ContentPart>, finish_reason: FinishReason) -> ChatResponse {
    ChatResponse {
        id: "upstream-1".into(),
        model: "claude-sonnet-4-5-20250929".into(),
        created: 1_700_000_000,
        content,
        finish_reason,
        usage: Usage {
            input_tokens: 100,
            output_tokens: 40,
            cached_input_tokens: 60,
            cache_write_tokens: 0,
            reasoning_tokens: 12,
        },
        extra: Default::default(),
    }
}

#[test]
fn responses_response_object() {
    let resp = answer(
        vec![
            ContentPart::Reasoning {
                text: "Think.".into(),
                signature: Some("sig-1".into()),
            },
            ContentPart::Text {
                text: "Checking ".into(),
            },
            ContentPart::Text {
                text: "both.".into(),
            },
            ContentPart::ToolCall {
                id: "toolu_1".into(),
                name: "weather".into(),
                arguments: "{\"city\":\"Paris\"}".into(),
            },
            ContentPart::ToolCall {
                id: "toolu_2".into(),
                name: "weather".into(),
                arguments: "{\"city\":\"Rome\"}".into(),
            },
        ],
        FinishReason::ToolCalls,
    );
    let req = rich_request();
    let id = new_response_id("abc");
    let out = response_from_canonical(&resp, &req, &id);
    assert_eq!(out.status, Status::Completed);
    assert_eq!(out.output.len(), 4);
    assert_eq!(out.output_text(), "Checking both.");
    let v = to_json(&out);
    assert_eq!(v["output"][2]["call_id"], "toolu_1");
    assert_eq!(v["output"][2]["id"], "fc_abc_2");
    assert_eq!(v["usage"]["input_tokens_details"]["cached_tokens"], 60);
    assert_eq!(v["usage"]["total_tokens"], 140);
    assert_eq!(v["error"], Value::Null);
    insta::assert_json_snapshot!("responses_response_object", v);
}

#[test]
fn responses_finish_reasons_to_status() {
    let req = ResponsesRequest::new("m", Input::Text("x".into()));
    let text = || vec![ContentPart::Text { text: "t".into() }];
    let out = response_from_canonical(&answer(text(), FinishReason::Length), &req, "resp_1");
    assert_eq!(out.status, Status::Incomplete);
    assert_eq!(
        out.incomplete_details.as_ref().unwrap().reason,
        "max_output_tokens"
    );
    assert_eq!(to_json(&out)["output"][0]["status"], "incomplete");
    let out = response_from_canonical(&answer(text(), FinishReason::ContentFilter), &req, "resp_1");
    assert_eq!(out.incomplete_details.unwrap().reason, "content_filter");
    for reason in [FinishReason::Stop, FinishReason::StopSequence("X".into())] {
        let out = response_from_canonical(&answer(text(), reason), &req, "resp_1");
        assert_eq!(out.status, Status::Completed);
        assert!(out.incomplete_details.is_none());
    }
    // Defaults OpenAI echoes when the client set nothing.
    let v = to_json(&response_from_canonical(
        &answer(text(), FinishReason::Stop),
        &req,
        "resp_1",
    ));
    assert_eq!(v["tool_choice"], "auto");
    assert_eq!(v["text"]["format"]["type"], "text");
    assert_eq!(v["truncation"], "disabled");
    assert_eq!(v["parallel_tool_calls"], true);
    assert_eq!(v["store"], true);
    assert_eq!(v["object"], "response");
    assert_eq!(v["created_at"], 1_700_000_000);
}

#[test]
fn responses_output_items_round_trip_as_input() {
    let content = vec![
        ContentPart::Reasoning {
            text: "Think.".into(),
            signature: Some("sig-1".into()),
        },
        ContentPart::RedactedReasoning { data: "enc".into() },
        ContentPart::Text {
            text: "Calling.".into(),
        },
        ContentPart::ToolCall {
            id: "toolu_1".into(),
            name: "f".into(),
            arguments: "{}".into(),
        },
    ];
    let req = ResponsesRequest::new("m", Input::Text("q".into()));
    let out = response_from_canonical(
        &answer(content.clone(), FinishReason::ToolCalls),
        &req,
        "resp_1",
    );
    // A client echoing the output items as input (stateless multi-turn) loses nothing.
    let mut items = vec![json!({"role": "user", "content": "q"})];
    items.extend(out.output.iter().map(to_json));
    let next = request(json!({"model": "m", "input": items}));
    let chat = request_to_canonical(&next, None).unwrap();
    assert_eq!(chat.messages[1], Message::new(Role::Assistant, content));
}

#[test]
fn responses_previous_response_id_rebuilds_conversation() {
    // Turn 1: a question with instructions; the model calls a tool.
    let first = request(json!({"model": "m", "instructions": "Be brief.", "tools": [
        {"type": "function", "name": "weather", "parameters": {"type": "object"}}],
        "input": "Weather in Paris?"}));
    let chat1 = request_to_canonical(&first, None).unwrap();
    let resp1 = answer(
        vec![
            ContentPart::Reasoning {
                text: "Use the tool.".into(),
                signature: Some("sig".into()),
            },
            ContentPart::ToolCall {
                id: "toolu_9".into(),
                name: "weather".into(),
                arguments: "{\"city\":\"Paris\"}".into(),
            },
        ],
        FinishReason::ToolCalls,
    );
    let id1 = new_response_id("one");
    let stored = StoredResponse {
        response: response_from_canonical(&resp1, &first, &id1),
        conversation: conversation_after(&first, &chat1, &resp1),
    };
    // The stored form survives a JSON round trip (the server keeps it as text).
    let text = serde_json::to_string(&stored).unwrap();
    let stored: StoredResponse = serde_json::from_str(&text).unwrap();
    assert!(
        stored.conversation.iter().all(|m| m.role != Role::System),
        "instructions are not carried over"
    );

    // Turn 2: only the tool output, pointing at turn 1, with new instructions.
    let call_id = match &stored.response.output[1] {
        Item::FunctionCall(c) => c.call_id.clone(),
        other => panic!("function call expected, got {other:?}"),
    };
    let second = request(json!({"model": "m", "instructions": "Be kind.",
        "previous_response_id": id1,
        "input": [{"type": "function_call_output", "call_id": call_id, "output": "18C"}]}));
    let chat2 = request_to_canonical(&second, Some(&stored.conversation)).unwrap();
    assert_eq!(
        chat2.messages,
        vec![
            Message::text_message(Role::System, "Be kind."),
            Message::text_message(Role::User, "Weather in Paris?"),
            Message::new(Role::Assistant, resp1.content.clone()),
            Message::new(
                Role::Tool,
                vec![ContentPart::ToolResult {
                    call_id: "toolu_9".into(),
                    content: vec![ContentPart::Text { text: "18C".into() }]
                }]
            ),
        ]
    );
    // The rebuilt conversation is one Anthropic accepts: thinking signature kept, the
    // tool result paired with its call.
    let wire = to_json(&anthropic_request(&chat2, 1024));
    assert_eq!(wire["messages"][1]["content"][0]["signature"], "sig");
    assert_eq!(wire["messages"][2]["content"][0]["tool_use_id"], "toolu_9");

    // Turn 3 stores turn 2's conversation on top of turn 1's.
    let resp2 = answer(
        vec![ContentPart::Text {
            text: "18C.".into(),
        }],
        FinishReason::Stop,
    );
    let conv2 = conversation_after(&second, &chat2, &resp2);
    assert_eq!(conv2.len(), 4);
    assert_eq!(conv2[..3], chat2.messages[1..]);
    assert_eq!(conv2[3].text(), "18C.");
}

#[test]
fn responses_error_body() {
    let err = crate::Error::Upstream {
        provider: "anthropic".into(),
        status: 429,
        message: "slow down".into(),
        retry_after: Some(3),
        error_type: None,
        code: None,
    };
    let body = response_error(&err);
    assert_eq!(body.code, "rate_limit_exceeded");
    assert!(body.message.contains("slow down"));
    assert_eq!(
        response_error(&crate::Error::invalid("bad")).code,
        "invalid_request_error"
    );
}

#[test]
fn responses_object_parses_leniently() {
    let v = json!({"id": "resp_1", "object": "response", "created_at": 1, "status": "completed",
        "model": "gpt-4o", "output": [{"type": "web_search_call", "id": "ws_1"},
        {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
         "content": [{"type": "output_text", "text": "hi", "annotations": []}]}]});
    let obj: ResponseObject = serde_json::from_value(v).unwrap();
    assert_eq!(obj.output_text(), "hi");
    assert!(matches!(obj.output[0], Item::Other(_)));
    assert_eq!(
        obj.tool_choice,
        crate::responses::ToolChoice::Mode("auto".into())
    );
}

/// What Codex sends: namespaced tools, a hosted tool, Responses-only settings and item types
/// the canonical form has no place for. None of it may fail the request.
#[test]
fn codex_shaped_request_translates_with_drops() {
    let req = request(json!({
        "model": "m",
        "stream": true,
        "store": false,
        "include": ["reasoning.encrypted_content"],
        "reasoning": {"summary": "auto"},
        "prompt_cache_key": "k",
        "client_metadata": {"session_id": "s"},
        "tool_choice": {"type": "web_search"},
        "tools": [
            {"type": "function", "name": "exec_command", "parameters": {"type": "object"}},
            {"type": "namespace", "name": "agents", "description": "Sub-agents.", "tools": [
                {"type": "function", "name": "spawn", "description": "Start one.",
                 "parameters": {"type": "object", "properties": {"task": {"type": "string"}}}},
                {"type": "function", "name": "close", "parameters": {"type": "object"}}
            ]},
            {"type": "web_search", "external_web_access": false}
        ],
        "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "be brief"}]},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "hi"}, {"type": "input_video", "url": "x"}]},
            {"type": "function_call", "call_id": "c1", "namespace": "agents", "name": "spawn", "arguments": "{}"},
            {"type": "web_search_call", "id": "ws_1", "status": "completed"},
            {"type": "function_call_output", "call_id": "c1", "output": "ok"}
        ]
    }));
    let chat = request_to_canonical(&req, None).unwrap();
    let names: Vec<&str> = chat.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["exec_command", "agents__spawn", "agents__close"]);
    assert_eq!(
        chat.tools[1].description.as_deref(),
        Some("Start one. (Sub-agents.)")
    );
    assert_eq!(chat.tool_choice, Some(ToolChoice::Auto));
    assert_eq!(
        chat.dropped_for("openai"),
        [
            "content:input_video",
            "input:web_search_call",
            "tool_choice:web_search",
            "tools:web_search"
        ]
    );
    let call = chat
        .messages
        .iter()
        .flat_map(|m| &m.content)
        .find_map(|p| match p {
            ContentPart::ToolCall { name, .. } => Some(name.as_str()),
            _ => None,
        });
    assert_eq!(call, Some("agents__spawn"));

    // The answer's call of a flat name comes back as the client declared it.
    let answer = ChatResponse {
        id: "x".into(),
        model: "m".into(),
        created: 1,
        content: vec![ContentPart::ToolCall {
            id: "c2".into(),
            name: "agents__close".into(),
            arguments: "{}".into(),
        }],
        finish_reason: FinishReason::ToolCalls,
        usage: Usage::default(),
        extra: Default::default(),
    };
    let object = response_from_canonical(&answer, &req, "resp_1");
    let item = serde_json::to_value(&object.output[0]).unwrap();
    assert_eq!(item["type"], "function_call");
    assert_eq!(item["name"], "close");
    assert_eq!(item["namespace"], "agents");
}
