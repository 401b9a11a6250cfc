//! The answer to a Messages request, before it is rendered whole or as a stream.
//!
//! Blocks, in order: a `thinking` block ([`crate::FAKE_THINKING`], signed with
//! [`crate::FAKE_SIGNATURE`]) when thinking is enabled or adaptive; then either `tool_use`
//! blocks (see [`crate::triggers`]; `tool_choice` `any`/`tool` forces at least one call, to the
//! named tool for `tool`, and `none` forbids them) with stop reason `tool_use`, or one text
//! block with the reply, cut as [`crate::text_answer`] describes (`stop_sequence` /
//! `max_tokens`, else `end_turn`).

use serde_json::Value;

use super::request::{MessagesRequest, ToolChoice};
use crate::config::render_reply;
use crate::state::Shared;
use crate::text_answer::{TextStop, text_answer};
use crate::tokens::text_tokens;
use crate::triggers::{FAKE_SIGNATURE, FAKE_THINKING, plan_calls, tool_calls_for};

pub(crate) enum Block {
    Thinking,
    Text(String),
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
}

pub(crate) struct Answer {
    pub(crate) id: String,
    pub(crate) model: String,
    pub(crate) blocks: Vec<Block>,
    pub(crate) stop_reason: &'static str,
    pub(crate) stop_sequence: Option<String>,
    /// Prompt tokens not read from the cache.
    pub(crate) input_tokens: u64,
    pub(crate) cache_read_input_tokens: u64,
    pub(crate) output_tokens: u64,
}

pub(crate) fn answer(req: &MessagesRequest, shared: &Shared) -> Answer {
    let mut blocks = Vec::new();
    let mut output_tokens = 0;
    if req.thinking {
        blocks.push(Block::Thinking);
        output_tokens += text_tokens(FAKE_THINKING);
    }
    let calls = if req.tools.is_empty() {
        0
    } else {
        match &req.tool_choice {
            ToolChoice::None => 0,
            ToolChoice::Auto => tool_calls_for(&req.prompt),
            ToolChoice::Any | ToolChoice::Tool(_) => tool_calls_for(&req.prompt).max(1),
        }
    };
    let mut candidates: Vec<(&str, &Value)> = req
        .tools
        .iter()
        .map(|t| (t.name.as_str(), &t.input_schema))
        .collect();
    if let ToolChoice::Tool(name) = &req.tool_choice {
        candidates.retain(|(n, _)| n == name);
    }
    let planned = plan_calls(&candidates, calls);
    let (stop_reason, stop_sequence) = if planned.is_empty() {
        let text = text_answer(
            &render_reply(shared.reply_template().as_deref(), &req.model),
            &req.stop_sequences,
            req.max_tokens,
        );
        output_tokens += text.tokens;
        blocks.push(Block::Text(text.text));
        match text.stop {
            TextStop::End => ("end_turn", None),
            TextStop::StopSequence(s) => ("stop_sequence", Some(s)),
            TextStop::MaxTokens => ("max_tokens", None),
        }
    } else {
        for (name, input) in planned {
            output_tokens += text_tokens(&input.to_string());
            blocks.push(Block::ToolUse {
                id: format!("toolu_fake{:016x}", shared.next_id()),
                name,
                input,
            });
        }
        ("tool_use", None)
    };
    Answer {
        id: format!("msg_fake{:016x}", shared.next_id()),
        model: req.model.clone(),
        blocks,
        stop_reason,
        stop_sequence,
        input_tokens: req.prompt_tokens.saturating_sub(req.cached_tokens),
        cache_read_input_tokens: req.cached_tokens,
        output_tokens,
    }
}

/// The signature attached to thinking blocks (kept here so both renderings agree).
pub(crate) const SIGNATURE: &str = FAKE_SIGNATURE;
