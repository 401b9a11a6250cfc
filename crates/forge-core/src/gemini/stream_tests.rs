#![allow(clippy::unwrap_used, clippy::panic)]
//! Tests of both stream state machines, on streams recorded in Google's framing.

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::canonical::{FinishReason, StreamEvent, Usage};
use crate::gemini::stream_encode::{StreamEncoder, encode_sse};
use crate::sse::SseParser;

const TEXT: &[u8] = include_bytes!("../../tests/fixtures/gemini/text.sse");
const THINKING_TOOLS: &[u8] = include_bytes!("../../tests/fixtures/gemini/thinking_tools.sse");
const MAX_TOKENS: &[u8] = include_bytes!("../../tests/fixtures/gemini/max_tokens.sse");
const FIXTURES: [&[u8]; 3] = [TEXT, THINKING_TOOLS, MAX_TOKENS];

/// Feeds `pieces` through the SSE parser and a decoder, as the server does.
fn decode(pieces: &[&[u8]]) -> Vec<StreamEvent> {
    let mut parser = SseParser::new();
    let mut decoder = StreamDecoder::new("requested-model", 1_750_000_000);
    let mut sse = Vec::new();
    let mut events = Vec::new();
    for piece in pieces {
        parser.push(piece, &mut sse);
        for ev in sse.drain(..) {
            events.extend(decoder.push_data(&ev.data).unwrap());
        }
    }
    parser.finish(&mut sse);
    for ev in sse.drain(..) {
        events.extend(decoder.push_data(&ev.data).unwrap());
    }
    events.extend(decoder.finish());
    events
}

fn start(id: &str, model: &str) -> StreamEvent {
    StreamEvent::Start {
        id: id.into(),
        model: model.into(),
        created: 1_750_000_000,
    }
}

fn text(t: &str) -> StreamEvent {
    StreamEvent::TextDelta { text: t.into() }
}

#[test]
fn gemini_fixtures_use_crlf_framing() {
    for f in FIXTURES {
        let s = std::str::from_utf8(f).unwrap();
        assert!(s.ends_with("}\r\n\r\n"));
        assert_eq!(s.matches('\n').count(), s.matches("\r\n").count());
    }
}

#[test]
fn gemini_decodes_text_stream() {
    assert_eq!(
        decode(&[TEXT]),
        vec![
            start("Il0taoSYJ5Cez7QPgKbnsQg", "gemini-2.0-flash"),
            text("The"),
            text(" quick brown 🦊 sauté"),
            text(" jumps over the lazy dog.\n"),
            StreamEvent::Finish {
                reason: FinishReason::Stop
            },
            StreamEvent::Usage(Usage {
                input_tokens: 8,
                output_tokens: 12,
                ..Usage::default()
            }),
        ]
    );
}

#[test]
fn gemini_decodes_thoughts_and_whole_function_calls() {
    let id = "mY2nZ8CkLqWf1MkPqOjB4Aw";
    assert_eq!(
        decode(&[THINKING_TOOLS]),
        vec![
            start(id, "gemini-2.5-flash"),
            StreamEvent::ReasoningDelta {
                text: "**Planning**\nThe user wants weather for two cities.".into(),
                signature: None
            },
            StreamEvent::ToolCallStart {
                index: 0,
                id: format!("call_{id}_0__thought__CiQB0e2Kb-_aZ9"),
                name: "get_weather".into()
            },
            StreamEvent::ToolCallArgumentsDelta {
                index: 0,
                fragment: "{\"city\":\"Paris\"}".into()
            },
            StreamEvent::ToolCallStart {
                index: 1,
                id: format!("call_{id}_1"),
                name: "get_weather".into()
            },
            StreamEvent::ToolCallArgumentsDelta {
                index: 1,
                fragment: "{\"city\":\"Rome\",\"unit\":\"c\"}".into()
            },
            StreamEvent::Finish {
                reason: FinishReason::ToolCalls
            },
            StreamEvent::Usage(Usage {
                input_tokens: 61,
                output_tokens: 109,
                cached_input_tokens: 12,
                reasoning_tokens: 79,
                ..Usage::default()
            }),
        ]
    );
}

#[test]
fn gemini_decodes_trailing_signature_and_max_tokens() {
    assert_eq!(
        decode(&[MAX_TOKENS]),
        vec![
            start("r-max", "gemini-2.0-flash"),
            text("Once upon a time"),
            StreamEvent::ReasoningDelta {
                text: String::new(),
                signature: Some("ZW5kc2ln".into())
            },
            StreamEvent::Finish {
                reason: FinishReason::Length
            },
            StreamEvent::Usage(Usage {
                input_tokens: 4,
                output_tokens: 5,
                ..Usage::default()
            }),
        ]
    );
}

#[test]
fn gemini_split_at_every_byte_gives_the_same_events() {
    for f in FIXTURES {
        let whole = decode(&[f]);
        for cut in 0..=f.len() {
            let (a, b) = f.split_at(cut);
            assert_eq!(decode(&[a, b]), whole, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = f.chunks(1).collect();
        assert_eq!(decode(&bytes), whole);
    }
}

proptest! {
    #[test]
    fn gemini_any_split_gives_the_same_events(which in 0usize..3, cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12)) {
        let f = FIXTURES[which];
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(f.len() + 1)).collect();
        points.sort_unstable();
        let mut pieces = Vec::new();
        let mut at = 0;
        for p in points {
            pieces.push(&f[at..p]);
            at = p;
        }
        pieces.push(&f[at..]);
        prop_assert_eq!(decode(&pieces), decode(&[f]));
    }
}

