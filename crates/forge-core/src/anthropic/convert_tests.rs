#![allow(clippy::unwrap_used, clippy::panic)]
use serde_json::{Value, json};

use super::*;
use crate::anthropic::{ContentBlock, ErrorBody, MessagesRequest, MessagesResponse, error_body};
use crate::canonical::{ContentPart, FinishReason, Message, Role, Thinking};
use crate::error::Error;
use crate::openai::ChatCompletionRequest;
use crate::openai::convert::{
    chat_request_from_canonical, chat_request_to_canonical, chat_response_from_canonical,
};

const CLAUDE_CODE: &str = include_str!("../../tests/fixtures/anthropic/claude_code_request.json");
const TOOL_RESPONSE: &str = include_str!("../../tests/fixtures/anthropic/tool_response.json");

fn openai_request(body: Value) -> ChatRequest {
    let req: ChatCompletionRequest = serde_json::from_value(body).unwrap();
    chat_request_to_canonical(&req).unwrap()
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap()
}

/// Equal up to Anthropic's equivalent spellings: a content string is one text block, and
/// numbers compare as numbers (`1` and `1.0`).
fn semantic(mut v: Value) -> Value {
    fn blocks(content: &mut Value) {
        if let Value::String(text) = content {
            *content = json!([{"type": "text", "text": text}]);
        }
        for block in content.as_array_mut().into_iter().flatten() {
            if block["type"] == "tool_result"
                && let Some(inner) = block.get_mut("content")
            {
                blocks(inner);
            }
        }
    }
    for m in v["messages"].as_array_mut().into_iter().flatten() {
        blocks(&mut m["content"]);
    }
    for key in ["temperature", "top_p"] {
        if let Some(n) = v.get(key).and_then(Value::as_f64) {
            v[key] = json!(n);
        }
    }
    v
}

fn rich_openai() -> Value {
    json!({
        "model": "claude-sonnet-4-20250514",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "developer", "content": "Answer in French."},
            {"role": "user", "content": "Weather?"},
            {"role": "user", "content": [
                {"type": "text", "text": "See this"},
                {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/AAAA"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
            ]},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Ro"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
            {"role": "tool", "tool_call_id": "call_2", "content": "21C"},
            {"role": "user", "content": "Thanks"}
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
        "tool_choice": "required",
        "stop": ["END", "  "],
        "temperature": 0.3,
        "top_p": 0.9,
        "user": "u-42",
        "seed": 7,
        "stream": true,
        "stream_options": {"include_usage": true}
    })
}

#[test]
fn openai_request_to_anthropic() {
    let wire = request_from_canonical(&openai_request(rich_openai()), 8192);
    let v = to_json(&wire);
    insta::assert_json_snapshot!("openai_request_to_anthropic", v);
    // System and developer messages hoisted, as text blocks.
    assert_eq!(
        v["system"],
        json!([{"type": "text", "text": "You are terse."}, {"type": "text", "text": "Answer in French."}])
    );
    let messages = v["messages"].as_array().unwrap();
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    // Two user turns merged; both tool results and "Thanks" in one user turn.
    assert_eq!(roles, ["user", "assistant", "user"]);
    let first = messages[0]["content"].as_array().unwrap();
    assert_eq!(first[0], json!({"type": "text", "text": "Weather?"}));
    assert_eq!(
        first[2]["source"],
        json!({"type": "base64", "media_type": "image/jpeg", "data": "/9j/AAAA"})
    );
    assert_eq!(
        first[3]["source"],
        json!({"type": "url", "url": "https://example.com/cat.png"})
    );
    let assistant = messages[1]["content"].as_array().unwrap();
    // The empty text is dropped; arguments become objects, invalid ones wrapped.
    assert_eq!(assistant.len(), 2);
    assert_eq!(assistant[0]["input"], json!({"city": "Paris"}));
    assert_eq!(assistant[1]["input"], json!({"_raw": "{\"city\":\"Ro"}));
    let last = messages[2]["content"].as_array().unwrap();
    assert_eq!(last[0]["type"], "tool_result");
    assert_eq!(last[0]["tool_use_id"], "call_1");
    assert_eq!(last[0]["content"], "18C");
    assert_eq!(last[1]["tool_use_id"], "call_2");
    assert_eq!(last[2], json!({"type": "text", "text": "Thanks"}));
    assert_eq!(v["max_tokens"], 8192);
    assert_eq!(v["stop_sequences"], json!(["END"]));
    assert_eq!(v["metadata"], json!({"user_id": "u-42"}));
    assert_eq!(v["tool_choice"], json!({"type": "any"}));
    assert_eq!(v["stream"], true);
    assert_eq!(v["top_p"], 0.9);
    // OpenAI-only fields never reach Anthropic, which rejects unknown fields.
    assert!(v.get("seed").is_none() && v.get("stream_options").is_none());
}

