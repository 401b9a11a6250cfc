//! Anthropic Messages.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::lenient::{Count, Obj, Text};
use super::{BodyFacts, Observed, State, note_finish};
use crate::canonical::Usage;

/// Every key the reader acts on contains one of these (`tool_use` matches the block
/// `type` values `tool_use`, `server_tool_use`, `mcp_tool_use`). `ping`,
/// `content_block_stop` and `message_stop` contain none.
pub(super) const NEEDLES: [&str; 6] = [
    "usage",
    "text",
    "thinking",
    "partial_json",
    "input",
    "tool_use",
];

/// `usage` of a message, `message_start.message` or `message_delta`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireUsage {
    input_tokens: Count,
    output_tokens: Count,
    cache_creation_input_tokens: Count,
    cache_read_input_tokens: Count,
}

/// Anthropic's counts as reported, merged across events.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Tally {
    input: u64,
    output: u64,
    cache_read: u64,
    cache_write: u64,
}

impl Tally {
    /// Counts are cumulative, so each field keeps the largest value reported.
    fn merge(&mut self, u: &WireUsage) {
        let keep = |field: &mut u64, c: Count| *field = (*field).max(c.get());
        keep(&mut self.input, u.input_tokens);
        keep(&mut self.output, u.output_tokens);
        keep(&mut self.cache_read, u.cache_read_input_tokens);
        keep(&mut self.cache_write, u.cache_creation_input_tokens);
    }

    /// As `anthropic::convert::usage_to_canonical`: `input_tokens` excludes cache reads
    /// and writes, the canonical count includes them.
    fn canonical(&self) -> Usage {
        Usage {
            input_tokens: self
                .input
                .saturating_add(self.cache_read)
                .saturating_add(self.cache_write),
            output_tokens: self.output,
            cached_input_tokens: self.cache_read,
            cache_write_tokens: self.cache_write,
            reasoning_tokens: 0,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Body {
    usage: Obj<WireUsage>,
}

/// A whole message: its usage and `stop_reason`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Message<'a> {
    usage: Obj<WireUsage>,
    #[serde(borrow)]
    stop_reason: Text<'a>,
}

pub(super) fn body_facts(body: &[u8]) -> BodyFacts {
    let Ok(body) = serde_json::from_slice::<Message>(body) else {
        return BodyFacts::default();
    };
    let mut finish_reasons = Vec::new();
    note_finish(&mut finish_reasons, body.stop_reason.as_str());
    BodyFacts {
        usage: body.usage.0.map(|u| {
            let mut tally = Tally::default();
            tally.merge(&u);
            tally.canonical()
        }),
        finish_reasons,
    }
}

/// Any stream event; the fields read do not depend on its `type`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Event<'a> {
    /// `message_start`.
    message: Obj<Body>,
    /// `message_delta`.
    usage: Obj<WireUsage>,
    /// `content_block_start`.
    #[serde(borrow)]
    content_block: Obj<Block<'a>>,
    /// `content_block_delta`.
    #[serde(borrow)]
    delta: Obj<Delta<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Block<'a> {
    #[serde(borrow, rename = "type")]
    kind: Text<'a>,
    #[serde(borrow)]
    text: Text<'a>,
    #[serde(borrow)]
    thinking: Text<'a>,
    #[serde(borrow)]
    input: Option<&'a RawValue>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Delta<'a> {
    /// `text_delta`.
    #[serde(borrow)]
    text: Text<'a>,
    /// `thinking_delta`.
    #[serde(borrow)]
    thinking: Text<'a>,
    /// `input_json_delta`, of client and server tool calls alike: both are model output.
    #[serde(borrow)]
    partial_json: Text<'a>,
    /// `message_delta`.
    #[serde(borrow)]
    stop_reason: Text<'a>,
}

pub(super) fn observe(data: &str, state: &mut State) -> Observed {
    let Ok(ev) = serde_json::from_str::<Event>(data) else {
        return Observed::default();
    };
    let mut usage_seen = false;
    for u in ev
        .message
        .0
        .and_then(|m| m.usage.0)
        .iter()
        .chain(&ev.usage.0)
    {
        state.anthropic.merge(u);
        usage_seen = true;
    }
    if usage_seen {
        state.usage = Some(state.anthropic.canonical());
    }
    if let Some(block) = &ev.content_block.0 {
        if block.kind.as_str().ends_with("tool_use") {
            state.out.mark_content();
        }
        state.out.push(block.text.as_str());
        state.out.push(block.thinking.as_str());
        // The start usually carries `{}`, the input following as deltas.
        if let Some(input) = block.input.filter(|raw| !is_empty_object(raw.get())) {
            state.out.push(input.get());
        }
    }
    if let Some(delta) = &ev.delta.0 {
        state.out.push(delta.text.as_str());
        state.out.push(delta.thinking.as_str());
        state.out.push(delta.partial_json.as_str());
        note_finish(&mut state.finish_reasons, delta.stop_reason.as_str());
    }
    Observed::default()
}

fn is_empty_object(raw: &str) -> bool {
    raw.strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .is_some_and(|inner| inner.trim_ascii().is_empty())
}
