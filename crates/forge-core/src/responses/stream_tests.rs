#![allow(clippy::unwrap_used, clippy::panic)]
use serde_json::{Value, json};

use super::*;
use crate::canonical::{FinishReason, Message, Role, StreamEvent as Ev, Usage};
use crate::responses::{conversation_after, new_response_id, request_to_canonical};
use crate::sse::SseParser;

fn request() -> ResponsesRequest {
    serde_json::from_value(json!({
        "model": "claude-sonnet",
        "input": "Weather in Paris and Rome?",
        "tools": [{"type": "function", "name": "weather", "parameters": {"type": "object"}}],
        "stream": true
    }))
    .unwrap()
}

fn start() -> Ev {
    Ev::Start {
        id: "msg_upstream".into(),
        model: "claude-sonnet-4-5".into(),
        created: 1_700_000_000,
    }
}

fn usage() -> Usage {
    Usage {
        input_tokens: 20,
        output_tokens: 7,
        cached_input_tokens: 5,
        cache_write_tokens: 0,
        reasoning_tokens: 0,
    }
}

/// Runs the events (and `finish()`), checking sequence numbers count up from 0 with no gap.
fn encode(events: &[Ev]) -> (StreamEncoder, Vec<Wire>) {
    let mut enc = StreamEncoder::new(&request(), &new_response_id("abc"));
    let mut out = Vec::new();
    for e in events {
        out.extend(enc.push(e));
    }
    out.extend(enc.finish());
    for (i, e) in out.iter().enumerate() {
        assert_eq!(e.sequence_number(), i as u64, "{}", e.name());
    }
    (enc, out)
}

fn names(events: &[Wire]) -> Vec<&'static str> {
    events.iter().map(Wire::name).collect()
}

fn to_json(events: &[Wire]) -> Value {
    Value::Array(events.iter().map(|e| event_json(e).1).collect())
}

