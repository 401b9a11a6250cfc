#![allow(clippy::unwrap_used, clippy::panic)]

use serde_json::{Value, json};

use super::*;
use crate::canonical::ImageSource;
use crate::openai::ChatCompletionRequest;

fn rich_request() -> Value {
    json!({
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Use tools."}]},
            {"role": "user", "name": "ann", "content": [
                {"type": "text", "text": "What is in these?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "high"}},
                {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/AAAA"}},
                {"type": "input_audio", "input_audio": {"data": "UklGR", "format": "wav"}},
                {"type": "file", "file": {"file_id": "file-123"}}
            ]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "18C and sunny"},
            {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "12:00"}, {"type": "text", "text": " CET"}]},
            {"role": "assistant", "content": "It is 18C.", "custom_key": {"kept": true}}
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "max_tokens": 256,
        "temperature": 0.5,
        "top_p": 0.9,
        "stop": ["END"],
        "stream": true,
        "stream_options": {"include_usage": true},
        "seed": 42,
        "n": 1,
        "response_format": {"type": "json_object"},
        "reasoning_effort": "low",
        "user": "u-1",
        "vendor_extra": {"x": 1}
    })
}

fn parse(value: Value) -> ChatCompletionRequest {
    serde_json::from_value(value).unwrap()
}

/// What a message carries, ignoring the string-vs-parts spelling of text.
fn normalise(messages: &Value) -> Vec<Value> {
    messages
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let mut m = m.clone();
            let obj = m.as_object_mut().unwrap();
            if let Some(Value::Array(parts)) = obj.get("content")
                && parts.iter().all(|p| p["type"] == "text")
            {
                let text: String = parts.iter().map(|p| p["text"].as_str().unwrap()).collect();
                obj.insert("content".into(), Value::String(text));
            }
            if obj.get("content") == Some(&Value::Null) {
                obj.remove("content");
            }
            m
        })
        .collect()
}

#[test]
fn wire_request_round_trips_through_serde() {
    let value = rich_request();
    let parsed = parse(value.clone());
    assert_eq!(parsed.seed, Some(42));
    assert_eq!(parsed.extra.get("vendor_extra"), Some(&json!({"x": 1})));
    let mut back = serde_json::to_value(&parsed).unwrap();
    // `content: null` is the one spelling that does not survive: absent means the same.
    back["messages"][3]
        .as_object_mut()
        .unwrap()
        .insert("content".into(), Value::Null);
    assert_eq!(back, value);
}

#[test]
fn openai_canonical_openai_loses_no_content() {
    let original = rich_request();
    let canonical = chat_request_to_canonical(&parse(original.clone())).unwrap();
    let back = serde_json::to_value(chat_request_from_canonical(&canonical)).unwrap();

    assert_eq!(
        normalise(&back["messages"]),
        normalise(&original["messages"])
    );
    for key in [
        "model",
        "tools",
        "tool_choice",
        "max_tokens",
        "temperature",
        "top_p",
        "stop",
        "stream",
        "stream_options",
        "seed",
        "n",
        "response_format",
        "reasoning_effort",
        "user",
        "vendor_extra",
    ] {
        assert_eq!(back[key], original[key], "{key}");
    }
    assert_eq!(
        back.as_object().unwrap().len(),
        original.as_object().unwrap().len()
    );
}

#[test]
fn canonical_form_of_the_rich_request() {
    let canonical = chat_request_to_canonical(&parse(rich_request())).unwrap();
    assert_eq!(
        canonical.messages[2].content[2],
        ContentPart::Image {
            source: ImageSource::Base64 {
                media_type: "image/jpeg".into(),
                data: "/9j/AAAA".into()
            },
            detail: None
        }
    );
    assert_eq!(
        canonical.tool_choice,
        Some(ToolChoice::Named("get_weather".into()))
    );
    assert!(canonical.stream);
    insta::assert_json_snapshot!("canonical_rich_request", canonical);
}

#[test]
fn max_completion_tokens_is_the_canonical_max() {
    let req = parse(json!({"model": "o3", "messages": [], "max_completion_tokens": 9}));
    assert_eq!(chat_request_to_canonical(&req).unwrap().max_tokens, Some(9));
}

#[test]
fn invalid_requests_are_client_errors() {
    let cases = [
        (
            json!({"model": "m", "messages": [{"role": "function", "name": "f", "content": "x"}]}),
            "messages[0]",
        ),
        (
            json!({"model": "m", "messages": [{"role": "tool", "content": "x"}]}),
            "messages[0].tool_call_id",
        ),
        (
            json!({"model": "m", "messages": [], "tool_choice": "sometimes"}),
            "tool_choice",
        ),
        (
            json!({"model": "m", "messages": [], "tools": [{"type": "web_search", "function": {"name": "x"}}]}),
            "tools[0].type",
        ),
    ];
    for (body, expected) in cases {
        match chat_request_to_canonical(&parse(body)) {
            Err(Error::InvalidRequest { param, .. }) => {
                assert_eq!(param.as_deref(), Some(expected))
            }
            other => panic!("{expected}: {other:?}"),
        }
    }
}

#[test]
fn anthropic_style_tool_results_become_tool_messages() {
    let mut req = ChatRequest::new(
        "m",
        vec![Message::new(
            Role::User,
            vec![
                ContentPart::ToolResult {
                    call_id: "toolu_1".into(),
                    content: vec![ContentPart::Text { text: "42".into() }],
                },
                ContentPart::Text {
                    text: "Thanks".into(),
                },
            ],
        )],
    );
    req.max_tokens = Some(10);
    let wire = serde_json::to_value(chat_request_from_canonical(&req)).unwrap();
    assert_eq!(
        wire,
        json!({"model": "m", "max_tokens": 10, "messages": [
            {"role": "tool", "tool_call_id": "toolu_1", "content": "42"},
            {"role": "user", "content": "Thanks"}
        ]})
    );
}

