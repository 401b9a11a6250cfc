#![allow(clippy::unwrap_used, clippy::panic)]

use serde_json::json;

use super::test_support::*;
use super::*;
use crate::openai::convert::{chunk_to_events, usage_to_canonical};
use crate::openai::{ChatCompletionChunk, CompletionUsage};

fn converted(usage: serde_json::Value) -> Usage {
    usage_to_canonical(&serde_json::from_value::<CompletionUsage>(usage).unwrap())
}

#[test]
fn chat_stream_with_include_usage() {
    let events = openai_chat_text();
    let (s, observed) = sniff(SniffDialect::OpenAiChat, &events);
    let want = Usage {
        input_tokens: 1200,
        output_tokens: 340,
        cached_input_tokens: 1024,
        cache_write_tokens: 0,
        reasoning_tokens: 256,
    };
    assert_eq!(s.usage(), Some(want));
    assert_eq!(want, converted(openai_usage()));
    // The converter the translating path uses reads the same usage from the same chunk.
    let last: ChatCompletionChunk = serde_json::from_str(&events[4]).unwrap();
    assert!(chunk_to_events(&last).contains(&crate::canonical::StreamEvent::Usage(want)));
    // Only the extra chunk is usage-only; `[DONE]` is ignored.
    let flags: Vec<bool> = observed.iter().map(|o| o.usage_only).collect();
    assert_eq!(flags, [false, false, false, false, true, false]);
    assert_eq!(s.output_text(), "Hello, wörld \"quoted\"\n");
    assert!(s.saw_content());
    assert_eq!(s.output_overflow_bytes(), 0);
}

#[test]
fn chat_stream_without_usage() {
    let (s, observed) = sniff(SniffDialect::OpenAiChat, &openai_chat_tools());
    assert_eq!(s.usage(), None);
    assert!(observed.iter().all(|o| !o.usage_only));
    assert_eq!(s.output_text(), "{\"location\":\"Paris\"}{}");
    assert!(s.saw_content());
}

#[test]
fn a_tool_call_without_arguments_is_content() {
    let (s, _) = sniff(
        SniffDialect::OpenAiChat,
        &[json!({"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "id": "call_1", "type": "function", "function": {"name": "ping"}}
        ]}}]})
        .to_string()],
    );
    assert!(s.saw_content());
    assert_eq!(s.output_text(), "");
}

#[test]
fn reasoning_content_and_usage_on_a_choice_chunk() {
    let (s, observed) = sniff(SniffDialect::OpenAiChat, &deepseek_reasoning());
    assert_eq!(s.output_text(), "Thinking.Answer");
    // DeepSeek's usage rides on a chunk with choices: not the include_usage chunk.
    assert!(observed.iter().all(|o| !o.usage_only));
    assert_eq!(
        s.usage(),
        Some(Usage {
            input_tokens: 13,
            output_tokens: 40,
            reasoning_tokens: 30,
            ..Usage::default()
        })
    );
}