#[test]
fn system_string_and_client_max_tokens() {
    let req = openai_request(json!({
        "model": "m", "max_tokens": 100,
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    }));
    let v = to_json(&request_from_canonical(&req, 4096));
    assert_eq!(v["system"], "Be brief.");
    assert_eq!(v["max_tokens"], 100);
    assert_eq!(
        v["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": "hi"}]}])
    );
    assert!(v.get("tools").is_none() && v.get("thinking").is_none());
}

#[test]
fn tool_choices() {
    let cases = [
        (json!("auto"), json!({"type": "auto"})),
        (json!("none"), json!({"type": "none"})),
        (json!("required"), json!({"type": "any"})),
        (
            json!({"type": "function", "function": {"name": "f"}}),
            json!({"type": "tool", "name": "f"}),
        ),
    ];
    for (openai, anthropic) in cases {
        let req = openai_request(json!({
            "model": "m", "messages": [{"role": "user", "content": "x"}],
            "tools": [{"type": "function", "function": {"name": "f"}}],
            "tool_choice": openai
        }));
        let wire = request_from_canonical(&req, 1024);
        assert_eq!(to_json(&wire)["tool_choice"], anthropic);
        assert_eq!(
            to_json(&wire)["tools"][0]["input_schema"],
            json!({"type": "object", "properties": {}})
        );
        // And back.
        let back = request_to_canonical(&wire);
        assert_eq!(back.tool_choice, req.tool_choice);
    }
    let req = openai_request(json!({
        "model": "m", "messages": [{"role": "user", "content": "x"}],
        "tools": [{"type": "function", "function": {"name": "f"}}],
        "parallel_tool_calls": false
    }));
    let v = to_json(&request_from_canonical(&req, 1024));
    assert_eq!(
        v["tool_choice"],
        json!({"type": "auto", "disable_parallel_tool_use": true})
    );
    assert!(v.get("parallel_tool_calls").is_none());
}

#[test]
fn reasoning_effort_becomes_a_budget() {
    for (effort, budget) in [("low", 1024), ("medium", 4096), ("high", 16384)] {
        let req = openai_request(json!({
            "model": "m", "messages": [{"role": "user", "content": "x"}],
            "reasoning_effort": effort, "temperature": 0.2, "top_p": 0.5
        }));
        let v = to_json(&request_from_canonical(&req, 8192));
        assert_eq!(
            v["thinking"],
            json!({"type": "enabled", "budget_tokens": budget})
        );
        assert!(v["max_tokens"].as_u64().unwrap() > budget);
        // Anthropic rejects these with thinking on.
        assert!(v.get("temperature").is_none() && v.get("top_p").is_none());
    }
    // A client limit is kept and the budget fits under it.
    let req = openai_request(json!({
        "model": "m", "messages": [{"role": "user", "content": "x"}],
        "reasoning_effort": "high", "max_completion_tokens": 5000
    }));
    let v = to_json(&request_from_canonical(&req, 8192));
    assert_eq!(v["max_tokens"], 5000);
    assert_eq!(v["thinking"]["budget_tokens"], 4999);
    // Too small a limit leaves no room for thinking.
    let req = openai_request(json!({
        "model": "m", "messages": [{"role": "user", "content": "x"}],
        "reasoning_effort": "low", "max_tokens": 500
    }));
    assert!(
        to_json(&request_from_canonical(&req, 8192))
            .get("thinking")
            .is_none()
    );
    // A forced tool and thinking cannot go together: the tool wins.
    let req = openai_request(json!({
        "model": "m", "messages": [{"role": "user", "content": "x"}],
        "tools": [{"type": "function", "function": {"name": "f"}}],
        "tool_choice": "required", "reasoning_effort": "medium"
    }));
    assert!(
        to_json(&request_from_canonical(&req, 8192))
            .get("thinking")
            .is_none()
    );
    let mut req =
        openai_request(json!({"model": "m", "messages": [{"role": "user", "content": "x"}]}));
    req.thinking = Some(Thinking::Disabled);
    assert_eq!(
        to_json(&request_from_canonical(&req, 8192))["thinking"],
        json!({"type": "disabled"})
    );
}

