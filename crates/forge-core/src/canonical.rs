//! The gateway's canonical chat form.
//!
//! Each wire dialect gets one parser into these types and one renderer out of them, so a new
//! dialect costs two converters rather than one per pair. System prompts stay in-line as
//! messages (OpenAI allows them anywhere); dialects with a separate system field hoist them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Fields a dialect does not model, kept verbatim for the renderer of the same dialect.
pub type Extra = serde_json::Map<String, Value>;

/// Source-dialect fields with no canonical meaning, keyed by dialect name (`"anthropic"`).
///
/// Unlike `ChatRequest::extra` (which the OpenAI renderer forwards), only the renderer of
/// the named dialect reads its entry: strict upstreams reject fields they do not know.
pub type DialectExtra = BTreeMap<String, Extra>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<Message>,
    pub tools: Vec<Tool>,
    pub tool_choice: Option<ToolChoice>,
    pub max_tokens: Option<u64>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    /// Sample from the k most likely tokens (Anthropic, Gemini).
    pub top_k: Option<u64>,
    pub stop: Vec<String>,
    pub stream: bool,
    /// OpenAI's `response_format` object (`text`, `json_object`, `json_schema`).
    pub response_format: Option<Value>,
    pub reasoning_effort: Option<String>,
    /// An explicit thinking budget (Anthropic `thinking`, Gemini `thinkingConfig`); when
    /// only `reasoning_effort` is set, renderers derive a budget with `effort_budget`.
    pub thinking: Option<Thinking>,
    /// End-user id for abuse monitoring (OpenAI `user`, Anthropic `metadata.user_id`).
    pub user: Option<String>,
    /// Request fields not modelled above, passed through to dialects that understand them.
    pub extra: Extra,
    /// Fields only the named source dialect's renderer may emit; see `DialectExtra`.
    pub dialect_extra: DialectExtra,
    /// What the source parser read but no upstream can be given (a hosted tool Forge cannot
    /// map, an input item of an unknown type), named for the `x-forge-dropped` header. The
    /// request still goes out without them rather than failing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dropped: Vec<String>,
}

impl ChatRequest {
    pub fn new(model: impl Into<String>, messages: Vec<Message>) -> Self {
        ChatRequest {
            model: model.into(),
            messages,
            tools: Vec::new(),
            tool_choice: None,
            max_tokens: None,
            temperature: None,
            top_p: None,
            top_k: None,
            stop: Vec::new(),
            stream: false,
            response_format: None,
            reasoning_effort: None,
            thinking: None,
            user: None,
            extra: Extra::new(),
            dialect_extra: DialectExtra::new(),
            dropped: Vec::new(),
        }
    }

    /// Everything a renderer for the `target` dialect leaves out: what the parser dropped,
    /// the source dialect's own settings (`dialect_extra` of another dialect) and content
    /// blocks only that dialect understands. Sorted and deduplicated; empty when nothing is.
    pub fn dropped_for(&self, target: &str) -> Vec<String> {
        let mut out = self.dropped.clone();
        for (dialect, fields) in &self.dialect_extra {
            if dialect != target {
                out.extend(
                    fields
                        .keys()
                        .filter(|k| !HINT_KEYS.contains(&k.as_str()))
                        .cloned(),
                );
            }
        }
        if target != "openai" {
            // `extra` holds OpenAI request fields; only the OpenAI renderer forwards them.
            out.extend(
                self.extra
                    .keys()
                    .filter(|k| !renders_extra(target, k))
                    .cloned(),
            );
        }
        for message in &self.messages {
            for part in &message.content {
                if let ContentPart::Native { dialect, block } = part
                    && dialect != target
                {
                    let kind = block.get("type").and_then(Value::as_str).unwrap_or("block");
                    out.push(format!("content:{kind}"));
                }
            }
        }
        if target == "openai"
            && matches!(
                self.thinking,
                Some(Thinking::Enabled { .. } | Thinking::Adaptive)
            )
            && !takes_reasoning_effort(&self.model)
        {
            out.push("thinking".to_owned());
        }
        out.sort();
        out.dedup();
        out
    }

    /// The thinking budget to send upstream: the explicit one, else one derived from
    /// `reasoning_effort`; `None` when the client asked for no reasoning.
    pub fn thinking_budget(&self) -> Option<u64> {
        match &self.thinking {
            Some(Thinking::Enabled { budget_tokens }) => Some(*budget_tokens),
            Some(Thinking::Disabled) => None,
            Some(Thinking::Adaptive) | None => {
                self.reasoning_effort.as_deref().and_then(effort_budget)
            }
        }
    }

    /// The text of every system and developer message, joined by blank lines; for dialects
    /// with a single system field.
    pub fn system_text(&self) -> Option<String> {
        let parts: Vec<String> = self
            .messages
            .iter()
            .filter(|m| matches!(m.role, Role::System | Role::Developer))
            .map(Message::text)
            .collect();
        if parts.is_empty() {
            None
        } else {
            Some(parts.join("\n\n"))
        }
    }
}

