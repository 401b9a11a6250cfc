#![allow(clippy::unwrap_used, clippy::panic)]

use forge_core::adapter::ProviderAdapter;
use forge_core::canonical::{
    ChatRequest, ContentPart, FinishReason, ImageSource, Message, Role, StreamEvent, Thinking,
    Tool, ToolChoice,
};
use forge_core::sse::SseEvent;
use serde_json::{Value, json};

use super::CohereAdapter;

fn adapter() -> CohereAdapter {
    CohereAdapter::new(Some("http://127.0.0.1:9/v2/"), "co-secret-key-1234")
}

fn body(req: &ChatRequest) -> (String, Value) {
    let out = adapter().chat_request(req).unwrap();
    (out.url, serde_json::from_slice(&out.body).unwrap())
}

fn event(data: Value) -> SseEvent {
    SseEvent {
        event: data["type"].as_str().map(str::to_owned),
        data: data.to_string(),
        id: None,
        retry: None,
    }
}

#[test]
fn a_conversation_with_tools_in_cohere_shape() {
    let mut req = ChatRequest::new(
        "command-a-03-2025",
        vec![
            Message::text_message(Role::System, "Be brief."),
            Message::new(
                Role::User,
                vec![
                    ContentPart::Text {
                        text: "Weather in Paris? See:".into(),
                    },
                    ContentPart::Image {
                        source: ImageSource::Base64 {
                            media_type: "image/png".into(),
                            data: "AAAA".into(),
                        },
                        detail: None,
                    },
                ],
            ),
            Message::new(
                Role::Assistant,
                vec![
                    ContentPart::Reasoning {
                        text: "I will look it up.".into(),
                        signature: None,
                    },
                    ContentPart::ToolCall {
                        id: "call_1".into(),
                        name: "get_weather".into(),
                        arguments: r#"{"city":"Paris"}"#.into(),
                    },
                ],
            ),
            Message::new(
                Role::Tool,
                vec![ContentPart::ToolResult {
                    call_id: "call_1".into(),
                    content: vec![ContentPart::Text {
                        text: "18C, sunny".into(),
                    }],
                }],
            ),
        ],
    );
    req.tools = vec![Tool {
        name: "get_weather".into(),
        description: Some("Current weather".into()),
        parameters: Some(json!({"type": "object", "properties": {"city": {"type": "string"}}})),
        strict: None,
    }];
    req.tool_choice = Some(ToolChoice::Required);
    req.max_tokens = Some(200);
    req.top_p = Some(0.9);
    req.stop = vec!["END".into()];
    req.stream = true;
    req.thinking = Some(Thinking::Enabled { budget_tokens: 512 });
    req.response_format = Some(
        json!({"type": "json_schema", "json_schema": {"name": "w", "schema": {"type": "object"}}}),
    );
    req.extra.insert("seed".into(), json!(7));
    req.extra.insert("logit_bias".into(), json!({}));
    assert_eq!(req.dropped_for("cohere"), ["logit_bias"]);
    let (url, body) = body(&req);
    assert_eq!(url, "http://127.0.0.1:9/v2/chat");
    insta::assert_json_snapshot!("cohere_request", body);
}

#[test]
fn an_answer_with_a_plan_and_tool_calls() {
    let answer = json!({
        "id": "c0", "finish_reason": "TOOL_CALL",
        "message": { "role": "assistant", "tool_plan": "Look it up.",
            "tool_calls": [{ "id": "get_weather_x1", "type": "function",
                "function": { "name": "get_weather", "arguments": "{\"city\":\"Paris\"}" } }] },
        "usage": { "billed_units": { "input_tokens": 20, "output_tokens": 9 },
                   "tokens": { "input_tokens": 700, "output_tokens": 30 } }
    });
    let parsed = adapter()
        .parse_response(answer.to_string().as_bytes())
        .unwrap();
    assert_eq!(parsed.finish_reason, FinishReason::ToolCalls);
    assert_eq!(
        (parsed.usage.input_tokens, parsed.usage.output_tokens),
        (20, 9)
    );
    assert_eq!(
        parsed.content,
        vec![
            ContentPart::Reasoning {
                text: "Look it up.".into(),
                signature: None
            },
            ContentPart::ToolCall {
                id: "get_weather_x1".into(),
                name: "get_weather".into(),
                arguments: "{\"city\":\"Paris\"}".into()
            },
        ]
    );
    let text = json!({ "id": "c1", "finish_reason": "MAX_TOKENS",
        "message": { "role": "assistant", "content": [{ "type": "text", "text": "Hel" }] },
        "usage": { "tokens": { "input_tokens": 5, "output_tokens": 1 } } });
    let parsed = adapter()
        .parse_response(text.to_string().as_bytes())
        .unwrap();
    assert_eq!(
        (
            parsed.text(),
            parsed.finish_reason,
            parsed.usage.input_tokens
        ),
        ("Hel".to_owned(), FinishReason::Length, 5)
    );
}