fn response_json() -> Value {
    json!({
        "id": "chatcmpl-abc",
        "object": "chat.completion",
        "created": 1_700_000_000u64,
        "model": "gpt-4o-2024-08-06",
        "system_fingerprint": "fp_1",
        "choices": [{
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Checking.",
                "tool_calls": [{"id": "call_9", "type": "function", "function": {"name": "lookup", "arguments": "{\"q\":1}"}}]
            },
            "finish_reason": "tool_calls"
        }],
        "usage": {
            "prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120,
            "prompt_tokens_details": {"cached_tokens": 64},
            "completion_tokens_details": {"reasoning_tokens": 5}
        }
    })
}

#[test]
fn response_round_trip() {
    let wire: ChatCompletionResponse = serde_json::from_value(response_json()).unwrap();
    let canonical = chat_response_to_canonical(&wire);
    assert_eq!(canonical.finish_reason, FinishReason::ToolCalls);
    assert_eq!(
        canonical.usage,
        Usage {
            input_tokens: 100,
            output_tokens: 20,
            cached_input_tokens: 64,
            cache_write_tokens: 0,
            reasoning_tokens: 5
        }
    );
    let back = serde_json::to_value(chat_response_from_canonical(&canonical)).unwrap();
    assert_eq!(back, response_json());
}

#[test]
fn response_from_canonical_snapshot() {
    let resp = ChatResponse {
        id: "msg_01".into(),
        model: "claude-sonnet-4".into(),
        created: 1_700_000_001,
        content: vec![
            ContentPart::Reasoning {
                text: "Think.".into(),
                signature: Some("sig".into()),
            },
            ContentPart::Text {
                text: "Hello".into(),
            },
        ],
        finish_reason: FinishReason::Length,
        usage: Usage {
            input_tokens: 3,
            output_tokens: 4,
            ..Usage::default()
        },
        extra: Default::default(),
    };
    insta::assert_json_snapshot!(
        "response_from_canonical",
        chat_response_from_canonical(&resp)
    );
}

fn chunk(value: Value) -> ChatCompletionChunk {
    serde_json::from_value(value).unwrap()
}

#[test]
fn chunks_to_events_and_back() {
    let head = |choices: Value| json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 7, "model": "gpt-x", "choices": choices});
    let chunks = [
        head(
            json!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]),
        ),
        head(json!([{"index": 0, "delta": {"content": "Hi"}, "finish_reason": null}])),
        head(json!([{"index": 0, "delta": {"reasoning_content": "hmm"}, "finish_reason": null}])),
        head(
            json!([{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": ""}}]}, "finish_reason": null}]),
        ),
        head(
            json!([{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{\"a\":"}}]}, "finish_reason": null}]),
        ),
        head(json!([{"index": 0, "delta": {}, "finish_reason": "tool_calls"}])),
        {
            let mut c = head(json!([]));
            c["usage"] = json!({"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11});
            c
        },
    ];
    let mut events = Vec::new();
    for c in &chunks {
        let evs = chunk_to_events(&chunk(c.clone()));
        assert!(matches!(evs[0], StreamEvent::Start { .. }));
        events.extend(evs.into_iter().skip(1));
    }
    assert_eq!(
        events,
        vec![
            StreamEvent::TextDelta { text: "Hi".into() },
            StreamEvent::ReasoningDelta {
                text: "hmm".into(),
                signature: None
            },
            StreamEvent::ToolCallStart {
                index: 0,
                id: "call_1".into(),
                name: "f".into()
            },
            StreamEvent::ToolCallArgumentsDelta {
                index: 0,
                fragment: "{\"a\":".into()
            },
            StreamEvent::Finish {
                reason: FinishReason::ToolCalls
            },
            StreamEvent::Usage(Usage {
                input_tokens: 5,
                output_tokens: 6,
                ..Usage::default()
            }),
        ]
    );

    let mut renderer = ChunkRenderer::new();
    assert!(
        renderer
            .render(&StreamEvent::TextDelta {
                text: "early".into()
            })
            .is_none()
    );
    let start = StreamEvent::Start {
        id: "chatcmpl-1".into(),
        model: "gpt-x".into(),
        created: 7,
    };
    let mut rendered = vec![renderer.render(&start).unwrap()];
    assert!(renderer.render(&start).is_none());
    rendered.extend(events.iter().filter_map(|e| renderer.render(e)));
    let rendered: Vec<Value> = rendered
        .iter()
        .map(|c| serde_json::to_value(c).unwrap())
        .collect();
    for c in &rendered {
        assert_eq!(c["id"], "chatcmpl-1");
        assert_eq!(c["model"], "gpt-x");
        assert_eq!(c["created"], 7);
    }
    assert_eq!(rendered[..2], chunks[..2]);
    assert_eq!(rendered[4..], chunks[4..]);
    insta::assert_json_snapshot!("rendered_chunks", rendered);
}

#[test]
fn legacy_and_vendor_reasoning_fields() {
    let c = chunk(
        json!({"id": "x", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"reasoning": "r"}}]}),
    );
    assert_eq!(
        chunk_to_events(&c)[1],
        StreamEvent::ReasoningDelta {
            text: "r".into(),
            signature: None
        }
    );
    assert_eq!(
        FinishReason::from_openai("function_call"),
        FinishReason::ToolCalls
    );
}
