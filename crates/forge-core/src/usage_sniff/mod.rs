//! Token usage (and, as a fallback, the delivered output text) read from raw upstream
//! bodies and SSE events that the gateway forwards byte for byte.
//!
//! When the client's dialect equals the upstream's, the server never re-serialises the
//! answer, so accounting cannot take usage from the canonical converters. This module
//! reads only the few fields accounting needs, with small borrowed structs whose fields
//! tolerate any JSON type (a host's odd field must not cost the whole event's counts),
//! and never changes the bytes.
//!
//! # Conventions (the same as the converters', so translated and passed-through requests
//! are billed alike)
//!
//! - `input_tokens` counts every input token: cached reads and cache writes included.
//!   OpenAI's `prompt_tokens`, the Responses API's `input_tokens` and Gemini's
//!   `promptTokenCount` already include them; Anthropic's `input_tokens` excludes both,
//!   so `cache_read_input_tokens` and `cache_creation_input_tokens` are added. Gemini's
//!   `toolUsePromptTokenCount` is added too, as `gemini::convert` does.
//! - `output_tokens` includes reasoning tokens, as OpenAI's `completion_tokens` do:
//!   Gemini's `candidatesTokenCount` excludes thoughts, so `thoughtsTokenCount` is added.
//!   For OpenAI chat and completions it is `max(completion_tokens, total - prompt)`, for
//!   hosts that leave reasoning out of `completion_tokens` (as `openai::convert` does).
//! - `cached_input_tokens` / `cache_write_tokens` are the subsets of `input_tokens` read
//!   from and written to a prompt cache; `reasoning_tokens` the subset of `output_tokens`.
//!   OpenAI-compatible hosts' cache writes are read from
//!   `prompt_tokens_details.cache_write_tokens`, else `usage.cache_creation_input_tokens`.
//! - Embeddings have only input: `usage.prompt_tokens` (else `total_tokens`).
//!
//! # Streams
//!
//! - OpenAI chat / completions: the last non-null `usage` (the final chunk that
//!   `stream_options.include_usage` adds; hosts that repeat it on every chunk report
//!   running totals, so the last one wins).
//! - Anthropic: `message_start.message.usage` merged with `message_delta.usage`, field by
//!   field. Both are cumulative, so the larger value wins: a compatible host's restated
//!   zero cannot erase a real count.
//! - Gemini: the last chunk's `usageMetadata` (each chunk repeats the running totals).
//! - Responses: `response.usage` of `response.completed`, `response.incomplete` or
//!   `response.failed`.
//!
//! # Finish reasons
//!
//! Read alongside usage, for traces (`gen_ai.response.finish_reasons`), as the upstream
//! spells them: OpenAI's `finish_reason`, Anthropic's `stop_reason`, Gemini's
//! `finishReason`, and for the Responses API `incomplete_details.reason`, else `status`.

mod anthropic;
mod gemini;
mod lenient;
mod openai;
mod output;
mod responses;

use crate::canonical::Usage;
pub use output::OUTPUT_TEXT_CAP;
use output::OutputText;

/// The wire format of an upstream answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SniffDialect {
    OpenAiChat,
    OpenAiCompletions,
    OpenAiEmbeddings,
    OpenAiResponses,
    Anthropic,
    Gemini,
}

impl SniffDialect {
    /// Every dialect, for callers that try them all (tests, fuzzing).
    pub const ALL: [SniffDialect; 6] = [
        SniffDialect::OpenAiChat,
        SniffDialect::OpenAiCompletions,
        SniffDialect::OpenAiEmbeddings,
        SniffDialect::OpenAiResponses,
        SniffDialect::Anthropic,
        SniffDialect::Gemini,
    ];

    /// Substrings of which every event this dialect can learn from contains one (when it
    /// holds no `\u` escape); see [`may_matter`].
    fn needles(self) -> &'static [&'static str] {
        match self {
            // `_call` covers `tool_calls` and the legacy `function_call`, the only
            // containers of `arguments` and tool-call names.
            SniffDialect::OpenAiChat => &[
                "usage",
                "content",
                "refusal",
                "reasoning",
                "_call",
                "finish_reason",
            ],
            SniffDialect::OpenAiCompletions => &["usage", "text", "finish_reason"],
            SniffDialect::OpenAiEmbeddings => &["usage"],
            SniffDialect::OpenAiResponses => &responses::NEEDLES,
            SniffDialect::Anthropic => &anthropic::NEEDLES,
            SniffDialect::Gemini => &gemini::NEEDLES,
        }
    }
}

/// The usage a whole (non-stream) response body reports; `None` when it has none or is
/// not JSON. A Gemini body may also be the JSON array a stream without `alt=sse` sends:
/// the last element with `usageMetadata` counts.
pub fn usage_from_body(dialect: SniffDialect, body: &[u8]) -> Option<Usage> {
    body_facts(dialect, body).usage
}

/// What a whole response body reports, read in one parse.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BodyFacts {
    pub usage: Option<Usage>,
    /// Distinct finish reasons, in choice order.
    pub finish_reasons: Vec<String>,
}

