#![allow(clippy::unwrap_used, clippy::panic)]

use serde_json::json;

use super::test_support::*;
use super::*;
use crate::canonical::{FinishReason, StreamEvent as Ev};
use crate::responses::convert::usage_from_canonical;
use crate::responses::stream_encode::event_json;
use crate::responses::{ResponsesRequest, StreamEncoder, new_response_id};

#[test]
fn stream_as_openai_sends_it() {
    let (s, observed) = sniff(SniffDialect::OpenAiResponses, &responses_stream());
    assert_eq!(
        s.usage(),
        Some(Usage {
            input_tokens: 328,
            output_tokens: 152,
            cached_input_tokens: 256,
            cache_write_tokens: 0,
            reasoning_tokens: 64,
        })
    );
    assert_eq!(s.output_text(), "**Greeting**Hi there{\"city\":\"Paris\"}");
    assert!(observed.iter().all(|o| !o.usage_only));
}

#[test]
fn only_deltas_and_terminal_events_are_parsed() {
    let needles = SniffDialect::OpenAiResponses.needles();
    let parsed: Vec<bool> = responses_stream()
        .iter()
        .map(|e| may_matter(e, needles))
        .collect();
    // created, in_progress, the *.done and *.added events are skipped unparsed.
    let want = [
        false, false, false, false, true, false, false, false, true, true, false, false, true,
        true, false, true,
    ];
    assert_eq!(parsed, want);
}

/// The gateway's own Responses encoder, fed canonical events, emits what the sniffer
/// reads back: the usage and the text.
#[test]
fn round_trip_through_the_encoder() {
    let req: ResponsesRequest =
        serde_json::from_value(json!({"model": "m", "input": "hi", "stream": true})).unwrap();
    let usage = Usage {
        input_tokens: 50,
        output_tokens: 20,
        cached_input_tokens: 30,
        cache_write_tokens: 0,
        reasoning_tokens: 8,
    };
    let mut enc = StreamEncoder::new(&req, &new_response_id("abc"));
    let mut wire = Vec::new();
    for ev in [
        Ev::Start {
            id: "u".into(),
            model: "m".into(),
            created: 1,
        },
        Ev::ReasoningDelta {
            text: "hmm".into(),
            signature: None,
        },
        Ev::TextDelta { text: "Hi".into() },
        Ev::ToolCallStart {
            index: 0,
            id: "call_1".into(),
            name: "f".into(),
        },
        Ev::ToolCallArgumentsDelta {
            index: 0,
            fragment: "{}".into(),
        },
        Ev::Finish {
            reason: FinishReason::Length,
        },
        Ev::Usage(usage),
    ] {
        wire.extend(enc.push(&ev));
    }
    wire.extend(enc.finish());
    let events: Vec<String> = wire.iter().map(|e| event_json(e).1.to_string()).collect();
    assert!(events.last().unwrap().contains("response.incomplete"));
    let (s, _) = sniff(SniffDialect::OpenAiResponses, &events);
    assert_eq!(s.usage(), Some(usage));
    assert_eq!(s.output_text(), "hmmHi{}");
}

#[test]
fn bodies() {
    let usage = usage_from_canonical(&Usage {
        input_tokens: 10,
        output_tokens: 4,
        cached_input_tokens: 2,
        cache_write_tokens: 0,
        reasoning_tokens: 1,
    });
    let body = json!({"id": "resp_1", "object": "response", "status": "completed",
                      "output": [], "usage": usage});
    let got = usage_from_body(SniffDialect::OpenAiResponses, body.to_string().as_bytes()).unwrap();
    assert_eq!(
        (
            got.input_tokens,
            got.output_tokens,
            got.cached_input_tokens,
            got.reasoning_tokens
        ),
        (10, 4, 2, 1)
    );
    let queued = br#"{"id": "resp_1", "object": "response", "status": "queued", "usage": null}"#;
    assert_eq!(usage_from_body(SniffDialect::OpenAiResponses, queued), None);
}

#[test]
fn failed_and_incomplete_carry_usage_but_created_does_not() {
    let ev = |kind: &str, usage: serde_json::Value| {
        json!({"type": kind, "sequence_number": 1, "response": {"id": "r", "usage": usage}})
            .to_string()
    };
    let u = json!({"input_tokens": 5, "output_tokens": 2, "total_tokens": 7});
    let (s, _) = sniff(
        SniffDialect::OpenAiResponses,
        &[ev("response.in_progress", u.clone())],
    );
    assert_eq!(s.usage(), None);
    for kind in [
        "response.failed",
        "response.incomplete",
        "response.completed",
    ] {
        let (s, _) = sniff(SniffDialect::OpenAiResponses, &[ev(kind, u.clone())]);
        assert_eq!(s.usage().unwrap().output_tokens, 2, "{kind}");
    }
    // Audio deltas are not text.
    let audio = json!({"type": "response.audio.delta", "delta": "UklGRg=="}).to_string();
    let (s, _) = sniff(SniffDialect::OpenAiResponses, &[audio]);
    assert_eq!(s.output_text(), "");
}

#[test]
fn a_streamed_transcription_reports_its_usage_at_the_end() {
    let events = [
        json!({"type": "transcript.text.delta", "delta": "Hello "}).to_string(),
        json!({"type": "transcript.text.delta", "delta": "there."}).to_string(),
        json!({"type": "transcript.text.done", "text": "Hello there.",
               "usage": {"type": "tokens", "input_tokens": 14, "output_tokens": 3, "total_tokens": 17,
                         "input_token_details": {"audio_tokens": 14, "text_tokens": 0}}}).to_string(),
    ];
    let (s, _) = sniff(SniffDialect::OpenAiResponses, &events);
    assert_eq!(
        s.usage().map(|u| (u.input_tokens, u.output_tokens)),
        Some((14, 3))
    );
    assert_eq!(s.output_text(), "Hello there.");
}
