#![allow(clippy::unwrap_used, clippy::panic)]
use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::anthropic::stream_encode::{encode_sse, event_json};
use crate::anthropic::{BlockDelta, StreamEncoder};
use crate::canonical::FinishReason;
use crate::openai::ChatCompletionChunk;
use crate::openai::convert::chunk_to_events;
use crate::sse::SseParser;

const TEXT: &str = include_str!("../../tests/fixtures/anthropic/text_stream.sse");
const TOOLS: &str = include_str!("../../tests/fixtures/anthropic/tool_thinking_stream.sse");
const ERROR: &str = include_str!("../../tests/fixtures/anthropic/error_stream.sse");

fn sse(chunks: &[&[u8]]) -> Vec<SseEvent> {
    let mut parser = SseParser::new();
    let mut out = Vec::new();
    for c in chunks {
        parser.push(c, &mut out);
    }
    parser.finish(&mut out);
    out
}

fn decode(chunks: &[&[u8]]) -> Result<Vec<StreamEvent>, Error> {
    let mut decoder = StreamDecoder::with_created(1_700_000_000);
    let mut out = Vec::new();
    for ev in sse(chunks) {
        out.extend(decoder.push(&ev)?);
    }
    Ok(out)
}

#[test]
fn text_stream() {
    let events = decode(&[TEXT.as_bytes()]).unwrap();
    assert_eq!(
        events,
        vec![
            StreamEvent::Start {
                id: "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY".into(),
                model: "claude-sonnet-4-20250514".into(),
                created: 1_700_000_000,
            },
            StreamEvent::TextDelta {
                text: "Hello".into()
            },
            StreamEvent::TextDelta {
                text: "! Héllo 😀".into()
            },
            StreamEvent::Finish {
                reason: FinishReason::StopSequence("END".into())
            },
            StreamEvent::Usage(Usage {
                input_tokens: 35,
                output_tokens: 15,
                cached_input_tokens: 10,
                cache_write_tokens: 0,
                reasoning_tokens: 0,
            }),
        ]
    );
}

#[test]
fn tool_and_thinking_stream() {
    let events = decode(&[TOOLS.as_bytes()]).unwrap();
    insta::assert_json_snapshot!("decoded_tool_thinking_stream", events);
    let starts: Vec<(u32, &str)> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::ToolCallStart { index, id, .. } => Some((*index, id.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(
        starts,
        [(0, "toolu_01T1x1fJ34qAmk2tNTrN7Up6"), (1, "toolu_02")]
    );
    let args: String = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::ToolCallArgumentsDelta { index: 0, fragment } => Some(fragment.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&args).unwrap(),
        json!({"location": "Paris"})
    );
    assert!(events.contains(&StreamEvent::ReasoningDelta {
        text: String::new(),
        signature: Some("EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds".into())
    }));
    assert!(events.contains(&StreamEvent::Finish {
        reason: FinishReason::ToolCalls
    }));
    assert!(matches!(
        events.last(),
        Some(StreamEvent::Usage(Usage {
            input_tokens: 572,
            cache_write_tokens: 100,
            output_tokens: 89,
            ..
        }))
    ));
}

#[test]
fn error_event_is_an_upstream_error() {
    match decode(&[ERROR.as_bytes()]) {
        Err(Error::Upstream {
            status,
            message,
            error_type,
            provider,
            ..
        }) => {
            assert_eq!(
                (status, message.as_str(), provider.as_str()),
                (529, "Overloaded", "anthropic")
            );
            assert_eq!(error_type.as_deref(), Some("overloaded_error"));
        }
        other => panic!("{other:?}"),
    }
    let mut d = StreamDecoder::with_created(1);
    let garbage = SseEvent {
        data: "{not json".into(),
        ..SseEvent::default()
    };
    assert!(matches!(
        d.push(&garbage),
        Err(Error::Upstream { status: 502, .. })
    ));
    let future = SseEvent {
        data: r#"{"type":"brand_new_event","x":1}"#.into(),
        ..SseEvent::default()
    };
    assert_eq!(d.push(&future).unwrap(), vec![]);
}

#[test]
fn json_output_tool_streams_as_text() {
    let stream = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_j\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-x\",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_j\",\"name\":\"json_output\",\"input\":{}}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":1}\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":9}}\n\n",
    );
    let events = decode(&[stream.as_bytes()]).unwrap();
    assert_eq!(
        events[1],
        StreamEvent::TextDelta {
            text: "{\"a\":1}".into()
        }
    );
    assert_eq!(
        events[2],
        StreamEvent::Finish {
            reason: FinishReason::Stop
        }
    );
}

