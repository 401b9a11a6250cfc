#![allow(clippy::unwrap_used, clippy::panic)]

use serde_json::json;

use super::test_support::*;
use super::*;
use crate::canonical::StreamEvent;
use crate::gemini::convert::usage_to_canonical;
use crate::gemini::stream_decode::StreamDecoder;
use crate::gemini::{GenerateContentResponse, UsageMetadata};

/// The usage the translating path's decoder reports for the same stream.
fn decoded_usage(raw: &str) -> Option<Usage> {
    let mut decoder = StreamDecoder::new("m", 1);
    let mut events = Vec::new();
    for data in sse_data(raw) {
        events.extend(decoder.push_data(&data).unwrap());
    }
    events.extend(decoder.finish());
    events.into_iter().rev().find_map(|e| match e {
        StreamEvent::Usage(u) => Some(u),
        _ => None,
    })
}

#[test]
fn text_stream() {
    let (s, _) = sniff(SniffDialect::Gemini, &sse_data(GEMINI_TEXT));
    let want = Usage {
        input_tokens: 8,
        output_tokens: 12,
        ..Usage::default()
    };
    assert_eq!(s.usage(), Some(want));
    assert_eq!(decoded_usage(GEMINI_TEXT), Some(want));
    assert_eq!(
        s.output_text(),
        "The quick brown 🦊 sauté jumps over the lazy dog.\n"
    );
}

#[test]
fn thoughts_count_as_output() {
    let (s, _) = sniff(SniffDialect::Gemini, &sse_data(GEMINI_THINKING_TOOLS));
    let want = Usage {
        input_tokens: 61,
        output_tokens: 109,
        cached_input_tokens: 12,
        cache_write_tokens: 0,
        reasoning_tokens: 79,
    };
    assert_eq!(s.usage(), Some(want));
    assert_eq!(decoded_usage(GEMINI_THINKING_TOOLS), Some(want));
    assert_eq!(
        s.output_text(),
        "**Planning**\nThe user wants weather for two cities.\
         {\"city\": \"Paris\"}{\"city\": \"Rome\", \"unit\": \"c\"}"
    );
    assert!(s.saw_content());
}

#[test]
fn max_tokens_stream() {
    let (s, _) = sniff(SniffDialect::Gemini, &sse_data(GEMINI_MAX_TOKENS));
    assert_eq!(s.usage(), decoded_usage(GEMINI_MAX_TOKENS));
    assert_eq!(s.usage().unwrap().output_tokens, 5);
    assert_eq!(s.output_text(), "Once upon a time");
}

#[test]
fn a_call_without_args_and_other_candidates() {
    let events = [
        json!({"candidates": [
            {"content": {"parts": [{"functionCall": {"name": "now"}}], "role": "model"}, "index": 0},
            {"content": {"parts": [{"text": "second"}, {"inlineData": {"mimeType": "image/png", "data": "AA=="}}],
                         "role": "model"}, "index": 1}
        ]})
        .to_string(),
        json!({"promptFeedback": {"blockReason": "SAFETY"},
               "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9}})
        .to_string(),
    ];
    let (s, _) = sniff(SniffDialect::Gemini, &events);
    assert!(s.saw_content());
    assert_eq!(s.output_text(), "second");
    assert_eq!(s.usage().unwrap().input_tokens, 9);
}

#[test]
fn bodies_match_the_converter() {
    let usage = json!({"promptTokenCount": 120, "candidatesTokenCount": 30,
                       "totalTokenCount": 260, "cachedContentTokenCount": 100,
                       "thoughtsTokenCount": 90, "toolUsePromptTokenCount": 20,
                       "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 120}]});
    let body = json!({"candidates": [{"content": {"parts": [{"text": "Hi"}], "role": "model"},
                       "finishReason": "STOP", "index": 0}],
                      "usageMetadata": usage, "modelVersion": "gemini-2.5-pro", "responseId": "r1"});
    let want = usage_to_canonical(&serde_json::from_value::<UsageMetadata>(usage).unwrap());
    let parsed: GenerateContentResponse = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(
        parsed.usage_metadata.as_ref().map(usage_to_canonical),
        Some(want)
    );
    let got = usage_from_body(SniffDialect::Gemini, body.to_string().as_bytes());
    assert_eq!(got, Some(want));
    assert_eq!(
        want,
        Usage {
            input_tokens: 140,
            output_tokens: 120,
            cached_input_tokens: 100,
            cache_write_tokens: 0,
            reasoning_tokens: 90,
        }
    );
    let none = br#"{"error": {"code": 400, "message": "bad", "status": "INVALID_ARGUMENT"}}"#;
    assert_eq!(usage_from_body(SniffDialect::Gemini, none), None);
}

#[test]
fn an_array_body_takes_the_last_usage() {
    // streamGenerateContent without alt=sse: one JSON array of responses.
    let body = format!(
        " [{},\r\n{},\r\n{}]",
        json!({"candidates": [], "usageMetadata": {"promptTokenCount": 4, "totalTokenCount": 4}}),
        json!({"candidates": [], "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 6}}),
        json!({"candidates": []}),
    );
    let got = usage_from_body(SniffDialect::Gemini, body.as_bytes()).unwrap();
    assert_eq!((got.input_tokens, got.output_tokens), (4, 6));
    assert_eq!(usage_from_body(SniffDialect::Gemini, b"[]"), None);
}
