//! Gemini `generateContent` / `streamGenerateContent`.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::lenient::{Count, List, Obj, Text};
use super::{BodyFacts, Observed, State, note_finish};
use crate::canonical::Usage;

/// The keys the reader acts on: `usageMetadata`, a part's `text` (answer or thought),
/// `functionCall` and a candidate's `finishReason`.
pub(super) const NEEDLES: [&str; 4] = ["usageMetadata", "text", "functionCall", "finishReason"];

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct UsageMetadata {
    prompt_token_count: Count,
    candidates_token_count: Count,
    cached_content_token_count: Count,
    thoughts_token_count: Count,
    tool_use_prompt_token_count: Count,
}

impl UsageMetadata {
    /// As `gemini::convert::usage_to_canonical`: `promptTokenCount` already includes
    /// cached content; `candidatesTokenCount` excludes thoughts, which canonical output
    /// includes.
    fn canonical(&self) -> Usage {
        let thoughts = self.thoughts_token_count.get();
        Usage {
            input_tokens: self
                .prompt_token_count
                .get()
                .saturating_add(self.tool_use_prompt_token_count.get()),
            output_tokens: self.candidates_token_count.get().saturating_add(thoughts),
            cached_input_tokens: self.cached_content_token_count.get(),
            cache_write_tokens: 0,
            reasoning_tokens: thoughts,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct BodyUsage<'a> {
    usage_metadata: Obj<UsageMetadata>,
    #[serde(borrow)]
    candidates: List<Finish<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Finish<'a> {
    #[serde(borrow)]
    finish_reason: Text<'a>,
}

pub(super) fn body_facts(body: &[u8]) -> BodyFacts {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let chunks = if first == Some(&b'[') {
        // A stream without `alt=sse`: one array of responses.
        serde_json::from_slice::<List<BodyUsage>>(body).map(|l| l.0)
    } else {
        serde_json::from_slice::<BodyUsage>(body).map(|b| vec![b])
    };
    let Ok(chunks) = chunks else {
        return BodyFacts::default();
    };
    let mut finish_reasons = Vec::new();
    for candidate in chunks.iter().flat_map(|c| &c.candidates.0) {
        note_finish(&mut finish_reasons, candidate.finish_reason.as_str());
    }
    BodyFacts {
        usage: chunks
            .into_iter()
            .rev()
            .find_map(|c| c.usage_metadata.0)
            .map(|u| u.canonical()),
        finish_reasons,
    }
}

/// A `GenerateContentResponse`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Chunk<'a> {
    #[serde(borrow)]
    candidates: List<Candidate<'a>>,
    usage_metadata: Obj<UsageMetadata>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
#[serde(rename_all = "camelCase")]
struct Candidate<'a> {
    #[serde(borrow)]
    content: Obj<Content<'a>>,
    #[serde(borrow)]
    finish_reason: Text<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Content<'a> {
    #[serde(borrow)]
    parts: List<Part<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Part<'a> {
    /// Answer text, or thought text when `thought` is true: both are output.
    #[serde(borrow)]
    text: Text<'a>,
    #[serde(borrow)]
    function_call: Obj<FunctionCall<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FunctionCall<'a> {
    /// Calls arrive whole: the arguments are an object, kept as its JSON text.
    #[serde(borrow)]
    args: Option<&'a RawValue>,
}

pub(super) fn observe(data: &str, state: &mut State) -> Observed {
    let Ok(chunk) = serde_json::from_str::<Chunk>(data) else {
        return Observed::default();
    };
    for candidate in &chunk.candidates.0 {
        note_finish(&mut state.finish_reasons, candidate.finish_reason.as_str());
    }
    // Every candidate counts: with `candidateCount > 1` all of them are billed.
    for content in chunk
        .candidates
        .0
        .iter()
        .filter_map(|c| c.content.0.as_ref())
    {
        for part in &content.parts.0 {
            state.out.push(part.text.as_str());
            if let Some(call) = &part.function_call.0 {
                state.out.mark_content();
                if let Some(args) = call.args {
                    state.out.push(args.get());
                }
            }
        }
    }
    if let Some(u) = chunk.usage_metadata.0 {
        state.usage = Some(u.canonical());
    }
    Observed::default()
}
