#![allow(clippy::unwrap_used, clippy::panic)]

//! Finish reasons, read from streams and whole bodies as the upstream spells them.

use serde_json::json;

use super::test_support::*;
use super::*;

fn reasons(dialect: SniffDialect, events: &[String]) -> Vec<String> {
    sniff(dialect, events).0.finish_reasons().to_vec()
}

#[test]
fn streams_report_the_upstream_finish_reason() {
    assert_eq!(
        reasons(SniffDialect::OpenAiChat, &openai_chat_text()),
        ["stop"]
    );
    assert_eq!(
        reasons(SniffDialect::OpenAiChat, &openai_chat_tools()),
        ["tool_calls"]
    );
    assert_eq!(
        reasons(SniffDialect::OpenAiCompletions, &openai_completions()),
        ["stop"]
    );
    assert_eq!(
        reasons(SniffDialect::OpenAiResponses, &responses_stream()),
        ["completed"]
    );
    assert_eq!(
        reasons(SniffDialect::Anthropic, &sse_data(ANTHROPIC_TOOLS)),
        ["tool_use"]
    );
    assert_eq!(
        reasons(SniffDialect::Gemini, &sse_data(GEMINI_MAX_TOKENS)),
        ["MAX_TOKENS"]
    );
    // An error stream never finished.
    assert!(reasons(SniffDialect::Anthropic, &sse_data(ANTHROPIC_ERROR)).is_empty());
}

#[test]
fn a_finish_only_chunk_is_not_skipped_by_the_prefilter() {
    // No content, no usage: only the reason.
    let chunk = json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "content_filter"}]});
    assert_eq!(
        reasons(SniffDialect::OpenAiChat, &[chunk.to_string()]),
        ["content_filter"]
    );
}

#[test]
fn several_choices_keep_distinct_reasons_in_order() {
    let chunk = json!({"choices": [
        {"index": 0, "delta": {}, "finish_reason": "length"},
        {"index": 1, "delta": {}, "finish_reason": "stop"},
        {"index": 2, "delta": {}, "finish_reason": "length"}]});
    assert_eq!(
        reasons(SniffDialect::OpenAiChat, &[chunk.to_string()]),
        ["length", "stop"]
    );
}

#[test]
fn bodies_report_usage_and_finish_reasons_in_one_parse() {
    let chat = json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"},
        "finish_reason": "stop"}], "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}});
    let facts = body_facts(SniffDialect::OpenAiChat, chat.to_string().as_bytes());
    assert_eq!(facts.finish_reasons, ["stop"]);
    assert_eq!(facts.usage.map(|u| u.output_tokens), Some(1));

    let message = json!({"type": "message", "role": "assistant", "content": [],
        "stop_reason": "max_tokens", "usage": {"input_tokens": 5, "output_tokens": 7}});
    let facts = body_facts(SniffDialect::Anthropic, message.to_string().as_bytes());
    assert_eq!(facts.finish_reasons, ["max_tokens"]);
    assert_eq!(facts.usage.map(|u| u.output_tokens), Some(7));

    let gemini = json!([
        {"candidates": [{"content": {"parts": [{"text": "a"}]}}]},
        {"candidates": [{"content": {"parts": [{"text": "b"}]}, "finishReason": "SAFETY"}],
         "usageMetadata": {"promptTokenCount": 2, "candidatesTokenCount": 2}}]);
    let facts = body_facts(SniffDialect::Gemini, gemini.to_string().as_bytes());
    assert_eq!(facts.finish_reasons, ["SAFETY"]);
    assert_eq!(facts.usage.map(|u| u.input_tokens), Some(2));

    let incomplete = json!({"object": "response", "status": "incomplete",
        "incomplete_details": {"reason": "max_output_tokens"}, "usage": null});
    let facts = body_facts(
        SniffDialect::OpenAiResponses,
        incomplete.to_string().as_bytes(),
    );
    assert_eq!(facts.finish_reasons, ["max_output_tokens"]);
    assert_eq!(facts.usage, None);

    // Pretty-printed bodies read the same.
    let pretty = serde_json::to_string_pretty(&chat).unwrap();
    assert_eq!(
        body_facts(SniffDialect::OpenAiChat, pretty.as_bytes()).finish_reasons,
        ["stop"]
    );
    assert_eq!(
        body_facts(SniffDialect::OpenAiChat, b"not json"),
        BodyFacts::default()
    );
}