/// Exhaustive over both recorded streams: a cut at every byte boundary, and one byte at a time.
#[test]
fn every_byte_split_gives_the_same_events() {
    for stream in [TEXT.as_bytes(), TOOLS.as_bytes()] {
        let whole = decode(&[stream]).unwrap();
        for cut in 0..=stream.len() {
            assert_eq!(
                decode(&[&stream[..cut], &stream[cut..]]).unwrap(),
                whole,
                "cut at {cut}"
            );
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(decode(&bytes).unwrap(), whole);
    }
}

proptest! {
    #[test]
    fn random_three_way_splits(which in 0usize..2, a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>()) {
        let stream = [TEXT, TOOLS][which].as_bytes();
        let mut cuts = [a.index(stream.len() + 1), b.index(stream.len() + 1)];
        cuts.sort_unstable();
        let parts = [&stream[..cuts[0]], &stream[cuts[0]..cuts[1]], &stream[cuts[1]..]];
        prop_assert_eq!(decode(&parts).unwrap(), decode(&[stream]).unwrap());
    }
}

fn encode_all(encoder: &mut StreamEncoder, events: &[StreamEvent]) -> Vec<Wire> {
    let mut out: Vec<Wire> = events.iter().flat_map(|e| encoder.push(e)).collect();
    out.extend(encoder.finish());
    out
}

#[test]
fn anthropic_stream_round_trips_through_the_encoder() {
    let canonical = decode(&[TOOLS.as_bytes()]).unwrap();
    let mut encoder = StreamEncoder::new("claude-opus-4-20250514");
    let ours = encode_all(&mut encoder, &canonical);
    let original: Vec<Wire> = sse(&[TOOLS.as_bytes()])
        .iter()
        .map(|e| serde_json::from_str(&e.data).unwrap())
        .filter(|e| !matches!(e, Wire::ContentBlockDelta { delta: BlockDelta::InputJsonDelta { partial_json }, .. } if partial_json.is_empty()))
        .collect();
    let names = |events: &[Wire]| events.iter().map(Wire::name).collect::<Vec<_>>();
    assert_eq!(names(&ours), names(&original));
    let blocks = |events: &[Wire]| {
        events
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    Wire::ContentBlockStart { .. }
                        | Wire::ContentBlockDelta { .. }
                        | Wire::ContentBlockStop { .. }
                )
            })
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(blocks(&ours), blocks(&original));
    let Wire::MessageDelta { delta, usage } = &ours[ours.len() - 2] else {
        panic!()
    };
    assert_eq!(delta.stop_reason.as_deref(), Some("tool_use"));
    assert_eq!(
        (
            usage.output_tokens,
            usage.input_tokens,
            usage.cache_creation_input_tokens
        ),
        (89, Some(472), Some(100))
    );
    let Wire::MessageStart { message } = &ours[0] else {
        panic!()
    };
    assert_eq!(
        (message.id.as_str(), message.model.as_str()),
        ("msg_01Xk2", "claude-opus-4-20250514")
    );
}