/// [`usage_from_body`] with the body's finish reasons.
pub fn body_facts(dialect: SniffDialect, body: &[u8]) -> BodyFacts {
    match dialect {
        SniffDialect::OpenAiChat | SniffDialect::OpenAiCompletions => openai::body_facts(body),
        SniffDialect::OpenAiEmbeddings => BodyFacts {
            usage: openai::embeddings_body_usage(body),
            finish_reasons: Vec::new(),
        },
        SniffDialect::OpenAiResponses => responses::body_facts(body),
        SniffDialect::Anthropic => anthropic::body_facts(body),
        SniffDialect::Gemini => gemini::body_facts(body),
    }
}

/// At most this many distinct finish reasons are kept (one per choice, bounded).
const MAX_FINISH_REASONS: usize = 8;

/// Adds a reason unless it is empty, already there, or the list is full.
fn note_finish(reasons: &mut Vec<String>, reason: &str) {
    if !reason.is_empty()
        && reasons.len() < MAX_FINISH_REASONS
        && !reasons.iter().any(|r| r == reason)
    {
        reasons.push(reason.to_owned());
    }
}

/// What one event told the server about forwarding it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Observed {
    /// An OpenAI chat/completions chunk with no choices and a non-null `usage`: the
    /// extra chunk `stream_options.include_usage` adds, which the server drops when the
    /// client did not ask for it.
    pub usage_only: bool,
}

/// What the dialect readers update.
#[derive(Debug, Default, Clone)]
struct State {
    usage: Option<Usage>,
    anthropic: anthropic::Tally,
    out: OutputText,
    finish_reasons: Vec<String>,
}

/// Follows one upstream SSE stream, event by event, for its usage and output text.
#[derive(Debug, Clone)]
pub struct StreamSniffer {
    dialect: SniffDialect,
    state: State,
}

impl StreamSniffer {
    pub fn new(dialect: SniffDialect) -> Self {
        StreamSniffer {
            dialect,
            state: State::default(),
        }
    }

    pub fn dialect(&self) -> SniffDialect {
        self.dialect
    }

    /// Reads one event's `data:` payload. `[DONE]`, blank payloads, events that are not
    /// JSON and events of unknown shape change nothing.
    pub fn observe(&mut self, data: &str) -> Observed {
        self.observe_filtered(data, true)
    }

    fn observe_filtered(&mut self, data: &str, prefilter: bool) -> Observed {
        let data = data.trim_ascii();
        if data.is_empty() || data == "[DONE]" {
            return Observed::default();
        }
        if prefilter && !may_matter(data, self.dialect.needles()) {
            return Observed::default();
        }
        let state = &mut self.state;
        match self.dialect {
            SniffDialect::OpenAiChat => openai::observe_chat(data, state),
            SniffDialect::OpenAiCompletions => openai::observe_completions(data, state),
            SniffDialect::OpenAiEmbeddings => {
                if let Some(u) = openai::embeddings_body_usage(data.as_bytes()) {
                    state.usage = Some(u);
                }
                Observed::default()
            }
            SniffDialect::OpenAiResponses => responses::observe(data, state),
            SniffDialect::Anthropic => anthropic::observe(data, state),
            SniffDialect::Gemini => gemini::observe(data, state),
        }
    }

    /// The latest usage the stream reported; `None` until it reports any.
    pub fn usage(&self) -> Option<Usage> {
        self.state.usage
    }

    /// Text, reasoning and tool-call arguments as delivered, up to [`OUTPUT_TEXT_CAP`]
    /// bytes.
    pub fn output_text(&self) -> &str {
        self.state.out.text()
    }

    /// Bytes of output beyond [`OUTPUT_TEXT_CAP`], counted but not kept.
    pub fn output_overflow_bytes(&self) -> usize {
        self.state.out.overflow()
    }

    /// The finish reasons the stream reported so far (see the module docs).
    pub fn finish_reasons(&self) -> &[String] {
        &self.state.finish_reasons
    }

    /// Whether any output (text, reasoning, a tool call) was delivered.
    pub fn saw_content(&self) -> bool {
        self.state.out.saw_content()
    }
}

/// Whether an event may hold a field the dialect reads: false only when it provably
/// holds none, so skipping it cannot change the result.
///
/// JSON can spell a letter in a key or string only literally or as a `\uXXXX` escape
/// (`\n`, `\"` and the like stand for non-letters). So without any `\u` in the raw text,
/// every key and string value appears literally, and an event lacking all of the
/// dialect's needles has none of the keys (or `type` values) the reader acts on.
fn may_matter(data: &str, needles: &[&str]) -> bool {
    data.contains("\\u") || needles.iter().any(|n| data.contains(n))
}

#[cfg(test)]
mod anthropic_tests;
#[cfg(test)]
mod finish_tests;
#[cfg(test)]
mod gemini_tests;
#[cfg(test)]
mod openai_tests;
#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod responses_tests;
#[cfg(test)]
mod test_support;