#[test]
fn a_stream_with_text_then_a_tool_call() {
    let a = adapter();
    let mut decoder = a.stream_decoder("cohere", "command-a", 7);
    let events = [
        // As Cohere sends it: empty arrays where later deltas carry objects.
        json!({"type": "message-start", "id": "m1", "delta": {"message": {"role": "assistant",
            "content": [], "tool_plan": "", "tool_calls": [], "citations": []}}}),
        json!({"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "text", "text": ""}}}}),
        json!({"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": "Hi"}}}}),
        json!({"type": "content-end", "index": 0}),
        json!({"type": "tool-plan-delta", "delta": {"message": {"tool_plan": "plan"}}}),
        json!({"type": "tool-call-start", "index": 0, "delta": {"message": {"tool_calls": {"id": "t1", "type": "function", "function": {"name": "f", "arguments": ""}}}}}),
        json!({"type": "tool-call-delta", "index": 0, "delta": {"message": {"tool_calls": {"function": {"arguments": "{\"a\":"}}}}}),
        json!({"type": "tool-call-delta", "index": 0, "delta": {"message": {"tool_calls": {"function": {"arguments": "1}"}}}}}),
        json!({"type": "tool-call-end", "index": 0}),
        json!({"type": "message-end", "delta": {"finish_reason": "TOOL_CALL", "usage": {"billed_units": {"input_tokens": 3, "output_tokens": 4}}}}),
    ];
    let mut out = Vec::new();
    for e in events {
        assert!(!decoder.complete());
        out.extend(decoder.decode(&event(e)).unwrap());
    }
    assert!(decoder.complete());
    assert_eq!(
        out,
        vec![
            StreamEvent::Start {
                id: "m1".into(),
                model: "command-a".into(),
                created: 7
            },
            StreamEvent::TextDelta { text: "Hi".into() },
            StreamEvent::ReasoningDelta {
                text: "plan".into(),
                signature: None
            },
            StreamEvent::ToolCallStart {
                index: 0,
                id: "t1".into(),
                name: "f".into()
            },
            StreamEvent::ToolCallArgumentsDelta {
                index: 0,
                fragment: "{\"a\":".into()
            },
            StreamEvent::ToolCallArgumentsDelta {
                index: 0,
                fragment: "1}".into()
            },
            StreamEvent::Usage(forge_core::canonical::Usage {
                input_tokens: 3,
                output_tokens: 4,
                ..Default::default()
            }),
            StreamEvent::Finish {
                reason: FinishReason::ToolCalls
            },
        ]
    );
    // Pretty-printed JSON is the same event.
    let mut decoder = a.stream_decoder("cohere", "m", 0);
    let pretty = serde_json::to_string_pretty(
        &json!({"type": "content-delta", "delta": {"message": {"content": {"text": "x"}}}}),
    )
    .unwrap();
    let events = decoder
        .decode(&SseEvent {
            event: None,
            data: pretty,
            id: None,
            retry: None,
        })
        .unwrap();
    assert_eq!(
        events.last(),
        Some(&StreamEvent::TextDelta { text: "x".into() })
    );
}

#[test]
fn errors_keep_the_status_and_lose_the_key() {
    let err = adapter().parse_error(
        429,
        Some("7"),
        br#"{"id": "e1", "message": "too many requests for co-secret-key-1234"}"#,
    );
    match err {
        forge_core::Error::Upstream {
            status,
            message,
            retry_after,
            ..
        } => {
            assert_eq!((status, retry_after), (429, Some(7)));
            assert_eq!(message, "too many requests for <redacted>");
        }
        other => panic!("{other:?}"),
    }
    let mut decoder = adapter().stream_decoder("cohere", "m", 0);
    let broken = decoder.decode(&SseEvent {
        event: None,
        data: "{\"message\": \"internal error\"}".into(),
        id: None,
        retry: None,
    });
    assert!(broken.is_err());
    let listed = adapter()
        .parse_models(br#"{"models": [{"name": "command-a-03-2025"}, {"name": "embed-v4.0"}]}"#)
        .unwrap();
    assert_eq!(listed, ["command-a-03-2025", "embed-v4.0"]);
    assert_eq!(
        adapter().forward("v2/rerank").url,
        "http://127.0.0.1:9/v2/rerank"
    );
}

#[test]
fn openai_ranges_and_a_named_tool_fit_cohere() {
    let mut req = ChatRequest::new("m", vec![Message::text_message(Role::User, "hi")]);
    let tool = |name: &str| Tool {
        name: name.into(),
        description: None,
        parameters: None,
        strict: None,
    };
    req.tools = vec![tool("a"), tool("b")];
    req.tool_choice = Some(ToolChoice::Named("b".into()));
    req.top_p = Some(1.0);
    req.top_k = Some(900);
    req.extra.insert("frequency_penalty".into(), json!(-1.5));
    req.extra.insert("presence_penalty".into(), json!(2));
    let (_, body) = body(&req);
    assert_eq!(body["tool_choice"], "REQUIRED");
    assert_eq!(body["tools"].as_array().unwrap().len(), 1);
    assert_eq!(body["tools"][0]["function"]["name"], "b");
    assert_eq!(
        (body["p"].as_f64(), body["k"].as_u64()),
        (Some(0.99), Some(500))
    );
    assert_eq!(
        (
            body["frequency_penalty"].as_f64(),
            body["presence_penalty"].as_f64()
        ),
        (Some(0.0), Some(1.0))
    );
}