#[test]
fn responses_stream_text() {
    let (enc, out) = encode(&[
        start(),
        Ev::TextDelta {
            text: "Hello".into(),
        },
        Ev::TextDelta {
            text: ", world".into(),
        },
        Ev::Finish {
            reason: FinishReason::Stop,
        },
        Ev::Usage(usage()),
    ]);
    assert_eq!(
        names(&out),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    let done = enc.final_response().unwrap();
    assert_eq!(done.output_text(), "Hello, world");
    assert_eq!(done.usage.unwrap().total_tokens, 27);
    assert_eq!(done.created_at, 1_700_000_000);
    insta::assert_json_snapshot!("responses_stream_text", to_json(&out));
}

#[test]
fn responses_stream_two_tool_calls() {
    let (enc, out) = encode(&[
        start(),
        Ev::ToolCallStart {
            index: 0,
            id: "toolu_a".into(),
            name: "weather".into(),
        },
        Ev::ToolCallArgumentsDelta {
            index: 0,
            fragment: "{\"city\":".into(),
        },
        Ev::ToolCallArgumentsDelta {
            index: 0,
            fragment: "\"Paris\"}".into(),
        },
        // A repeated start of a known call adds nothing.
        Ev::ToolCallStart {
            index: 0,
            id: "toolu_a".into(),
            name: "weather".into(),
        },
        Ev::ToolCallStart {
            index: 1,
            id: "toolu_b".into(),
            name: "weather".into(),
        },
        Ev::ToolCallArgumentsDelta {
            index: 1,
            fragment: "{\"city\":\"Rome\"}".into(),
        },
        Ev::Usage(usage()),
        Ev::Finish {
            reason: FinishReason::ToolCalls,
        },
    ]);
    assert_eq!(
        names(&out),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    let done = enc.final_response().unwrap();
    let calls: Vec<(String, String)> = done
        .output
        .iter()
        .map(|item| match item {
            Item::FunctionCall(c) => (c.call_id.clone(), c.arguments.clone()),
            other => panic!("function call expected, got {other:?}"),
        })
        .collect();
    assert_eq!(
        calls,
        [
            ("toolu_a".into(), "{\"city\":\"Paris\"}".into()),
            ("toolu_b".into(), "{\"city\":\"Rome\"}".into())
        ]
    );
    for (_, args) in &calls {
        serde_json::from_str::<Value>(args).unwrap();
    }
    insta::assert_json_snapshot!("responses_stream_two_tool_calls", to_json(&out));
}

#[test]
fn responses_stream_reasoning_then_text() {
    let (enc, out) = encode(&[
        start(),
        Ev::ReasoningDelta {
            text: "Let me ".into(),
            signature: None,
        },
        Ev::ReasoningDelta {
            text: "think.".into(),
            signature: None,
        },
        Ev::ReasoningDelta {
            text: String::new(),
            signature: Some("sig-1".into()),
        },
        Ev::RedactedReasoning {
            data: "opaque".into(),
        },
        Ev::TextDelta {
            text: "Answer.".into(),
        },
        Ev::Finish {
            reason: FinishReason::Stop,
        },
    ]);
    assert_eq!(
        names(&out)[2..9],
        [
            "response.output_item.added",
            "response.reasoning_summary_part.added",
            "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.done",
            "response.reasoning_summary_part.done",
            "response.output_item.done",
        ]
    );
    let done = to_json(&[Wire::Completed {
        response: Box::new(enc.final_response().unwrap().clone()),
        sequence_number: 0,
    }]);
    let output = &done[0]["response"]["output"];
    assert_eq!(
        output[0],
        json!({"type": "reasoning", "id": "rs_abc_0", "encrypted_content": "sig-1",
               "summary": [{"type": "summary_text", "text": "Let me think."}]})
    );
    assert_eq!(
        output[1],
        json!({"type": "reasoning", "id": "rs_abc_1", "encrypted_content": "opaque", "summary": []})
    );
    assert_eq!(output[2]["content"][0]["text"], "Answer.");
    // No usage reported: zeros rather than a missing object.
    assert_eq!(done[0]["response"]["usage"]["total_tokens"], 0);
}

#[test]
fn responses_stream_truncated_is_incomplete() {
    let (_, out) = encode(&[
        start(),
        Ev::TextDelta {
            text: "Once upon".into(),
        },
        Ev::Finish {
            reason: FinishReason::Length,
        },
    ]);
    let last = event_json(out.last().unwrap()).1;
    assert_eq!(last["type"], "response.incomplete");
    assert_eq!(last["response"]["status"], "incomplete");
    assert_eq!(
        last["response"]["incomplete_details"]["reason"],
        "max_output_tokens"
    );
    assert_eq!(last["response"]["output"][0]["status"], "incomplete");
}

#[test]
fn responses_stream_start_gates_and_ends() {
    let mut enc = StreamEncoder::new(&request(), "resp_x");
    assert!(
        enc.push(&Ev::TextDelta {
            text: "early".into()
        })
        .is_empty()
    );
    assert!(enc.finish().is_empty());
    assert!(!enc.started());
    assert_eq!(enc.push(&start()).len(), 2);
    assert!(enc.push(&start()).is_empty(), "repeated Start is ignored");
    assert_eq!(enc.finish().len(), 1);
    assert!(enc.finish().is_empty());
    assert!(
        enc.push(&Ev::TextDelta {
            text: "late".into()
        })
        .is_empty()
    );
}

#[test]
fn responses_stream_errors() {
    let err = crate::Error::Upstream {
        provider: "anthropic".into(),
        status: 529,
        message: "overloaded".into(),
        retry_after: None,
        error_type: None,
        code: None,
    };
    // Before the stream started: a bare `error` event.
    let mut enc = StreamEncoder::new(&request(), "resp_x");
    let ev = event_json(&enc.error(&err)).1;
    assert_eq!(ev["type"], "error");
    assert_eq!(ev["code"], "provider_error");
    assert_eq!(ev["sequence_number"], 0);

    // After: `response.failed` with the output so far, and nothing more afterwards.
    let mut enc = StreamEncoder::new(&request(), "resp_x");
    enc.push(&start());
    enc.push(&Ev::TextDelta {
        text: "partial".into(),
    });
    let ev = event_json(&enc.error(&err)).1;
    assert_eq!(ev["type"], "response.failed");
    assert_eq!(ev["sequence_number"], 5);
    assert_eq!(ev["response"]["status"], "failed");
    assert_eq!(ev["response"]["error"]["code"], "provider_error");
    assert_eq!(ev["response"]["output"].as_array().unwrap().len(), 1);
    assert!(enc.finish().is_empty());
}

#[test]
fn responses_stream_sse_encoding() {
    let (_, out) = encode(&[
        start(),
        Ev::TextDelta {
            text: "line1\nline2".into(),
        },
        Ev::Finish {
            reason: FinishReason::Stop,
        },
    ]);
    let bytes = encode_sse(&out);
    let text = std::str::from_utf8(&bytes).unwrap();
    assert!(text.starts_with("event: response.created\ndata: {"));
    // Parsed back, byte by byte, each event's name equals its payload type.
    let mut parser = SseParser::new();
    let mut parsed = Vec::new();
    for b in bytes.iter() {
        parser.push(&[*b], &mut parsed);
    }
    parser.finish(&mut parsed);
    assert_eq!(parsed.len(), out.len());
    for (sse, wire) in parsed.iter().zip(&out) {
        assert_eq!(sse.event.as_deref(), Some(wire.name()));
        let data: Value = serde_json::from_str(&sse.data).unwrap();
        assert_eq!(data["type"], wire.name());
        let back: Wire = serde_json::from_value(data).unwrap();
        assert_eq!(&back, wire);
    }
}

#[test]
fn responses_stream_conversation_for_storage() {
    let req = request();
    let chat = request_to_canonical(&req, None).unwrap();
    let (enc, _) = encode(&[
        start(),
        Ev::TextDelta {
            text: "Checking.".into(),
        },
        Ev::ToolCallStart {
            index: 0,
            id: "toolu_a".into(),
            name: "weather".into(),
        },
        Ev::ToolCallArgumentsDelta {
            index: 0,
            fragment: "{}".into(),
        },
        Ev::Finish {
            reason: FinishReason::ToolCalls,
        },
        Ev::Usage(usage()),
    ]);
    let resp = enc.canonical_response().unwrap();
    assert_eq!(resp.id, "resp_abc");
    assert_eq!(resp.model, "claude-sonnet-4-5");
    assert_eq!(resp.usage, usage());
    let conv = conversation_after(&req, &chat, &resp);
    assert_eq!(
        conv,
        vec![
            Message::text_message(Role::User, "Weather in Paris and Rome?"),
            Message::new(
                Role::Assistant,
                vec![
                    crate::canonical::ContentPart::Text {
                        text: "Checking.".into()
                    },
                    crate::canonical::ContentPart::ToolCall {
                        id: "toolu_a".into(),
                        name: "weather".into(),
                        arguments: "{}".into()
                    }
                ]
            )
        ]
    );
    // The streamed final response equals the non-streamed rendering of the same answer.
    let direct = crate::responses::response_from_canonical(&resp, &req, "resp_abc");
    assert_eq!(enc.final_response(), Some(&direct));
}