#[test]
fn gemini_usage_is_reported_once_from_the_last_chunk() {
    let mut d = StreamDecoder::new("m", 1);
    let first = d.push_data(r#"{"candidates":[{"content":{"parts":[{"text":"a"}],"role":"model"}}],"usageMetadata":{"promptTokenCount":3},"responseId":"r"}"#).unwrap();
    assert!(!first.iter().any(|e| matches!(e, StreamEvent::Usage(_))));
    // A finish without usage in its chunk: usage comes at the end, from the latest chunk.
    let fin = d.push_data(r#"{"candidates":[{"content":{"parts":[{"text":"b"}],"role":"model"},"finishReason":"STOP"}]}"#).unwrap();
    assert_eq!(
        fin.last(),
        Some(&StreamEvent::Finish {
            reason: FinishReason::Stop
        })
    );
    let late = d.push_data(r#"{"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":2,"totalTokenCount":5}}"#).unwrap();
    assert!(late.is_empty(), "{late:?}");
    assert_eq!(
        d.finish(),
        vec![StreamEvent::Usage(Usage {
            input_tokens: 3,
            output_tokens: 2,
            ..Usage::default()
        })]
    );
    assert!(d.finish().is_empty());
}

#[test]
fn gemini_decoder_ids_and_bad_chunks() {
    let mut d = StreamDecoder::new("asked", 9);
    let events = d.push_data(r#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f"}}],"role":"model"}}]}"#).unwrap();
    let StreamEvent::Start { id, model, created } = &events[0] else {
        panic!("{events:?}")
    };
    assert!(!id.is_empty());
    assert_eq!((model.as_str(), *created), ("asked", 9));
    assert_eq!(
        events[1],
        StreamEvent::ToolCallStart {
            index: 0,
            id: format!("call_{id}_0"),
            name: "f".into()
        }
    );
    assert_eq!(
        events[2],
        StreamEvent::ToolCallArgumentsDelta {
            index: 0,
            fragment: "{}".into()
        }
    );
    // Only one Start per stream; tool indexes keep counting across chunks.
    let more = d.push_data(r#"{"candidates":[{"content":{"parts":[{"functionCall":{"id":"x","name":"g","args":{}}}],"role":"model"}}]}"#).unwrap();
    assert_eq!(
        more[0],
        StreamEvent::ToolCallStart {
            index: 1,
            id: "x".into(),
            name: "g".into()
        }
    );
    assert!(d.push_data("  ").unwrap().is_empty());
    let err = d.push_data("{not json").unwrap_err();
    assert_eq!(err.status(), 502);
    let blocked = StreamDecoder::new("m", 1)
        .push_data(r#"{"promptFeedback":{"blockReason":"PROHIBITED_CONTENT"},"responseId":"b"}"#)
        .unwrap();
    assert_eq!(
        blocked.last(),
        Some(&StreamEvent::Finish {
            reason: FinishReason::ContentFilter
        })
    );
}

fn encode_all(events: &[StreamEvent]) -> Vec<GenerateContentResponse> {
    let mut enc = StreamEncoder::new();
    let mut out: Vec<GenerateContentResponse> = events.iter().flat_map(|e| enc.push(e)).collect();
    out.extend(enc.finish());
    out
}

#[test]
fn gemini_encoder_buffers_tool_arguments_until_complete() {
    let events = vec![
        start("chatcmpl-1", "gpt-4o"),
        text("Let me look."),
        StreamEvent::ToolCallStart {
            index: 0,
            id: "call_a".into(),
            name: "f".into(),
        },
        StreamEvent::ToolCallArgumentsDelta {
            index: 0,
            fragment: "{\"ci".into(),
        },
        StreamEvent::ToolCallStart {
            index: 1,
            id: "call_b".into(),
            name: "g".into(),
        },
        StreamEvent::ToolCallArgumentsDelta {
            index: 0,
            fragment: "ty\":\"Paris\"}".into(),
        },
        StreamEvent::ToolCallArgumentsDelta {
            index: 1,
            fragment: "{}".into(),
        },
        StreamEvent::Finish {
            reason: FinishReason::ToolCalls,
        },
        StreamEvent::Usage(Usage {
            input_tokens: 10,
            output_tokens: 4,
            ..Usage::default()
        }),
    ];
    let chunks: Vec<serde_json::Value> = encode_all(&events)
        .iter()
        .map(|c| serde_json::to_value(c).unwrap())
        .collect();
    assert_eq!(
        chunks,
        vec![
            json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Let me look."}]}, "index": 0}],
                "modelVersion": "gpt-4o", "responseId": "chatcmpl-1"}),
            json!({"candidates": [{"content": {"role": "model", "parts": [
                    {"functionCall": {"id": "call_a", "name": "f", "args": {"city": "Paris"}}},
                    {"functionCall": {"id": "call_b", "name": "g", "args": {}}}
                ]}, "index": 0}],
                "modelVersion": "gpt-4o", "responseId": "chatcmpl-1"}),
            json!({"candidates": [{"content": {"role": "model", "parts": [{"text": ""}]}, "finishReason": "STOP", "index": 0}],
                "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 4, "totalTokenCount": 14},
                "modelVersion": "gpt-4o", "responseId": "chatcmpl-1"}),
        ]
    );
}

#[test]
fn gemini_encoder_renders_nothing_before_start() {
    let mut enc = StreamEncoder::new();
    assert!(enc.push(&text("x")).is_empty());
    assert!(enc.finish().is_empty());
}

#[test]
fn gemini_encode_then_decode_gives_the_same_events() {
    for f in FIXTURES {
        let events = decode(&[f]);
        let wire: Vec<u8> = encode_all(&events)
            .iter()
            .flat_map(|c| encode_sse(c).to_vec())
            .collect();
        assert!(wire.ends_with(b"\r\n\r\n"));
        assert_eq!(decode(&[&wire]), events);
    }
}
