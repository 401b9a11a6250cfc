//! Realistic event sequences per dialect, shared by the unit and property tests.

#![allow(clippy::unwrap_used, clippy::panic)]

use serde_json::{Value, json};

use super::{Observed, SniffDialect, StreamSniffer};
use crate::sse::SseParser;

pub const ANTHROPIC_TEXT: &str = include_str!("../../tests/fixtures/anthropic/text_stream.sse");
pub const ANTHROPIC_TOOLS: &str =
    include_str!("../../tests/fixtures/anthropic/tool_thinking_stream.sse");
pub const ANTHROPIC_ERROR: &str = include_str!("../../tests/fixtures/anthropic/error_stream.sse");
pub const ANTHROPIC_BODY: &str = include_str!("../../tests/fixtures/anthropic/tool_response.json");
pub const GEMINI_TEXT: &str = include_str!("../../tests/fixtures/gemini/text.sse");
pub const GEMINI_THINKING_TOOLS: &str =
    include_str!("../../tests/fixtures/gemini/thinking_tools.sse");
pub const GEMINI_MAX_TOKENS: &str = include_str!("../../tests/fixtures/gemini/max_tokens.sse");

/// The `data:` payloads of an SSE stream, framed as the server frames them.
pub fn sse_data(raw: &str) -> Vec<String> {
    let mut parser = SseParser::new();
    let mut out = Vec::new();
    parser.push(raw.as_bytes(), &mut out);
    parser.finish(&mut out);
    out.into_iter().map(|e| e.data).collect()
}

/// Feeds every event to a sniffer, checking that the substring prefilter never changes
/// an outcome (a second sniffer parses every event).
pub fn sniff<S: AsRef<str>>(dialect: SniffDialect, events: &[S]) -> (StreamSniffer, Vec<Observed>) {
    let mut fast = StreamSniffer::new(dialect);
    let mut full = StreamSniffer::new(dialect);
    let mut seen = Vec::new();
    for ev in events {
        let ev = ev.as_ref();
        let observed = fast.observe(ev);
        assert_eq!(observed, full.observe_filtered(ev, false), "{ev}");
        seen.push(observed);
    }
    assert_same(&fast, &full);
    (fast, seen)
}

pub fn assert_same(a: &StreamSniffer, b: &StreamSniffer) {
    assert_eq!(a.usage(), b.usage());
    assert_eq!(a.output_text(), b.output_text());
    assert_eq!(a.output_overflow_bytes(), b.output_overflow_bytes());
    assert_eq!(a.saw_content(), b.saw_content());
}

fn chat_chunk(choices: Value, usage: Value) -> String {
    json!({
        "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
        "object": "chat.completion.chunk",
        "created": 1_741_570_283,
        "model": "o4-mini-2025-04-16",
        "service_tier": "default",
        "system_fingerprint": null,
        "choices": choices,
        "usage": usage,
    })
    .to_string()
}

fn delta(delta: Value, finish: Value) -> Value {
    json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}])
}

pub fn openai_usage() -> Value {
    json!({
        "prompt_tokens": 1200,
        "completion_tokens": 340,
        "total_tokens": 1540,
        "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 256,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0
        }
    })
}

/// A chat stream with `stream_options.include_usage`: every chunk carries `usage`, null
/// until the extra last chunk, whose `choices` is empty.
pub fn openai_chat_text() -> Vec<String> {
    vec![
        chat_chunk(
            delta(
                json!({"role": "assistant", "content": "", "refusal": null}),
                Value::Null,
            ),
            Value::Null,
        ),
        chat_chunk(delta(json!({"content": "Hel"}), Value::Null), Value::Null),
        chat_chunk(
            delta(json!({"content": "lo, wörld \"quoted\"\n"}), Value::Null),
            Value::Null,
        ),
        chat_chunk(delta(json!({}), json!("stop")), Value::Null),
        chat_chunk(json!([]), openai_usage()),
        "[DONE]".to_owned(),
    ]
}

