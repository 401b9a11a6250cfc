//! Token counts for text and prompts, for when an upstream reports no usage (some streams,
//! failed attempts) and for checking a prompt against a limit before it is sent.
//!
//! OpenAI models are counted with their own encoding (o200k_base for the GPT-4o, 4.1, 4.5,
//! 5 and o-series; cl100k_base for GPT-4, 3.5 and the embedding models) and the count is
//! exact. Every other model is counted with o200k_base as an estimate (`exact == false`):
//! their tokenizers are not public or not shipped, and o200k is within a few tens of
//! percent for English and code. Encoders are built once, on first use (a few hundred ms
//! of parsing the embedded vocabulary); call [`warm_up`] at start-up to pay that early.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

use forge_core::canonical::{ChatRequest, ContentPart, Message, Role};
use tiktoken_rs::CoreBPE;

use crate::chunks::{Chunks, MAX, TARGET};

/// OpenAI's chat framing: `<|start|>{role}\n{content}<|end|>\n` costs 3 tokens beyond the
/// role and content, a `name` costs 1 more, and every reply is primed with 3.
const TOKENS_PER_MESSAGE: u64 = 3;
const TOKENS_PER_NAME: u64 = 1;
const REPLY_PRIMING: u64 = 3;
/// Function definitions are rendered into a namespace block: a rough fixed cost per tool
/// and for the block, on top of the name, description and schema text.
const TOKENS_PER_TOOL: u64 = 7;
const TOKENS_FOR_TOOLS: u64 = 12;
/// An image of unknown size: OpenAI's `low` detail cost, or a 1024×1024 `high` one.
const IMAGE_LOW_DETAIL: u64 = 85;
const IMAGE_DEFAULT: u64 = 765;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    O200k,
    Cl100k,
}

/// The encoding to count `model` with, and whether it is the model's own.
fn encoding_for(model: &str) -> (Encoding, bool) {
    let lower = model.trim().to_ascii_lowercase();
    // The bare name, after Gemini's `models/` or an OpenRouter-style `vendor/` prefix.
    let name = lower.rsplit('/').next().unwrap_or_default();
    let starts = |prefix: &str| name.starts_with(prefix);
    let o_series = ["o1", "o3", "o4"]
        .iter()
        .any(|o| name == *o || name.starts_with(&format!("{o}-")));
    if o_series
        || [
            "gpt-4o",
            "gpt-4.1",
            "gpt-4.5",
            "gpt-5",
            "chatgpt-4o",
            "gpt-oss",
            "codex-",
        ]
        .iter()
        .any(|p| starts(p))
    {
        (Encoding::O200k, true)
    } else if [
        "gpt-4",
        "gpt-3.5",
        "gpt-35",
        "text-embedding-3",
        "text-embedding-ada-002",
    ]
    .iter()
    .any(|p| starts(p))
    {
        (Encoding::Cl100k, true)
    } else {
        (Encoding::O200k, false)
    }
}

fn encoder(encoding: Encoding) -> Option<&'static CoreBPE> {
    static O200K: OnceLock<Option<CoreBPE>> = OnceLock::new();
    static CL100K: OnceLock<Option<CoreBPE>> = OnceLock::new();
    match encoding {
        Encoding::O200k => O200K.get_or_init(|| tiktoken_rs::o200k_base().ok()),
        Encoding::Cl100k => CL100K.get_or_init(|| tiktoken_rs::cl100k_base().ok()),
    }
    .as_ref()
}

/// Builds both encoders now rather than on the first request that needs one.
pub fn warm_up() {
    encoder(Encoding::O200k);
    encoder(Encoding::Cl100k);
}