#[test]
fn json_schema_output_is_a_forced_tool() {
    let schema = json!({"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]});
    let req = openai_request(json!({
        "model": "m", "messages": [{"role": "user", "content": "x"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": schema}}
    }));
    let v = to_json(&request_from_canonical(&req, 1024));
    assert_eq!(v["tools"][0]["name"], JSON_TOOL_NAME);
    assert_eq!(v["tools"][0]["input_schema"], schema);
    assert_eq!(
        v["tool_choice"],
        json!({"type": "tool", "name": JSON_TOOL_NAME})
    );
    assert!(v.get("response_format").is_none());
    // With tools of its own the model may call those or answer: any tool.
    let req = openai_request(json!({
        "model": "m", "messages": [{"role": "user", "content": "x"}],
        "tools": [{"type": "function", "function": {"name": "f"}}],
        "response_format": {"type": "json_object"}
    }));
    let v = to_json(&request_from_canonical(&req, 1024));
    assert_eq!(v["tool_choice"], json!({"type": "any"}));
    assert_eq!(v["tools"].as_array().unwrap().len(), 2);

    // The answer's call is text again.
    let resp: MessagesResponse = serde_json::from_value(json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
        "content": [{"type": "tool_use", "id": "toolu_1", "name": JSON_TOOL_NAME, "input": {"answer": "42"}}],
        "stop_reason": "tool_use", "stop_sequence": null,
        "usage": {"input_tokens": 1, "output_tokens": 2}
    }))
    .unwrap();
    let canonical = response_to_canonical_at(&resp, 1);
    assert_eq!(canonical.text(), r#"{"answer":"42"}"#);
    assert_eq!(canonical.finish_reason, FinishReason::Stop);
}

#[test]
fn tool_arguments() {
    assert_eq!(input_from_arguments(""), json!({}));
    assert_eq!(input_from_arguments("{\"a\":1}"), json!({"a": 1}));
    assert_eq!(input_from_arguments("[1]"), json!({"_raw": "[1]"}));
    assert_eq!(input_from_arguments("{\"a\":"), json!({"_raw": "{\"a\":"}));
    assert_eq!(arguments_from_input(&json!({"_raw": "{\"a\":"})), "{\"a\":");
    assert_eq!(arguments_from_input(&json!({"a": 1})), "{\"a\":1}");
}

#[test]
fn finish_reasons_both_ways() {
    let cases = [
        ("end_turn", None, FinishReason::Stop),
        (
            "stop_sequence",
            Some("END"),
            FinishReason::StopSequence("END".into()),
        ),
        ("max_tokens", None, FinishReason::Length),
        ("tool_use", None, FinishReason::ToolCalls),
        ("refusal", None, FinishReason::ContentFilter),
        ("pause_turn", None, FinishReason::Other("pause_turn".into())),
    ];
    for (reason, seq, canonical) in cases {
        assert_eq!(finish_reason_to_canonical(Some(reason), seq), canonical);
        assert_eq!(
            finish_reason_from_canonical(&canonical),
            (reason.to_owned(), seq.map(str::to_owned))
        );
    }
    assert_eq!(FinishReason::StopSequence("x".into()).as_openai(), "stop");
    assert_eq!(FinishReason::ContentFilter.as_openai(), "content_filter");
    assert_eq!(
        finish_reason_from_canonical(&FinishReason::Other("weird".into())).0,
        "end_turn"
    );
}

#[test]
fn anthropic_response_to_openai() {
    let resp: MessagesResponse = serde_json::from_str(TOOL_RESPONSE).unwrap();
    let canonical = response_to_canonical_at(&resp, 1_700_000_000);
    assert_eq!(canonical.finish_reason, FinishReason::ToolCalls);
    assert_eq!(canonical.usage.input_tokens, 2095 + 120 + 1800);
    assert_eq!(canonical.usage.cached_input_tokens, 1800);
    assert_eq!(canonical.usage.cache_write_tokens, 120);
    let openai = to_json(&chat_response_from_canonical(&canonical));
    insta::assert_json_snapshot!("anthropic_response_to_openai", openai);
    assert_eq!(
        openai["choices"][0]["message"]["reasoning_content"],
        "The user wants the weather."
    );
    assert_eq!(openai["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(openai["created"], 1_700_000_000);
    assert_eq!(
        openai["usage"]["prompt_tokens_details"]["cached_tokens"],
        1800
    );
}

#[test]
fn response_round_trip_loses_nothing() {
    let original: MessagesResponse = serde_json::from_str(TOOL_RESPONSE).unwrap();
    let back = response_from_canonical(&response_to_canonical_at(&original, 1), &original.model);
    assert_eq!(to_json(&back), to_json(&original));
}

#[test]
fn openai_response_to_anthropic() {
    let canonical = ChatResponse {
        id: "chatcmpl-9".into(),
        model: "gpt-4o-2024-08-06".into(),
        created: 5,
        content: vec![
            ContentPart::Reasoning {
                text: "hmm".into(),
                signature: None,
            },
            ContentPart::Text {
                text: "Calling.".into(),
            },
            ContentPart::ToolCall {
                id: "call_1".into(),
                name: "f".into(),
                arguments: "{\"x\":1}".into(),
            },
        ],
        // Some hosts say `stop` with tool calls; Anthropic clients need `tool_use`.
        finish_reason: FinishReason::Stop,
        usage: crate::canonical::Usage {
            input_tokens: 100,
            output_tokens: 20,
            cached_input_tokens: 40,
            ..Default::default()
        },
        extra: Default::default(),
    };
    let v = to_json(&response_from_canonical(&canonical, "claude-via-openai"));
    insta::assert_json_snapshot!("openai_response_to_anthropic", v);
    assert_eq!(v["id"], "msg_chatcmpl-9");
    assert_eq!(v["model"], "claude-via-openai");
    assert_eq!(v["stop_reason"], "tool_use");
    assert_eq!(v["usage"]["input_tokens"], 60);
    assert_eq!(v["usage"]["cache_read_input_tokens"], 40);
}

#[test]
fn claude_code_request_round_trips() {
    let original: MessagesRequest = serde_json::from_str(CLAUDE_CODE).unwrap();
    let canonical = request_to_canonical(&original);
    insta::assert_json_snapshot!("claude_code_canonical", to_json(&canonical));
    assert_eq!(
        canonical.thinking,
        Some(Thinking::Enabled {
            budget_tokens: 16000
        })
    );
    assert_eq!(
        canonical.user.as_deref(),
        Some("user_abc_account__session_123")
    );
    let roles: Vec<Role> = canonical.messages.iter().map(|m| m.role).collect();
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
    let back = request_from_canonical(&canonical, 4096);
    assert_eq!(
        semantic(to_json(&back)),
        semantic(serde_json::from_str::<Value>(CLAUDE_CODE).unwrap())
    );
}

#[test]
fn claude_code_request_to_openai() {
    let original: MessagesRequest = serde_json::from_str(CLAUDE_CODE).unwrap();
    let openai = chat_request_from_canonical(&request_to_canonical(&original));
    let v = to_json(&openai);
    insta::assert_json_snapshot!("claude_code_to_openai", v);
    // Nothing Anthropic-only leaks to an OpenAI upstream.
    for key in [
        "thinking",
        "metadata",
        "system",
        "server_tools",
        "tool_cache_control",
    ] {
        assert!(v.get(key).is_none(), "{key}");
    }
    let roles: Vec<&str> = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        ["system", "user", "assistant", "tool", "tool", "user"]
    );
    assert_eq!(v["tools"].as_array().unwrap().len(), 3);
    assert_eq!(v["user"], "user_abc_account__session_123");
}

#[test]
fn unknown_blocks_are_kept_raw() {
    let block: ContentBlock = serde_json::from_value(json!({
        "type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "x"}
    }))
    .unwrap();
    assert!(matches!(block, ContentBlock::Other(_)));
    let req: MessagesRequest = serde_json::from_value(json!({
        "model": "m", "max_tokens": 10, "container": "c1",
        "messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": [
                {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "x"}},
                {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
                {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "doc"}}
            ]}
        ]
    }))
    .unwrap();
    let back = request_from_canonical(&request_to_canonical(&req), 1);
    assert_eq!(semantic(to_json(&back)), semantic(to_json(&req)));
    // A max_tokens-less body is refused, as Anthropic does.
    assert!(
        serde_json::from_value::<MessagesRequest>(json!({"model": "m", "messages": []})).is_err()
    );
}

#[test]
fn pdf_documents_are_files() {
    let req: MessagesRequest = serde_json::from_value(json!({
        "model": "m", "max_tokens": 10,
        "messages": [{"role": "user", "content": [
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBER"}, "title": "a.pdf"}
        ]}]
    }))
    .unwrap();
    let canonical = request_to_canonical(&req);
    assert_eq!(
        canonical.messages[0].content[0],
        ContentPart::File {
            file_id: None,
            file_data: Some("data:application/pdf;base64,JVBER".into()),
            filename: Some("a.pdf".into())
        }
    );
    assert_eq!(
        to_json(&request_from_canonical(&canonical, 10)),
        to_json(&req)
    );
}

#[test]
fn unsigned_reasoning_is_not_sent_back() {
    let mut req = ChatRequest::new(
        "m",
        vec![
            Message::text_message(Role::User, "q"),
            Message::new(
                Role::Assistant,
                vec![
                    ContentPart::Reasoning {
                        text: "from deepseek".into(),
                        signature: None,
                    },
                    ContentPart::Text { text: "a".into() },
                ],
            ),
        ],
    );
    req.user = None;
    let v = to_json(&request_from_canonical(&req, 10));
    assert_eq!(
        v["messages"][1]["content"],
        json!([{"type": "text", "text": "a"}])
    );
}

#[test]
fn error_bodies() {
    let upstream = |status: u16, t: Option<&str>| Error::Upstream {
        provider: "p".into(),
        status,
        message: "m".into(),
        retry_after: None,
        error_type: t.map(str::to_owned),
        code: None,
    };
    let cases = [
        (Error::invalid("bad"), "invalid_request_error"),
        (Error::Unauthorized("no".into()), "authentication_error"),
        (Error::PermissionDenied("no".into()), "permission_error"),
        (
            Error::ModelNotFound { model: "x".into() },
            "not_found_error",
        ),
        (Error::PayloadTooLarge { limit: 1 }, "request_too_large"),
        (upstream(429, None), "rate_limit_error"),
        (upstream(529, Some("overloaded_error")), "overloaded_error"),
        (upstream(500, None), "api_error"),
        // Other vendors' types at 500 (Google's, OpenAI's) are not Anthropic's.
        (upstream(500, Some("INTERNAL")), "api_error"),
        (upstream(500, Some("server_error")), "api_error"),
        (upstream(400, Some("server_error")), "invalid_request_error"),
        (Error::Internal("x".into()), "api_error"),
    ];
    for (err, expected) in cases {
        let body = error_body(&err);
        assert_eq!(body.error.r#type, expected, "{err:?}");
        let v = to_json(&body);
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["message"], err.to_string());
        let parsed: ErrorBody = serde_json::from_value(v).unwrap();
        assert_eq!(parsed, body);
    }
    for (t, s) in [
        ("invalid_request_error", 400),
        ("authentication_error", 401),
        ("permission_error", 403),
        ("not_found_error", 404),
        ("request_too_large", 413),
        ("rate_limit_error", 429),
        ("api_error", 500),
        ("overloaded_error", 529),
    ] {
        assert_eq!(crate::anthropic::status_for_error_type(t), s);
        assert_eq!(crate::anthropic::error_type_for_status(s), t);
    }
}

#[test]
fn effort_and_budget_helpers() {
    use crate::canonical::{budget_effort, effort_budget};
    assert_eq!(effort_budget("none"), None);
    assert_eq!(effort_budget("minimal"), Some(1024));
    assert_eq!(budget_effort(1024), "low");
    assert_eq!(budget_effort(4096), "medium");
    assert_eq!(budget_effort(16000), "high");
    let mut req = ChatRequest::new("m", vec![]);
    req.reasoning_effort = Some("medium".into());
    assert_eq!(req.thinking_budget(), Some(4096));
    req.thinking = Some(Thinking::Enabled {
        budget_tokens: 2000,
    });
    assert_eq!(req.thinking_budget(), Some(2000));
    req.thinking = Some(Thinking::Disabled);
    assert_eq!(req.thinking_budget(), None);
}

/// What Claude Code 2.1 sends: a system message mid-conversation, adaptive thinking with an
/// effort, context management and a beta `thinking` type this crate does not know yet.
#[test]
fn claude_code_2_1_request_translates() {
    let original: MessagesRequest = serde_json::from_value(json!({
        "model": "gpt-5.1",
        "max_tokens": 32000,
        "system": [{"type": "text", "text": "You are an agent."}],
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"},
            {"role": "system", "content": [{"type": "text", "text": "Mode changed."}]},
            {"role": "user", "content": [{"type": "text", "text": "go", "cache_control": {"type": "ephemeral"}}]}
        ],
        "thinking": {"type": "adaptive"},
        "output_config": {"effort": "max"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "metadata": {"user_id": "{\"session_id\":\"s\"}"},
        "stream": true
    }))
    .unwrap();
    let canonical = request_to_canonical(&original);
    let roles: Vec<Role> = canonical.messages.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [
            Role::System,
            Role::User,
            Role::Assistant,
            Role::System,
            Role::User
        ]
    );
    assert_eq!(canonical.thinking, Some(Thinking::Adaptive));
    assert_eq!(canonical.reasoning_effort.as_deref(), Some("high"));
    assert_eq!(
        canonical.dropped_for("openai"),
        ["context_management", "output_config"]
    );
    assert!(canonical.dropped_for("anthropic").is_empty());

    // OpenAI keeps the system message where it was; Anthropic gets it back as adaptive.
    let openai = to_json(&chat_request_from_canonical(&canonical));
    assert_eq!(openai["messages"][3]["role"], "system");
    assert_eq!(openai["reasoning_effort"], "high");
    let anthropic = request_from_canonical(&canonical, 4096);
    assert_eq!(anthropic.thinking, Some(ThinkingConfig::Adaptive));
    assert!(
        anthropic
            .messages
            .iter()
            .all(|m| m.role != WireRole::System)
    );

    // An unknown thinking type is left out and named, not refused.
    let newer: MessagesRequest = serde_json::from_value(json!({
        "model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}],
        "thinking": {"type": "interleaved-deluxe", "budget": 3}
    }))
    .unwrap();
    let canonical = request_to_canonical(&newer);
    assert_eq!(canonical.thinking, None);
    assert_eq!(canonical.dropped_for("gemini"), ["thinking"]);
}

#[test]
fn budget_becomes_effort_only_for_reasoning_models() {
    let mut req = ChatRequest::new("gpt-4o", vec![Message::text_message(Role::User, "x")]);
    req.thinking = Some(Thinking::Enabled {
        budget_tokens: 20000,
    });
    assert_eq!(chat_request_from_canonical(&req).reasoning_effort, None);
    assert_eq!(req.dropped_for("openai"), ["thinking"]);
    req.model = "openai/o3-mini".into();
    assert_eq!(
        chat_request_from_canonical(&req)
            .reasoning_effort
            .as_deref(),
        Some("high")
    );
    assert!(req.dropped_for("openai").is_empty());

    // Adaptive thinking with an effort: the effort goes only where it is taken, too.
    req.thinking = Some(Thinking::Adaptive);
    req.reasoning_effort = Some("high".into());
    assert_eq!(
        chat_request_from_canonical(&req)
            .reasoning_effort
            .as_deref(),
        Some("high")
    );
    req.model = "gpt-4o".into();
    assert_eq!(chat_request_from_canonical(&req).reasoning_effort, None);
    assert_eq!(req.dropped_for("openai"), ["thinking"]);
}