/// Tool calls as OpenAI streams them, without `include_usage`.
pub fn openai_chat_tools() -> Vec<String> {
    let call = |c: Value| chat_chunk(delta(json!({"tool_calls": [c]}), Value::Null), Value::Null);
    vec![
        chat_chunk(
            delta(
                json!({"role": "assistant", "content": null, "refusal": null, "tool_calls": [
                    {"index": 0, "id": "call_DdmO9pD3xa9XTPNJ32zg2hcA", "type": "function",
                     "function": {"name": "get_weather", "arguments": ""}}
                ]}),
                Value::Null,
            ),
            Value::Null,
        ),
        call(json!({"index": 0, "function": {"arguments": "{\"lo"}})),
        call(json!({"index": 0, "function": {"arguments": "cation\":\"Paris\"}"}})),
        call(json!({"index": 1, "id": "call_2", "type": "function",
                    "function": {"name": "get_time", "arguments": "{}"}})),
        chat_chunk(delta(json!({}), json!("tool_calls")), Value::Null),
        "[DONE]".to_owned(),
    ]
}

/// DeepSeek's reasoning stream: usage rides on the finishing chunk, choices and all.
pub fn deepseek_reasoning() -> Vec<String> {
    let chunk = |delta: Value, finish: Value, usage: Value| {
        json!({"id": "d1", "object": "chat.completion.chunk", "created": 1, "model": "deepseek-reasoner",
               "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
               "usage": usage})
        .to_string()
    };
    vec![
        chunk(
            json!({"role": "assistant", "content": null, "reasoning_content": ""}),
            Value::Null,
            Value::Null,
        ),
        chunk(
            json!({"content": null, "reasoning_content": "Think"}),
            Value::Null,
            Value::Null,
        ),
        chunk(
            json!({"content": null, "reasoning_content": "ing."}),
            Value::Null,
            Value::Null,
        ),
        chunk(
            json!({"content": "Answer", "reasoning_content": null}),
            Value::Null,
            Value::Null,
        ),
        chunk(
            json!({"content": "", "reasoning_content": null}),
            json!("stop"),
            json!({"prompt_tokens": 13, "completion_tokens": 40, "total_tokens": 53,
                   "prompt_tokens_details": {"cached_tokens": 0},
                   "completion_tokens_details": {"reasoning_tokens": 30},
                   "prompt_cache_hit_tokens": 0, "prompt_cache_miss_tokens": 13}),
        ),
        "[DONE]".to_owned(),
    ]
}

/// A completions stream for two prompts with `include_usage`.
pub fn openai_completions() -> Vec<String> {
    let chunk = |choices: Value, usage: Value| {
        json!({"id": "cmpl-1", "object": "text_completion", "created": 1,
               "model": "gpt-3.5-turbo-instruct", "system_fingerprint": null,
               "choices": choices, "usage": usage})
        .to_string()
    };
    let choice = |i: u32, text: &str, finish: Value| json!([{"text": text, "index": i, "logprobs": null, "finish_reason": finish}]);
    vec![
        chunk(choice(0, "Once", Value::Null), Value::Null),
        chunk(choice(0, " upon", Value::Null), Value::Null),
        chunk(choice(0, "", json!("stop")), Value::Null),
        chunk(choice(1, "A time", Value::Null), Value::Null),
        chunk(choice(1, "", json!("stop")), Value::Null),
        chunk(
            json!([]),
            json!({"prompt_tokens": 6, "completion_tokens": 5, "total_tokens": 11}),
        ),
        "[DONE]".to_owned(),
    ]
}

