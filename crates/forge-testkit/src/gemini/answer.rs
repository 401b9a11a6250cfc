//! The answer to a `generateContent` request, whole or as stream chunks.
//!
//! Parts, in order: a thought part (`thought: true`, [`crate::FAKE_THINKING`], with
//! `thoughtSignature` [`crate::FAKE_SIGNATURE`]) when `thinkingConfig.includeThoughts`; then
//! either `functionCall` parts (see [`crate::triggers`]; mode `ANY` forces at least one call,
//! `NONE` forbids them, `allowedFunctionNames` narrows the choice) or one text part with the
//! reply cut as [`crate::text_answer`] describes. `finishReason` is `MAX_TOKENS` when cut at
//! `maxOutputTokens`, else `STOP` (stop sequences and function calls included, as Gemini
//! reports them). `usageMetadata.thoughtsTokenCount` appears when the model thinks;
//! `cachedContentTokenCount` (a fixed [`CACHED_TOKENS`], part of the prompt count) only when
//! the request names a `cachedContent`.

use bytes::Bytes;
use serde_json::{Value, json};

use super::validate::{CallingMode, GenerateRequest};
use crate::config::render_reply;
use crate::sse;
use crate::state::Shared;
use crate::text_answer::{TextStop, text_answer};
use crate::tokens::{split_reply, text_tokens};
use crate::triggers::{FAKE_SIGNATURE, FAKE_THINKING, plan_calls, tool_calls_for};

/// Tokens reported as read from a named `cachedContent`.
pub const CACHED_TOKENS: u64 = 32;

pub(crate) struct Answer {
    model: String,
    response_id: String,
    thought: Option<Value>,
    /// Function call parts, or one text part.
    parts: Vec<Value>,
    /// The text, when the answer is text (streamed in pieces).
    text: Option<String>,
    finish_reason: &'static str,
    usage: Value,
}

pub(crate) fn answer(req: &GenerateRequest, model: &str, shared: &Shared) -> Answer {
    let thought = req.include_thoughts.then(
        || json!({"text": FAKE_THINKING, "thought": true, "thoughtSignature": FAKE_SIGNATURE}),
    );
    let thoughts_tokens = if req.thinking {
        text_tokens(FAKE_THINKING)
    } else {
        0
    };
    let candidates: Vec<(&str, &Value)> = req
        .functions
        .iter()
        .filter(|(name, _)| req.allowed.as_ref().is_none_or(|a| a.contains(name)))
        .map(|(name, schema)| (name.as_str(), schema))
        .collect();
    let count = match req.mode {
        _ if candidates.is_empty() => 0,
        CallingMode::None => 0,
        CallingMode::Auto => tool_calls_for(&req.prompt),
        CallingMode::Any => tool_calls_for(&req.prompt).max(1),
    };
    let calls = plan_calls(&candidates, count);
    let (parts, text, finish_reason, output_tokens) = if calls.is_empty() {
        let t = text_answer(
            &render_reply(shared.reply_template().as_deref(), model),
            &req.stop_sequences,
            req.max_output_tokens,
        );
        let finish = match t.stop {
            TextStop::MaxTokens => "MAX_TOKENS",
            TextStop::End | TextStop::StopSequence(_) => "STOP",
        };
        (
            vec![json!({"text": t.text})],
            Some(t.text),
            finish,
            t.tokens,
        )
    } else {
        let mut tokens = 0;
        let parts = calls
            .into_iter()
            .enumerate()
            .map(|(i, (name, args))| {
                tokens += text_tokens(&args.to_string());
                let mut part = json!({"functionCall": {"name": name, "args": args}});
                if i == 0 && req.thinking {
                    // Gemini signs the first function call of a thinking turn.
                    part["thoughtSignature"] = json!(FAKE_SIGNATURE);
                }
                part
            })
            .collect();
        (parts, None, "STOP", tokens)
    };
    let cached = if req.cached { CACHED_TOKENS } else { 0 };
    let prompt = req.prompt_tokens + cached;
    let mut usage = json!({
        "promptTokenCount": prompt,
        "candidatesTokenCount": output_tokens,
        "totalTokenCount": prompt + output_tokens + thoughts_tokens,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
    });
    if req.thinking {
        usage["thoughtsTokenCount"] = json!(thoughts_tokens);
    }
    if req.cached {
        usage["cachedContentTokenCount"] = json!(cached);
    }
    Answer {
        model: model.to_owned(),
        response_id: format!("fakeResp{:016x}", shared.next_id()),
        thought,
        parts,
        text,
        finish_reason,
        usage,
    }
}

impl Answer {
    fn response(&self, parts: Vec<Value>, last: bool) -> Value {
        let mut candidate = json!({"content": {"parts": parts, "role": "model"}, "index": 0});
        let mut body = json!({
            "candidates": [],
            "modelVersion": self.model,
            "responseId": self.response_id,
        });
        if last {
            candidate["finishReason"] = json!(self.finish_reason);
            body["usageMetadata"] = self.usage.clone();
        }
        body["candidates"] = json!([candidate]);
        body
    }

    /// The whole `GenerateContentResponse`.
    pub(crate) fn whole(&self) -> Value {
        let parts = self.thought.iter().chain(&self.parts).cloned().collect();
        self.response(parts, true)
    }

    /// The stream's responses: the thought, then the text in pieces (or all function calls
    /// at once); the last carries `finishReason` and `usageMetadata`.
    pub(crate) fn chunks(&self, pieces: usize) -> Vec<Value> {
        let mut groups: Vec<Vec<Value>> = Vec::new();
        if let Some(thought) = &self.thought {
            groups.push(vec![thought.clone()]);
        }
        match &self.text {
            Some(text) => {
                let split = split_reply(text, pieces);
                if split.is_empty() {
                    groups.push(vec![json!({"text": ""})]);
                }
                groups.extend(split.into_iter().map(|t| vec![json!({"text": t})]));
            }
            None => groups.push(self.parts.clone()),
        }
        let last = groups.len().saturating_sub(1);
        groups
            .into_iter()
            .enumerate()
            .map(|(i, parts)| self.response(parts, i == last))
            .collect()
    }
}

/// `alt=sse` framing.
pub(crate) fn sse_events(chunks: &[Value]) -> Vec<Bytes> {
    chunks.iter().map(sse::crlf_event).collect()
}

/// Without `alt=sse`, Google streams one JSON array, element by element.
pub(crate) fn json_array_pieces(chunks: &[Value]) -> Vec<Bytes> {
    let last = chunks.len().saturating_sub(1);
    chunks
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let open = if i == 0 { "[" } else { ",\r\n" };
            let close = if i == last { "]" } else { "" };
            Bytes::from(format!("{open}{c}{close}"))
        })
        .collect()
}
