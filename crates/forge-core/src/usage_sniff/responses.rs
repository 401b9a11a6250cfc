//! OpenAI Responses API.

use serde::Deserialize;

use super::lenient::{Count, Obj, Text};
use super::{BodyFacts, Observed, State, note_finish};
use crate::canonical::Usage;

/// Events whose `response` carries the final usage.
const TERMINAL: [&str; 3] = [
    "response.completed",
    "response.incomplete",
    "response.failed",
];

/// A streamed transcription's (`/v1/audio/transcriptions`) last event, with its top-level
/// `usage` in the same field names.
const TRANSCRIPT_DONE: &str = "transcript.text.done";

/// Events whose `delta` is model output text.
const TEXT_DELTAS: [&str; 7] = [
    "transcript.text.delta",
    "response.output_text.delta",
    "response.refusal.delta",
    "response.reasoning_text.delta",
    "response.reasoning_summary_text.delta",
    "response.function_call_arguments.delta",
    "response.custom_tool_call_input.delta",
];

/// Text events all have a `delta` key, usage events a terminal `type` value; everything
/// else (`response.created`'s request echo, the `*.done` and `output_item` events that
/// repeat the whole output) is skipped unparsed.
pub(super) const NEEDLES: [&str; 5] = [
    "delta",
    TERMINAL[0],
    TERMINAL[1],
    TERMINAL[2],
    TRANSCRIPT_DONE,
];

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireUsage {
    input_tokens: Count,
    input_tokens_details: Obj<InputDetails>,
    output_tokens: Count,
    output_tokens_details: Obj<OutputDetails>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct InputDetails {
    cached_tokens: Count,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct OutputDetails {
    reasoning_tokens: Count,
}

impl WireUsage {
    /// `input_tokens` includes cached tokens and `output_tokens` reasoning, as canonical
    /// counts do (`responses::convert::usage_from_canonical` is the inverse).
    fn canonical(&self) -> Usage {
        Usage {
            input_tokens: self.input_tokens.get(),
            output_tokens: self.output_tokens.get(),
            cached_input_tokens: self
                .input_tokens_details
                .0
                .as_ref()
                .map_or(0, |d| d.cached_tokens.get()),
            cache_write_tokens: 0,
            reasoning_tokens: self
                .output_tokens_details
                .0
                .as_ref()
                .map_or(0, |d| d.reasoning_tokens.get()),
        }
    }
}

/// The response object (a body, or an event's `response`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Response<'a> {
    usage: Obj<WireUsage>,
    #[serde(borrow)]
    status: Text<'a>,
    #[serde(borrow)]
    incomplete_details: Obj<Incomplete<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Incomplete<'a> {
    #[serde(borrow)]
    reason: Text<'a>,
}

impl Response<'_> {
    /// Why it ended: the incomplete reason (`max_output_tokens`, `content_filter`), else
    /// the status (`completed`, `failed`, `cancelled`).
    fn finish_reason(&self) -> &str {
        match self
            .incomplete_details
            .0
            .as_ref()
            .map(|d| d.reason.as_str())
        {
            Some(reason) if !reason.is_empty() => reason,
            _ => self.status.as_str(),
        }
    }
}

pub(super) fn body_facts(body: &[u8]) -> BodyFacts {
    let Ok(body) = serde_json::from_slice::<Response>(body) else {
        return BodyFacts::default();
    };
    let mut finish_reasons = Vec::new();
    note_finish(&mut finish_reasons, body.finish_reason());
    BodyFacts {
        usage: body.usage.0.map(|u| u.canonical()),
        finish_reasons,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Event<'a> {
    #[serde(borrow, rename = "type")]
    kind: Text<'a>,
    #[serde(borrow)]
    delta: Text<'a>,
    #[serde(borrow)]
    response: Obj<Response<'a>>,
    /// `transcript.text.done`.
    usage: Obj<WireUsage>,
}

pub(super) fn observe(data: &str, state: &mut State) -> Observed {
    let Ok(ev) = serde_json::from_str::<Event>(data) else {
        return Observed::default();
    };
    let kind = ev.kind.as_str();
    if TEXT_DELTAS.contains(&kind) {
        state.out.push(ev.delta.as_str());
    } else if TERMINAL.contains(&kind)
        && let Some(response) = ev.response.0
    {
        note_finish(&mut state.finish_reasons, response.finish_reason());
        if let Some(u) = response.usage.0 {
            state.usage = Some(u.canonical());
        }
    } else if kind == TRANSCRIPT_DONE
        && let Some(u) = ev.usage.0
    {
        note_finish(&mut state.finish_reasons, "completed");
        state.usage = Some(u.canonical());
    }
    Observed::default()
}