/// A Responses stream as OpenAI sends it: reasoning summary, text, a function call, then
/// `response.completed` with the usage.
pub fn responses_stream() -> Vec<String> {
    let response = |status: &str, usage: Value| {
        json!({"id": "resp_1", "object": "response", "created_at": 1_741_476_542, "status": status,
               "error": null, "incomplete_details": null, "instructions": "Be brief.",
               "model": "o4-mini-2025-04-16", "output": [], "parallel_tool_calls": true,
               "reasoning": {"effort": "medium", "summary": "auto"}, "store": true,
               "tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}],
               "usage": usage, "metadata": {}})
    };
    let mut completed = response(
        "completed",
        json!({
            "input_tokens": 328, "input_tokens_details": {"cached_tokens": 256},
            "output_tokens": 152, "output_tokens_details": {"reasoning_tokens": 64},
            "total_tokens": 480
        }),
    );
    completed["output"] = json!([
        {"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
         "content": [{"type": "output_text", "text": "Hi there", "annotations": []}]}
    ]);
    let events = [
        json!({"type": "response.created", "sequence_number": 0, "response": response("in_progress", Value::Null)}),
        json!({"type": "response.in_progress", "sequence_number": 1, "response": response("in_progress", Value::Null)}),
        json!({"type": "response.output_item.added", "sequence_number": 2, "output_index": 0,
               "item": {"type": "reasoning", "id": "rs_1", "summary": []}}),
        json!({"type": "response.reasoning_summary_part.added", "sequence_number": 3, "item_id": "rs_1",
               "output_index": 0, "summary_index": 0, "part": {"type": "summary_text", "text": ""}}),
        json!({"type": "response.reasoning_summary_text.delta", "sequence_number": 4, "item_id": "rs_1",
               "output_index": 0, "summary_index": 0, "delta": "**Greeting**"}),
        json!({"type": "response.reasoning_summary_text.done", "sequence_number": 5, "item_id": "rs_1",
               "output_index": 0, "summary_index": 0, "text": "**Greeting**"}),
        json!({"type": "response.output_item.added", "sequence_number": 6, "output_index": 1,
               "item": {"type": "message", "id": "msg_1", "status": "in_progress", "role": "assistant", "content": []}}),
        json!({"type": "response.content_part.added", "sequence_number": 7, "item_id": "msg_1",
               "output_index": 1, "content_index": 0,
               "part": {"type": "output_text", "text": "", "annotations": []}}),
        json!({"type": "response.output_text.delta", "sequence_number": 8, "item_id": "msg_1",
               "output_index": 1, "content_index": 0, "delta": "Hi", "logprobs": []}),
        json!({"type": "response.output_text.delta", "sequence_number": 9, "item_id": "msg_1",
               "output_index": 1, "content_index": 0, "delta": " there", "logprobs": []}),
        json!({"type": "response.output_text.done", "sequence_number": 10, "item_id": "msg_1",
               "output_index": 1, "content_index": 0, "text": "Hi there", "logprobs": []}),
        json!({"type": "response.output_item.added", "sequence_number": 11, "output_index": 2,
               "item": {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather",
                        "arguments": "", "status": "in_progress"}}),
        json!({"type": "response.function_call_arguments.delta", "sequence_number": 12, "item_id": "fc_1",
               "output_index": 2, "delta": "{\"city\":"}),
        json!({"type": "response.function_call_arguments.delta", "sequence_number": 13, "item_id": "fc_1",
               "output_index": 2, "delta": "\"Paris\"}"}),
        json!({"type": "response.function_call_arguments.done", "sequence_number": 14, "item_id": "fc_1",
               "output_index": 2, "arguments": "{\"city\":\"Paris\"}"}),
        json!({"type": "response.completed", "sequence_number": 15, "response": completed}),
    ];
    events.iter().map(Value::to_string).collect()
}

/// Every realistic sequence of a dialect, for the property tests.
pub fn corpus(dialect: SniffDialect) -> Vec<String> {
    match dialect {
        SniffDialect::OpenAiChat => [openai_chat_text(), openai_chat_tools(), deepseek_reasoning()].concat(),
        SniffDialect::OpenAiCompletions => openai_completions(),
        SniffDialect::OpenAiEmbeddings => vec![
            json!({"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.1, -0.2]}],
                   "model": "text-embedding-3-small", "usage": {"prompt_tokens": 8, "total_tokens": 8}})
            .to_string(),
        ],
        SniffDialect::OpenAiResponses => responses_stream(),
        SniffDialect::Anthropic => [ANTHROPIC_TEXT, ANTHROPIC_TOOLS, ANTHROPIC_ERROR]
            .into_iter()
            .flat_map(sse_data)
            .collect(),
        SniffDialect::Gemini => [GEMINI_TEXT, GEMINI_THINKING_TOOLS, GEMINI_MAX_TOKENS]
            .into_iter()
            .flat_map(sse_data)
            .collect(),
    }
}

pub const DIALECTS: [SniffDialect; 6] = SniffDialect::ALL;