/// `dialect_extra` keys that only steer caching or bookkeeping: leaving them out changes
/// nothing in the answer, so they are not reported as dropped.
const HINT_KEYS: &[&str] = &[
    "tool_cache_control",
    "metadata",
    // Gemini: how its schemas were spelled, and settings whose parts were translated.
    "parametersJsonSchema",
    "responseJsonSchema",
    "generationConfig",
];

/// OpenAI request fields (in `ChatRequest::extra`) that each other dialect's renderer
/// translates, so leaving `extra` for them drops nothing.
fn renders_extra(target: &str, key: &str) -> bool {
    key == "parallel_tool_calls"
        || target == "gemini"
            && matches!(key, "n" | "seed" | "presence_penalty" | "frequency_penalty")
        || target == "cohere" && COHERE_SAMPLING.contains(&key)
}

/// OpenAI request fields Cohere's v2 chat takes under the same names.
pub const COHERE_SAMPLING: [&str; 3] = ["seed", "presence_penalty", "frequency_penalty"];

/// Extended thinking as a token budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Thinking {
    Disabled,
    Enabled {
        budget_tokens: u64,
    },
    /// The model decides how much to think (Anthropic `adaptive`, Gemini's dynamic budget);
    /// `reasoning_effort`, when set, says how hard.
    Adaptive,
}

/// The thinking budget for an OpenAI-style `reasoning_effort`; `none` (and unknown
/// values) mean no thinking.
pub fn effort_budget(effort: &str) -> Option<u64> {
    match effort {
        "minimal" | "low" => Some(1024),
        "medium" => Some(4096),
        "high" | "xhigh" | "max" => Some(16384),
        _ => None,
    }
}

/// Model families known to accept `reasoning_effort` on chat completions (OpenAI's o-series
/// and GPT-5, gpt-oss, and the hosts' reasoning models that document it); the name is
/// compared after any `vendor/` prefix. A budget-derived effort goes only to these.
pub fn takes_reasoning_effort(model: &str) -> bool {
    const FAMILIES: &[&str] = &[
        "o1",
        "o3",
        "o4",
        "gpt-5",
        "gpt-oss",
        "grok-3-mini",
        "qwen3",
        "deepseek-r1",
    ];
    let name = model
        .rsplit('/')
        .next()
        .unwrap_or(model)
        .to_ascii_lowercase();
    FAMILIES.iter().any(|f| name.starts_with(f))
}

/// The `reasoning_effort` closest to a thinking budget, for dialects that only take levels.
pub fn budget_effort(budget_tokens: u64) -> &'static str {
    match budget_tokens {
        0..=2048 => "low",
        2049..=8192 => "medium",
        _ => "high",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    Developer,
    User,
    Assistant,
    /// Carries `ContentPart::ToolResult`s.
    Tool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: Vec<ContentPart>,
    pub name: Option<String>,
    /// Message fields not modelled here (e.g. `cache_control`), kept for the same dialect.
    pub extra: Extra,
}

impl Message {
    pub fn new(role: Role, content: Vec<ContentPart>) -> Self {
        Message {
            role,
            content,
            name: None,
            extra: Extra::new(),
        }
    }

    pub fn text_message(role: Role, text: impl Into<String>) -> Self {
        Message::new(role, vec![ContentPart::Text { text: text.into() }])
    }