/// About four characters a token: the fallback when an encoder is unavailable.
fn estimate(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

fn count_with(encoding: Encoding, text: &str) -> (u64, bool) {
    let Some(bpe) = encoder(encoding) else {
        return (estimate(text), false);
    };
    let mut total = 0u64;
    let mut exact = true;
    for (chunk, clean) in Chunks::new(text, TARGET, MAX) {
        exact &= clean;
        // tiktoken-rs unwraps regex errors; a prompt must not take the gateway down.
        match catch_unwind(AssertUnwindSafe(|| bpe.encode_ordinary(chunk).len())) {
            Ok(n) => total = total.saturating_add(n as u64),
            Err(_) => {
                total = total.saturating_add(estimate(chunk));
                exact = false;
            }
        }
    }
    (total, exact)
}

/// The number of tokens `text` is for `model`, and whether that count is exact.
pub fn count_text(model: &str, text: &str) -> (u64, bool) {
    let (encoding, own) = encoding_for(model);
    let (n, exact) = count_with(encoding, text);
    (n, own && exact)
}

/// The prompt tokens of `request` as OpenAI counts a chat: each message's role, content
/// and name plus its framing, the tool definitions, the response schema, and the reply
/// priming. Exact only for plain-text messages to an OpenAI model; tools, images, audio,
/// files and provider-native blocks are estimated.
pub fn count_chat(model: &str, request: &ChatRequest) -> (u64, bool) {
    let (encoding, own) = encoding_for(model);
    let mut counter = Counter {
        encoding,
        total: REPLY_PRIMING,
        exact: own,
    };
    for message in &request.messages {
        counter.message(message);
    }
    if !request.tools.is_empty() {
        counter.add(TOKENS_FOR_TOOLS, false);
        for tool in &request.tools {
            counter.add(TOKENS_PER_TOOL, false);
            counter.text(&tool.name);
            if let Some(description) = &tool.description {
                counter.text(description);
            }
            if let Some(parameters) = &tool.parameters {
                counter.text(&parameters.to_string());
            }
        }
    }
    if let Some(format) = &request.response_format {
        counter.text(&format.to_string());
        counter.exact = false;
    }
    (counter.total, counter.exact)
}

struct Counter {
    encoding: Encoding,
    total: u64,
    exact: bool,
}

impl Counter {
    fn add(&mut self, tokens: u64, exact: bool) {
        self.total = self.total.saturating_add(tokens);
        self.exact &= exact;
    }

    fn text(&mut self, text: &str) {
        let (n, exact) = count_with(self.encoding, text);
        self.add(n, exact);
    }

    fn message(&mut self, message: &Message) {
        self.add(TOKENS_PER_MESSAGE, true);
        self.text(role_name(message.role));
        if let Some(name) = &message.name {
            self.text(name);
            self.add(TOKENS_PER_NAME, true);
        }
        for part in &message.content {
            self.part(part);
        }
    }

    fn part(&mut self, part: &ContentPart) {
        match part {
            ContentPart::Text { text } | ContentPart::Refusal { text } => self.text(text),
            ContentPart::ToolCall {
                name, arguments, ..
            } => {
                self.text(name);
                self.text(arguments);
                self.exact = false;
            }
            ContentPart::ToolResult { content, .. } | ContentPart::ToolError { content, .. } => {
                for inner in content {
                    self.part(inner);
                }
            }
            ContentPart::Reasoning { text, .. } => {
                // Some upstreams drop earlier reasoning from the prompt, others bill it.
                self.text(text);
                self.exact = false;
            }
            ContentPart::Image { detail, .. } => {
                let tokens = match detail.as_deref() {
                    Some("low") => IMAGE_LOW_DETAIL,
                    _ => IMAGE_DEFAULT,
                };
                self.add(tokens, false);
            }
            ContentPart::Native { block, .. } => {
                self.text(&block.to_string());
                self.exact = false;
            }
            // Sizes that depend on the media or on opaque upstream state: not estimated.
            ContentPart::Audio { .. }
            | ContentPart::File { .. }
            | ContentPart::RedactedReasoning { .. } => self.exact = false,
            ContentPart::CacheBreakpoint { .. } => {}
        }
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::Developer => "developer",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

#[cfg(test)]
#[path = "tokens_tests.rs"]
mod tests;
