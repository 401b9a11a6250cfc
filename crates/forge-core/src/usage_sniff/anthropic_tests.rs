#![allow(clippy::unwrap_used, clippy::panic)]

use serde_json::json;

use super::test_support::*;
use super::*;
use crate::anthropic::convert::usage_to_canonical;
use crate::anthropic::{MessagesResponse, StreamDecoder};
use crate::canonical::StreamEvent;
use crate::sse::SseParser;

/// The usage the translating path's decoder reports for the same stream.
fn decoded_usage(raw: &str) -> Option<Usage> {
    let mut parser = SseParser::new();
    let mut events = Vec::new();
    parser.push(raw.as_bytes(), &mut events);
    parser.finish(&mut events);
    let mut decoder = StreamDecoder::with_created(1);
    let mut usage = None;
    for ev in &events {
        for out in decoder.push(ev).unwrap_or_default() {
            if let StreamEvent::Usage(u) = out {
                usage = Some(u);
            }
        }
    }
    usage
}

#[test]
fn text_stream_with_cache_reads() {
    let (s, observed) = sniff(SniffDialect::Anthropic, &sse_data(ANTHROPIC_TEXT));
    let want = Usage {
        input_tokens: 35,
        output_tokens: 15,
        cached_input_tokens: 10,
        cache_write_tokens: 0,
        reasoning_tokens: 0,
    };
    assert_eq!(s.usage(), Some(want));
    assert_eq!(decoded_usage(ANTHROPIC_TEXT), Some(want));
    assert_eq!(s.output_text(), "Hello! Héllo 😀");
    assert!(observed.iter().all(|o| !o.usage_only));
}

#[test]
fn thinking_and_tools_with_cache_writes() {
    let (s, _) = sniff(SniffDialect::Anthropic, &sse_data(ANTHROPIC_TOOLS));
    let want = Usage {
        input_tokens: 572,
        output_tokens: 89,
        cached_input_tokens: 0,
        cache_write_tokens: 100,
        reasoning_tokens: 0,
    };
    assert_eq!(s.usage(), Some(want));
    assert_eq!(decoded_usage(ANTHROPIC_TOOLS), Some(want));
    assert_eq!(
        s.output_text(),
        "I need the weather in Paris.Let me check.{\"location\": \"Paris\"}{\"tz\":\"CET\"}"
    );
}

#[test]
fn an_error_stream_keeps_the_start_usage() {
    let (s, _) = sniff(SniffDialect::Anthropic, &sse_data(ANTHROPIC_ERROR));
    assert_eq!(
        s.usage(),
        Some(Usage {
            input_tokens: 5,
            output_tokens: 1,
            ..Usage::default()
        })
    );
    assert!(!s.saw_content());
}

fn start(usage: serde_json::Value) -> String {
    json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant",
        "content": [], "model": "claude-sonnet-4-5", "stop_reason": null, "stop_sequence": null,
        "usage": usage}})
    .to_string()
}

fn delta(usage: serde_json::Value) -> String {
    json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
           "usage": usage})
    .to_string()
}

#[test]
fn message_delta_restates_cumulative_input_and_cache_counts() {
    // The current API repeats the input side in message_delta; a later count wins.
    let events = [
        start(json!({"input_tokens": 10, "cache_creation_input_tokens": 0,
                     "cache_read_input_tokens": 0, "output_tokens": 1,
                     "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                     "service_tier": "standard"})),
        delta(
            json!({"input_tokens": 10, "cache_creation_input_tokens": 50,
                     "cache_read_input_tokens": 2000, "output_tokens": 30,
                     "server_tool_use": {"web_search_requests": 1}}),
        ),
    ];
    let (s, _) = sniff(SniffDialect::Anthropic, &events);
    assert_eq!(
        s.usage(),
        Some(Usage {
            input_tokens: 2060,
            output_tokens: 30,
            cached_input_tokens: 2000,
            cache_write_tokens: 50,
            reasoning_tokens: 0,
        })
    );
}

#[test]
fn a_restated_zero_does_not_erase_a_count() {
    let events = [
        start(json!({"input_tokens": 400, "cache_read_input_tokens": 100, "output_tokens": 1})),
        delta(json!({"input_tokens": 0, "cache_read_input_tokens": null, "output_tokens": 12})),
    ];
    let (s, _) = sniff(SniffDialect::Anthropic, &events);
    let u = s.usage().unwrap();
    assert_eq!(
        (u.input_tokens, u.cached_input_tokens, u.output_tokens),
        (500, 100, 12)
    );
}

#[test]
fn usage_only_in_message_delta() {
    // Compatible gateways that learn the counts at the end report them only here.
    let (s, _) = sniff(
        SniffDialect::Anthropic,
        &[delta(json!({"input_tokens": 7, "output_tokens": 3}))],
    );
    let u = s.usage().unwrap();
    assert_eq!((u.input_tokens, u.output_tokens), (7, 3));
}

#[test]
fn tool_blocks_count_as_content() {
    let events = [
        // A tool without parameters: the only delta is empty.
        json!({"type": "content_block_start", "index": 0,
               "content_block": {"type": "tool_use", "id": "toolu_1", "name": "now", "input": {}}}),
        json!({"type": "content_block_delta", "index": 0,
               "delta": {"type": "input_json_delta", "partial_json": ""}}),
        // A block that starts with its input.
        json!({"type": "content_block_start", "index": 1,
               "content_block": {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search",
                                 "input": {"query": "weather"}}}),
        json!({"type": "content_block_start", "index": 2,
               "content_block": {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a"}}),
        json!({"type": "content_block_delta", "index": 3,
               "delta": {"type": "citations_delta", "citation": {"type": "char_location", "cited_text": "x"}}}),
    ];
    let events: Vec<String> = events.iter().map(|e| e.to_string()).collect();
    let (s, _) = sniff(SniffDialect::Anthropic, &events[..2]);
    assert!(s.saw_content());
    assert_eq!(s.output_text(), "");
    let (s, _) = sniff(SniffDialect::Anthropic, &events);
    assert_eq!(s.output_text(), r#"{"query":"weather"}"#);
    assert_eq!(s.usage(), None);
}

#[test]
fn message_body() {
    let want = usage_to_canonical(
        &serde_json::from_str::<MessagesResponse>(ANTHROPIC_BODY)
            .unwrap()
            .usage,
    );
    assert_eq!(
        usage_from_body(SniffDialect::Anthropic, ANTHROPIC_BODY.as_bytes()),
        Some(want)
    );
    let body = json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-opus-4-1",
        "content": [{"type": "text", "text": "Hi"}], "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 3, "cache_creation_input_tokens": 1000,
                  "cache_read_input_tokens": 20000, "output_tokens": 9}})
    .to_string();
    assert_eq!(
        usage_from_body(SniffDialect::Anthropic, body.as_bytes()),
        Some(Usage {
            input_tokens: 21_003,
            output_tokens: 9,
            cached_input_tokens: 20_000,
            cache_write_tokens: 1000,
            reasoning_tokens: 0,
        })
    );
    let error =
        br#"{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}"#;
    assert_eq!(usage_from_body(SniffDialect::Anthropic, error), None);
}

#[test]
fn the_prefilter_skips_pings_and_stops() {
    let needles = SniffDialect::Anthropic.needles();
    for ev in [
        r#"{"type": "ping"}"#,
        r#"{"type":"content_block_stop","index":0}"#,
        r#"{"type":"message_stop"}"#,
    ] {
        assert!(!may_matter(ev, needles), "{ev}");
    }
}