    /// The concatenated text parts.
    pub fn text(&self) -> String {
        self.content
            .iter()
            .filter_map(|p| match p {
                ContentPart::Text { text } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentPart {
    Text {
        text: String,
    },
    Image {
        source: ImageSource,
        /// OpenAI's `detail` hint (`low`, `high`, `auto`).
        detail: Option<String>,
    },
    Audio {
        data: String,
        format: String,
    },
    File {
        file_id: Option<String>,
        file_data: Option<String>,
        filename: Option<String>,
    },
    ToolCall {
        id: String,
        name: String,
        /// JSON text exactly as the model produced it.
        arguments: String,
    },
    ToolResult {
        call_id: String,
        content: Vec<ContentPart>,
    },
    /// A tool result the tool reported as failed (Anthropic `is_error`); dialects without
    /// that flag render it as an ordinary result.
    ToolError {
        call_id: String,
        content: Vec<ContentPart>,
    },
    Reasoning {
        text: String,
        /// Anthropic's thinking signature, which must be sent back unchanged.
        signature: Option<String>,
    },
    /// Reasoning the upstream returned encrypted; only the same dialect can send it back.
    RedactedReasoning {
        data: String,
    },
    Refusal {
        text: String,
    },
    /// Marks the end of a cacheable prompt prefix at the preceding part (Anthropic's
    /// `cache_control`, kept raw); dialects without explicit caching ignore it.
    CacheBreakpoint {
        cache_control: Value,
    },
    /// A block with no canonical meaning (server tool calls and results, non-PDF documents),
    /// kept raw for the renderer of `dialect` and skipped by every other one.
    Native {
        dialect: String,
        block: Value,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ImageSource {
    Url { url: String },
    Base64 { media_type: String, data: String },
}

impl ImageSource {
    /// Splits `data:<media type>;base64,<data>` URLs so dialects that want raw base64 get it.
    pub fn from_url(url: &str) -> ImageSource {
        if let Some(rest) = url.strip_prefix("data:")
            && let Some((media_type, data)) = rest.split_once(";base64,")
        {
            return ImageSource::Base64 {
                media_type: media_type.to_owned(),
                data: data.to_owned(),
            };
        }
        ImageSource::Url {
            url: url.to_owned(),
        }
    }

    pub fn to_url(&self) -> String {
        match self {
            ImageSource::Url { url } => url.clone(),
            ImageSource::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub description: Option<String>,
    /// JSON Schema of the arguments.
    pub parameters: Option<Value>,
    pub strict: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ToolChoice {
    Auto,
    None,
    Required,
    Named(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FinishReason {
    Stop,
    Length,
    ToolCalls,
    ContentFilter,
    /// Stopped at one of the client's stop sequences, which one is known (Anthropic).
    StopSequence(String),
    Other(String),
}

impl FinishReason {
    /// Parses OpenAI's `finish_reason`; the legacy `function_call` counts as tool calls.
    pub fn from_openai(reason: &str) -> FinishReason {
        match reason {
            "stop" => FinishReason::Stop,
            "length" => FinishReason::Length,
            "tool_calls" | "function_call" => FinishReason::ToolCalls,
            "content_filter" => FinishReason::ContentFilter,
            other => FinishReason::Other(other.to_owned()),
        }
    }

    pub fn as_openai(&self) -> &str {
        match self {
            FinishReason::Stop | FinishReason::StopSequence(_) => "stop",
            FinishReason::Length => "length",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::ContentFilter => "content_filter",
            FinishReason::Other(other) => other,
        }
    }
}

/// Token counts; `input_tokens` includes cached ones, as OpenAI's `prompt_tokens` does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cached_input_tokens: u64,
    pub cache_write_tokens: u64,
    pub reasoning_tokens: u64,
}

impl Usage {
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }

    /// Folds in a later report of the same stream: providers send running totals (Anthropic's
    /// `message_start` then `message_delta`), so each count keeps its largest value.
    pub fn merge_max(&mut self, from: &Usage) {
        self.input_tokens = self.input_tokens.max(from.input_tokens);
        self.output_tokens = self.output_tokens.max(from.output_tokens);
        self.cached_input_tokens = self.cached_input_tokens.max(from.cached_input_tokens);
        self.cache_write_tokens = self.cache_write_tokens.max(from.cache_write_tokens);
        self.reasoning_tokens = self.reasoning_tokens.max(from.reasoning_tokens);
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    pub id: String,
    pub model: String,
    /// Unix seconds.
    pub created: u64,
    pub content: Vec<ContentPart>,
    pub finish_reason: FinishReason,
    pub usage: Usage,
    /// Response fields not modelled here (e.g. `system_fingerprint`).
    pub extra: Extra,
}

impl ChatResponse {
    pub fn text(&self) -> String {
        self.content
            .iter()
            .filter_map(|p| match p {
                ContentPart::Text { text } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }
}

/// One step of a streamed response, independent of the dialect it came from.
///
/// Parsers may repeat `Start` (stateless parsers see every chunk's id); consumers keep the
/// first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StreamEvent {
    Start {
        id: String,
        model: String,
        created: u64,
    },
    TextDelta {
        text: String,
    },
    ReasoningDelta {
        text: String,
        signature: Option<String>,
    },
    ToolCallStart {
        index: u32,
        id: String,
        name: String,
    },
    ToolCallArgumentsDelta {
        index: u32,
        fragment: String,
    },
    /// A whole encrypted reasoning block (Anthropic `redacted_thinking`).
    RedactedReasoning {
        data: String,
    },
    Finish {
        reason: FinishReason,
    },
    Usage(Usage),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_source_data_urls() {
        let src = ImageSource::from_url("data:image/png;base64,AAAA");
        assert_eq!(
            src,
            ImageSource::Base64 {
                media_type: "image/png".into(),
                data: "AAAA".into()
            }
        );
        assert_eq!(src.to_url(), "data:image/png;base64,AAAA");
        let src = ImageSource::from_url("https://x/y.png");
        assert_eq!(src.to_url(), "https://x/y.png");
    }

    #[test]
    fn finish_reasons() {
        for r in ["stop", "length", "tool_calls", "content_filter", "weird"] {
            assert_eq!(FinishReason::from_openai(r).as_openai(), r);
        }
        assert_eq!(
            FinishReason::from_openai("function_call"),
            FinishReason::ToolCalls
        );
    }

    #[test]
    fn system_text_joins() {
        let req = ChatRequest::new(
            "m",
            vec![
                Message::text_message(Role::System, "a"),
                Message::text_message(Role::User, "u"),
                Message::text_message(Role::Developer, "b"),
            ],
        );
        assert_eq!(req.system_text().as_deref(), Some("a\n\nb"));
        assert_eq!(ChatRequest::new("m", vec![]).system_text(), None);
    }
}
