//! What the answer is built from, once a Messages request passed validation.

use serde_json::Value;

/// `tool_choice` as Anthropic defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ToolChoice {
    Auto,
    Any,
    Tool(String),
    None,
}

/// A client tool (one with an `input_schema`); server tools are accepted but never called.
#[derive(Debug, Clone)]
pub(crate) struct Tool {
    pub(crate) name: String,
    pub(crate) input_schema: Value,
}

#[derive(Debug, Clone)]
pub(crate) struct MessagesRequest {
    pub(crate) model: String,
    /// Absent for `count_tokens`, which takes none.
    pub(crate) max_tokens: Option<u64>,
    pub(crate) stream: bool,
    pub(crate) thinking: bool,
    pub(crate) tools: Vec<Tool>,
    pub(crate) tool_choice: ToolChoice,
    pub(crate) stop_sequences: Vec<String>,
    /// Text of the last user turn (its text blocks), where the triggers are looked for.
    pub(crate) prompt: String,
    /// Prompt tokens in total (system and messages).
    pub(crate) prompt_tokens: u64,
    /// Of those, the system tokens read from the (fake) prompt cache: all of the system text
    /// when any system block carries `cache_control`.
    pub(crate) cached_tokens: u64,
}
