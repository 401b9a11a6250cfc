//! OpenAI chat completions, completions and embeddings (and compatible hosts).

use serde::Deserialize;

use super::lenient::{Count, List, Obj, Text};
use super::{BodyFacts, Observed, State, note_finish};
use crate::canonical::Usage;

/// `usage` of chat completions and completions (`CompletionUsage`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireUsage {
    prompt_tokens: Count,
    completion_tokens: Count,
    total_tokens: Count,
    prompt_tokens_details: Obj<PromptDetails>,
    completion_tokens_details: Obj<CompletionDetails>,
    /// Hosts fronting Anthropic models report cache writes here.
    cache_creation_input_tokens: Count,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PromptDetails {
    cached_tokens: Count,
    cache_write_tokens: Count,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CompletionDetails {
    reasoning_tokens: Count,
}

impl WireUsage {
    /// As `openai::convert::usage_to_canonical`.
    fn canonical(&self) -> Usage {
        let prompt = self.prompt_tokens_details.0.as_ref();
        let input = self.prompt_tokens.get();
        Usage {
            input_tokens: input,
            // Some hosts leave reasoning out of completion_tokens but count it in the total.
            output_tokens: self
                .completion_tokens
                .get()
                .max(self.total_tokens.get().saturating_sub(input)),
            cached_input_tokens: prompt.map_or(0, |p| p.cached_tokens.get()),
            cache_write_tokens: prompt
                .and_then(|p| p.cache_write_tokens.0)
                .or(self.cache_creation_input_tokens.0)
                .unwrap_or(0),
            reasoning_tokens: self
                .completion_tokens_details
                .0
                .as_ref()
                .map_or(0, |c| c.reasoning_tokens.get()),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Body<'a> {
    usage: Obj<WireUsage>,
    #[serde(borrow)]
    choices: List<Finish<'a>>,
}

/// A choice's `finish_reason` (chat and completions, whole bodies and chunks alike).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Finish<'a> {
    #[serde(borrow)]
    finish_reason: Text<'a>,
}

pub(super) fn body_facts(body: &[u8]) -> BodyFacts {
    let Ok(body) = serde_json::from_slice::<Body>(body) else {
        return BodyFacts::default();
    };
    let mut finish_reasons = Vec::new();
    for choice in &body.choices.0 {
        note_finish(&mut finish_reasons, choice.finish_reason.as_str());
    }
    BodyFacts {
        usage: body.usage.0.map(|u| u.canonical()),
        finish_reasons,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EmbeddingUsage {
    prompt_tokens: Count,
    total_tokens: Count,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EmbeddingBody {
    usage: Obj<EmbeddingUsage>,
}

pub(super) fn embeddings_body_usage(body: &[u8]) -> Option<Usage> {
    let body: EmbeddingBody = serde_json::from_slice(body).ok()?;
    body.usage.0.map(|u| Usage {
        input_tokens: u.prompt_tokens.0.or(u.total_tokens.0).unwrap_or(0),
        ..Usage::default()
    })
}

/// `chat.completion.chunk`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ChatChunk<'a> {
    #[serde(borrow)]
    choices: List<ChatChoice<'a>>,
    usage: Obj<WireUsage>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ChatChoice<'a> {
    #[serde(borrow)]
    delta: Obj<Delta<'a>>,
    #[serde(borrow)]
    finish_reason: Text<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Delta<'a> {
    #[serde(borrow)]
    content: Text<'a>,
    #[serde(borrow)]
    refusal: Text<'a>,
    /// DeepSeek and several compatible hosts.
    #[serde(borrow)]
    reasoning_content: Text<'a>,
    /// OpenRouter, vLLM and others.
    #[serde(borrow)]
    reasoning: Text<'a>,
    #[serde(borrow)]
    tool_calls: List<ToolCallDelta<'a>>,
    /// The pre-`tools` function calling.
    #[serde(borrow)]
    function_call: Obj<FunctionDelta<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ToolCallDelta<'a> {
    #[serde(borrow)]
    id: Text<'a>,
    #[serde(borrow)]
    function: Obj<FunctionDelta<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FunctionDelta<'a> {
    #[serde(borrow)]
    name: Text<'a>,
    #[serde(borrow)]
    arguments: Text<'a>,
}

impl FunctionDelta<'_> {
    fn record(&self, state: &mut State) {
        if !self.name.as_str().is_empty() {
            state.out.mark_content();
        }
        state.out.push(self.arguments.as_str());
    }
}

pub(super) fn observe_chat(data: &str, state: &mut State) -> Observed {
    let Ok(chunk) = serde_json::from_str::<ChatChunk>(data) else {
        return Observed::default();
    };
    for choice in &chunk.choices.0 {
        note_finish(&mut state.finish_reasons, choice.finish_reason.as_str());
    }
    // Every choice counts: with `n > 1` all of them are generated and billed.
    for delta in chunk.choices.0.iter().filter_map(|c| c.delta.0.as_ref()) {
        for text in [
            &delta.reasoning_content,
            &delta.reasoning,
            &delta.content,
            &delta.refusal,
        ] {
            state.out.push(text.as_str());
        }
        for call in &delta.tool_calls.0 {
            if !call.id.as_str().is_empty() {
                state.out.mark_content();
            }
            if let Some(f) = &call.function.0 {
                f.record(state);
            }
        }
        if let Some(f) = &delta.function_call.0 {
            f.record(state);
        }
    }
    take_usage(chunk.choices.0.is_empty(), chunk.usage, state)
}

/// A streamed `text_completion`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CompletionChunk<'a> {
    #[serde(borrow)]
    choices: List<CompletionChoice<'a>>,
    usage: Obj<WireUsage>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CompletionChoice<'a> {
    #[serde(borrow)]
    text: Text<'a>,
    #[serde(borrow)]
    finish_reason: Text<'a>,
}

pub(super) fn observe_completions(data: &str, state: &mut State) -> Observed {
    let Ok(chunk) = serde_json::from_str::<CompletionChunk>(data) else {
        return Observed::default();
    };
    for choice in &chunk.choices.0 {
        state.out.push(choice.text.as_str());
        note_finish(&mut state.finish_reasons, choice.finish_reason.as_str());
    }
    take_usage(chunk.choices.0.is_empty(), chunk.usage, state)
}

fn take_usage(no_choices: bool, usage: Obj<WireUsage>, state: &mut State) -> Observed {
    match usage.0 {
        Some(u) => {
            state.usage = Some(u.canonical());
            Observed {
                usage_only: no_choices,
            }
        }
        None => Observed::default(),
    }
}
