//! The answer to a validated `/v2/chat` request, whole or as Cohere's stream events: tool
//! calls when the last user turn has a trigger word (see [`crate::triggers`]) and tools are
//! declared (`tool_choice: REQUIRED` forces one, `NONE` forbids them), else the reply text cut
//! at `stop_sequences` / `max_tokens`.

use bytes::Bytes;
use serde_json::{Value, json};

use crate::config::render_reply;
use crate::sse;
use crate::state::Shared;
use crate::text_answer::{TextStop, text_answer};
use crate::tokens::{split_reply, text_tokens};
use crate::triggers::{FAKE_THINKING, plan_calls, tool_calls_for};

/// What the routes read out of a valid request.
pub(crate) struct Chat {
    pub(crate) model: String,
    pub(crate) prompt: String,
    pub(crate) prompt_tokens: u64,
    pub(crate) tools: Vec<(String, Value)>,
    pub(crate) tool_choice: Option<String>,
    /// The last message is a tool result: answer in text.
    pub(crate) after_tool: bool,
    pub(crate) stop_sequences: Vec<String>,
    pub(crate) max_tokens: Option<u64>,
    /// `thinking: {"type": "enabled"}`: the answer starts with a thinking block.
    pub(crate) thinking: bool,
}

pub(crate) struct Answer {
    id: String,
    thinking: bool,
    text: Option<String>,
    calls: Vec<(String, String, Value)>,
    finish: &'static str,
    input_tokens: u64,
    output_tokens: u64,
}

pub(crate) fn answer(chat: &Chat, shared: &Shared) -> Answer {
    let wanted = match chat.tool_choice.as_deref() {
        _ if chat.tools.is_empty() || chat.after_tool => 0,
        Some("NONE") => 0,
        Some("REQUIRED") => tool_calls_for(&chat.prompt).max(1),
        _ => tool_calls_for(&chat.prompt),
    };
    let candidates: Vec<(&str, &Value)> = chat.tools.iter().map(|(n, s)| (n.as_str(), s)).collect();
    let planned = plan_calls(&candidates, wanted);
    let id = format!(
        "{:08x}-fake-4000-8000-{:012x}",
        shared.next_id(),
        shared.next_id()
    );
    if planned.is_empty() {
        let text = text_answer(
            &render_reply(shared.reply_template().as_deref(), &chat.model),
            &chat.stop_sequences,
            chat.max_tokens,
        );
        let finish = match text.stop {
            TextStop::End => "COMPLETE",
            TextStop::StopSequence(_) => "STOP_SEQUENCE",
            TextStop::MaxTokens => "MAX_TOKENS",
        };
        return Answer {
            id,
            thinking: chat.thinking,
            output_tokens: text.tokens + thinking_tokens(chat),
            text: Some(text.text),
            calls: Vec::new(),
            finish,
            input_tokens: chat.prompt_tokens,
        };
    }
    let calls: Vec<(String, String, Value)> = planned
        .into_iter()
        .map(|(name, args)| (format!("{name}_{:012x}", shared.next_id()), name, args))
        .collect();
    Answer {
        id,
        thinking: chat.thinking,
        output_tokens: thinking_tokens(chat)
            + calls
                .iter()
                .map(|(_, _, a)| text_tokens(&a.to_string()))
                .sum::<u64>(),
        text: None,
        calls,
        finish: "TOOL_CALL",
        input_tokens: chat.prompt_tokens,
    }
}

fn thinking_tokens(chat: &Chat) -> u64 {
    if chat.thinking {
        text_tokens(FAKE_THINKING)
    } else {
        0
    }
}

/// The tool plan a tool-calling answer starts with.
const PLAN: &str = "I will call the tools to answer.";

impl Answer {
    fn usage(&self) -> Value {
        // Cohere counts its own prompt template in `tokens`, not in what it bills.
        json!({
            "billed_units": { "input_tokens": self.input_tokens, "output_tokens": self.output_tokens },
            "tokens": { "input_tokens": self.input_tokens + 180, "output_tokens": self.output_tokens + 2 },
        })
    }

    pub(crate) fn whole(&self) -> Value {
        let mut message = json!({ "role": "assistant" });
        let mut content = Vec::new();
        if self.thinking {
            content.push(json!({ "type": "thinking", "thinking": FAKE_THINKING }));
        }
        if let Some(text) = &self.text {
            content.push(json!({ "type": "text", "text": text }));
        }
        if !content.is_empty() {
            message["content"] = Value::Array(content);
        }
        if self.text.is_none() {
            message["tool_plan"] = json!(PLAN);
            message["tool_calls"] = self
                .calls
                .iter()
                .map(|(id, name, args)| {
                    json!({ "id": id, "type": "function",
                    "function": { "name": name, "arguments": args.to_string() } })
                })
                .collect();
        }
        json!({ "id": self.id, "finish_reason": self.finish, "message": message, "usage": self.usage() })
    }

    /// Named SSE events (`event: content-delta` ...), as Cohere streams them.
    pub(crate) fn events(&self, chunks: usize) -> Vec<Bytes> {
        let ev = |v: Value| sse::named_event(v["type"].as_str().unwrap_or_default(), &v);
        let mut out = vec![ev(json!({ "type": "message-start", "id": self.id,
            "delta": { "message": { "role": "assistant", "content": [], "tool_plan": "",
                "tool_calls": [], "citations": [] } } }))];
        let mut index = 0;
        if self.thinking {
            out.push(ev(json!({ "type": "content-start", "index": index,
                "delta": { "message": { "content": { "type": "thinking", "thinking": "" } } } })));
            for piece in split_reply(FAKE_THINKING, chunks) {
                out.push(ev(json!({ "type": "content-delta", "index": index,
                    "delta": { "message": { "content": { "thinking": piece } } } })));
            }
            out.push(ev(json!({ "type": "content-end", "index": index })));
            index += 1;
        }
        if let Some(text) = &self.text {
            out.push(ev(json!({ "type": "content-start", "index": index,
                "delta": { "message": { "content": { "type": "text", "text": "" } } } })));
            for piece in split_reply(text, chunks) {
                out.push(ev(json!({ "type": "content-delta", "index": index,
                    "delta": { "message": { "content": { "text": piece } } } })));
            }
            out.push(ev(json!({ "type": "content-end", "index": index })));
        } else {
            out.push(ev(json!({ "type": "tool-plan-delta",
                "delta": { "message": { "tool_plan": PLAN } } })));
            for (index, (id, name, args)) in self.calls.iter().enumerate() {
                out.push(ev(json!({ "type": "tool-call-start", "index": index,
                    "delta": { "message": { "tool_calls": { "id": id, "type": "function",
                        "function": { "name": name, "arguments": "" } } } } })));
                for piece in split_reply(&args.to_string(), chunks) {
                    out.push(ev(json!({ "type": "tool-call-delta", "index": index,
                        "delta": { "message": { "tool_calls": { "function": { "arguments": piece } } } } })));
                }
                out.push(ev(json!({ "type": "tool-call-end", "index": index })));
            }
        }
        out.push(ev(json!({ "type": "message-end",
            "delta": { "finish_reason": self.finish, "usage": self.usage() } })));
        out
    }
}
