//! An [`Answer`] as a Message object, or as Anthropic's SSE event sequence: `message_start`,
//! then per block `content_block_start` / `content_block_delta`s / `content_block_stop` (a
//! `ping` right after the first `content_block_start`, where Anthropic's own example has it),
//! then `message_delta` (stop reason, output tokens) and `message_stop`.

use bytes::Bytes;
use serde_json::{Value, json};

use super::answer::{Answer, Block, SIGNATURE};
use crate::sse;
use crate::tokens::split_reply;
use crate::triggers::FAKE_THINKING;

fn usage(a: &Answer, output_tokens: u64) -> Value {
    json!({
        "input_tokens": a.input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": a.cache_read_input_tokens,
        "output_tokens": output_tokens,
        "service_tier": "standard",
    })
}

fn block_json(block: &Block) -> Value {
    match block {
        Block::Thinking => {
            json!({"type": "thinking", "thinking": FAKE_THINKING, "signature": SIGNATURE})
        }
        Block::Text(text) => json!({"type": "text", "text": text}),
        Block::ToolUse { id, name, input } => {
            json!({"type": "tool_use", "id": id, "name": name, "input": input})
        }
    }
}

pub(crate) fn message(a: &Answer) -> Value {
    json!({
        "id": a.id,
        "type": "message",
        "role": "assistant",
        "model": a.model,
        "content": a.blocks.iter().map(block_json).collect::<Vec<_>>(),
        "stop_reason": a.stop_reason,
        "stop_sequence": a.stop_sequence,
        "usage": usage(a, a.output_tokens),
    })
}

pub(crate) fn events(a: &Answer, chunks: usize) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut push = |name: &str, value: Value| out.push(sse::named_event(name, &value));
    push(
        "message_start",
        json!({"type": "message_start", "message": {
            "id": a.id,
            "type": "message",
            "role": "assistant",
            "model": a.model,
            "content": [],
            "stop_reason": null,
            "stop_sequence": null,
            "usage": usage(a, 1),
        }}),
    );
    for (index, block) in a.blocks.iter().enumerate() {
        let (start, deltas): (Value, Vec<Value>) = match block {
            Block::Thinking => (
                json!({"type": "thinking", "thinking": "", "signature": ""}),
                split_reply(FAKE_THINKING, chunks)
                    .into_iter()
                    .map(|t| json!({"type": "thinking_delta", "thinking": t}))
                    .chain(std::iter::once(
                        json!({"type": "signature_delta", "signature": SIGNATURE}),
                    ))
                    .collect(),
            ),
            Block::Text(text) => (
                json!({"type": "text", "text": ""}),
                split_reply(text, chunks)
                    .into_iter()
                    .map(|t| json!({"type": "text_delta", "text": t}))
                    .collect(),
            ),
            Block::ToolUse { id, name, input } => (
                json!({"type": "tool_use", "id": id, "name": name, "input": {}}),
                split_reply(&input.to_string(), chunks)
                    .into_iter()
                    .map(|p| json!({"type": "input_json_delta", "partial_json": p}))
                    .collect(),
            ),
        };
        push(
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": start}),
        );
        if index == 0 {
            push("ping", json!({"type": "ping"}));
        }
        for delta in deltas {
            push(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index, "delta": delta}),
            );
        }
        push(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        );
    }
    push(
        "message_delta",
        json!({
            "type": "message_delta",
            "delta": {"stop_reason": a.stop_reason, "stop_sequence": a.stop_sequence},
            "usage": {"output_tokens": a.output_tokens},
        }),
    );
    push("message_stop", json!({"type": "message_stop"}));
    out
}