#[test]
fn openai_chunk_with_two_tool_calls_gives_two_blocks() {
    let chunks = [
        json!({"id": "chatcmpl-7", "object": "chat.completion.chunk", "created": 1_700_000_001, "model": "gpt-4o", "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Checking."}, "finish_reason": null}]}),
        json!({"id": "chatcmpl-7", "object": "chat.completion.chunk", "created": 1_700_000_001, "model": "gpt-4o", "choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
            {"index": 1, "id": "call_b", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":"}}
        ]}, "finish_reason": null}]}),
        json!({"id": "chatcmpl-7", "object": "chat.completion.chunk", "created": 1_700_000_001, "model": "gpt-4o", "choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 1, "function": {"arguments": "\"Rome\"}"}}
        ]}, "finish_reason": null}]}),
        json!({"id": "chatcmpl-7", "object": "chat.completion.chunk", "created": 1_700_000_001, "model": "gpt-4o", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}),
        json!({"id": "chatcmpl-7", "object": "chat.completion.chunk", "created": 1_700_000_001, "model": "gpt-4o", "choices": [], "usage": {"prompt_tokens": 50, "completion_tokens": 30, "total_tokens": 80, "prompt_tokens_details": {"cached_tokens": 20}}}),
    ];
    let canonical: Vec<StreamEvent> = chunks
        .iter()
        .flat_map(|c| {
            chunk_to_events(&serde_json::from_value::<ChatCompletionChunk>(c.clone()).unwrap())
        })
        .collect();
    let mut encoder = StreamEncoder::new("claude-sonnet-4");
    let events = encode_all(&mut encoder, &canonical);
    let as_json: Vec<(&str, Value)> = events.iter().map(event_json).collect();
    insta::assert_json_snapshot!("openai_chunks_to_anthropic_events", as_json);

    // Each tool call is its own block, and its accumulated input is valid JSON.
    let mut inputs: Vec<(String, String)> = Vec::new();
    let mut open: Option<(u32, String)> = None;
    for e in &events {
        match e {
            Wire::ContentBlockStart {
                index,
                content_block: ContentBlock::ToolUse { id, .. },
            } => {
                assert!(open.is_none());
                open = Some((*index, id.clone()));
                inputs.push((id.clone(), String::new()));
            }
            Wire::ContentBlockDelta {
                index,
                delta: BlockDelta::InputJsonDelta { partial_json },
            } => {
                assert_eq!(open.as_ref().map(|o| o.0), Some(*index));
                inputs.last_mut().unwrap().1.push_str(partial_json);
            }
            Wire::ContentBlockStop { index } if open.as_ref().map(|o| o.0) == Some(*index) => {
                open = None
            }
            _ => {}
        }
    }
    assert_eq!(inputs.len(), 2);
    assert_eq!(inputs[0].0, "call_a");
    assert_eq!(
        serde_json::from_str::<Value>(&inputs[0].1).unwrap(),
        json!({"city": "Paris"})
    );
    assert_eq!(
        serde_json::from_str::<Value>(&inputs[1].1).unwrap(),
        json!({"city": "Rome"})
    );
    let names: Vec<&str> = events.iter().map(Wire::name).collect();
    assert_eq!(names.first(), Some(&"message_start"));
    assert_eq!(&names[names.len() - 2..], ["message_delta", "message_stop"]);
    let Wire::MessageDelta { delta, usage } = &events[events.len() - 2] else {
        panic!()
    };
    assert_eq!(delta.stop_reason.as_deref(), Some("tool_use"));
    assert_eq!(
        (
            usage.output_tokens,
            usage.input_tokens,
            usage.cache_read_input_tokens
        ),
        (30, Some(30), Some(20))
    );
    let Wire::MessageStart { message } = &events[0] else {
        panic!()
    };
    assert_eq!(message.id, "msg_chatcmpl-7");
}

#[test]
fn encoder_edges() {
    let mut e = StreamEncoder::new("m").with_input_tokens(12);
    // Nothing before a Start: no invented ids.
    assert!(
        e.push(&StreamEvent::TextDelta { text: "x".into() })
            .is_empty()
    );
    assert!(e.finish().is_empty());
    let start = e.push(&StreamEvent::Start {
        id: "msg_1".into(),
        model: "up".into(),
        created: 1,
    });
    let Wire::MessageStart { message } = &start[0] else {
        panic!()
    };
    assert_eq!(message.usage.input_tokens, 12);
    assert!(
        e.push(&StreamEvent::Start {
            id: "other".into(),
            model: "up".into(),
            created: 1
        })
        .is_empty()
    );
    let mut events = e.push(&StreamEvent::ReasoningDelta {
        text: "think".into(),
        signature: None,
    });
    events.extend(e.push(&StreamEvent::TextDelta { text: "hi".into() }));
    events.extend(e.push(&StreamEvent::RedactedReasoning { data: "enc".into() }));
    let names: Vec<&str> = events.iter().map(Wire::name).collect();
    assert_eq!(
        names,
        [
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_stop"
        ]
    );
    let end = e.finish();
    let Wire::MessageDelta { delta, .. } = &end[0] else {
        panic!()
    };
    assert_eq!(delta.stop_reason.as_deref(), Some("end_turn"));
    assert!(matches!(end[1], Wire::MessageStop));
    assert!(e.finish().is_empty());
    assert!(
        e.push(&StreamEvent::TextDelta {
            text: "late".into()
        })
        .is_empty()
    );

    let mut e = StreamEncoder::new("m");
    e.push(&StreamEvent::Start {
        id: "x".into(),
        model: "m".into(),
        created: 1,
    });
    let err = e.error(&Error::Upstream {
        provider: "p".into(),
        status: 429,
        message: "slow down".into(),
        retry_after: Some(3),
        error_type: None,
        code: None,
    });
    assert_eq!(
        event_json(&err),
        (
            "error",
            json!({"type": "error", "error": {"type": "rate_limit_error", "message": "Provider p returned HTTP 429: slow down"}})
        )
    );
    assert!(e.finish().is_empty());
    assert_eq!(
        event_json(&StreamEncoder::ping()),
        ("ping", json!({"type": "ping"}))
    );
    let bytes = encode_sse(&[StreamEncoder::ping(), Wire::MessageStop]);
    assert_eq!(&bytes[..], b"event: ping\ndata: {\"type\":\"ping\"}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
}