#[test]
fn other_hosts_chunk_shapes() {
    let events = [
        // Azure: a first chunk with no choices and no usage (prompt filter results).
        json!({"choices": [], "created": 0, "id": "", "model": "", "object": "",
               "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}]}),
        // vLLM continuous usage stats: running totals on every chunk.
        json!({"choices": [{"index": 0, "delta": {"content": "a"}}],
               "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}}),
        // OpenRouter-style `reasoning`, and a second choice (n = 2).
        json!({"choices": [{"index": 0, "delta": {"reasoning": "r"}},
                           {"index": 1, "delta": {"content": "b", "reasoning": {"odd": true}}}],
               "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}),
        // A usage-only chunk without a `choices` key at all.
        json!({"usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9}}),
        // A usage-only chunk whose usage is null, then one whose usage is not an object.
        json!({"choices": [], "usage": null}),
        json!({"choices": [], "usage": "n/a"}),
        // The legacy function_call delta.
        json!({"choices": [{"index": 0, "delta": {"function_call": {"name": "f", "arguments": "{}"}}}]}),
    ];
    let events: Vec<String> = events.iter().map(|e| e.to_string()).collect();
    let (s, observed) = sniff(SniffDialect::OpenAiChat, &events);
    let flags: Vec<bool> = observed.iter().map(|o| o.usage_only).collect();
    assert_eq!(flags, [false, false, false, true, false, false, false]);
    assert_eq!(s.output_text(), "arb{}");
    assert_eq!(s.usage().unwrap().output_tokens, 4);
}

#[test]
fn hosts_that_leave_reasoning_out_of_completion_tokens() {
    let usage = json!({"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 40,
                       "completion_tokens_details": {"reasoning_tokens": 25}});
    let body = json!({"id": "x", "choices": [], "usage": usage}).to_string();
    let got = usage_from_body(SniffDialect::OpenAiChat, body.as_bytes()).unwrap();
    assert_eq!(got, converted(usage));
    assert_eq!(got.output_tokens, 30);
}

#[test]
fn cache_writes_of_compatible_hosts() {
    for usage in [
        json!({"prompt_tokens": 100, "completion_tokens": 1, "total_tokens": 101,
               "prompt_tokens_details": {"cached_tokens": 20, "cache_write_tokens": 30}}),
        json!({"prompt_tokens": 100, "completion_tokens": 1, "total_tokens": 101,
               "prompt_tokens_details": {"cached_tokens": 20}, "cache_creation_input_tokens": 30}),
        json!({"prompt_tokens": null, "completion_tokens": null, "total_tokens": null,
               "prompt_tokens_details": null, "completion_tokens_details": null}),
    ] {
        let body = json!({"usage": usage}).to_string();
        let got = usage_from_body(SniffDialect::OpenAiChat, body.as_bytes()).unwrap();
        assert_eq!(got, converted(usage), "{body}");
    }
}

#[test]
fn chat_and_completions_bodies() {
    let chat = json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi", "refusal": null,
                     "annotations": []}, "logprobs": null, "finish_reason": "stop"}],
        "usage": openai_usage(), "service_tier": "default", "system_fingerprint": "fp_1"
    })
    .to_string();
    assert_eq!(
        usage_from_body(SniffDialect::OpenAiChat, chat.as_bytes()),
        Some(converted(openai_usage()))
    );
    let completions = json!({
        "id": "cmpl-1", "object": "text_completion", "created": 1, "model": "gpt-3.5-turbo-instruct",
        "choices": [{"text": "hi", "index": 0, "logprobs": null, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
    })
    .to_string();
    let got = usage_from_body(SniffDialect::OpenAiCompletions, completions.as_bytes()).unwrap();
    assert_eq!((got.input_tokens, got.output_tokens), (3, 1));
    for none in [
        &b"{\"id\": \"x\", \"choices\": []}"[..],
        b"{\"error\": {\"message\": \"bad\", \"type\": \"invalid_request_error\"}}",
        b"{\"usage\": null}",
        b"not json",
        b"",
        b"[1, 2]",
    ] {
        assert_eq!(usage_from_body(SniffDialect::OpenAiChat, none), None);
    }
}

#[test]
fn embeddings_body() {
    let body = &corpus(SniffDialect::OpenAiEmbeddings)[0];
    assert_eq!(
        usage_from_body(SniffDialect::OpenAiEmbeddings, body.as_bytes()),
        Some(Usage {
            input_tokens: 8,
            ..Usage::default()
        })
    );
    let total_only = br#"{"data": [], "usage": {"total_tokens": 9}}"#;
    assert_eq!(
        usage_from_body(SniffDialect::OpenAiEmbeddings, total_only)
            .unwrap()
            .input_tokens,
        9
    );
}

#[test]
fn completions_stream() {
    let (s, observed) = sniff(SniffDialect::OpenAiCompletions, &openai_completions());
    assert_eq!(s.output_text(), "Once uponA time");
    let flags: Vec<bool> = observed.iter().map(|o| o.usage_only).collect();
    assert_eq!(flags, [false, false, false, false, false, true, false]);
    assert_eq!(
        s.usage(),
        Some(Usage {
            input_tokens: 6,
            output_tokens: 5,
            ..Usage::default()
        })
    );
}

#[test]
fn escaped_text_is_decoded() {
    let events = [
        r#"{"choices":[{"index":0,"delta":{"content":"caf\u00e9 \ud83d\ude00\n"}}]}"#,
        // Keys spelled with escapes are still keys: the prefilter must not skip them.
        r#"{"choices":[],"\u0075sage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}"#,
    ];
    let (s, observed) = sniff(SniffDialect::OpenAiChat, &events);
    assert_eq!(s.output_text(), "café 😀\n");
    assert!(observed[1].usage_only);
    assert_eq!(s.usage().unwrap().output_tokens, 2);
}

#[test]
fn the_prefilter_skips_chunks_without_readable_fields() {
    let needles = SniffDialect::OpenAiChat.needles();
    // A role-only chunk, as some hosts open a stream.
    let role = json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
        "choices": [{"index": 0, "delta": {"role": "assistant"}}]});
    assert!(!may_matter(&role.to_string(), needles));
    // A finishing chunk is read, for its finish reason.
    let finish = json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]});
    assert!(may_matter(&finish.to_string(), needles));
    assert!(may_matter(&openai_chat_text()[4], needles));
}
