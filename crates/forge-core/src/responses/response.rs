//! The response object, returned by `POST /v1/responses` and carried by lifecycle events.

use super::{Extra, Item, ReasoningConfig, TextConfig, TextFormat, Tool, ToolChoice};
use serde::{Deserialize, Serialize};

/// Every field OpenAI always sends is serialised, `null` included: SDK models read them.
/// Parsing is lenient (defaults for absent fields) so stored or upstream objects load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseObject {
    pub id: String,
    /// Always `response`.
    pub object: String,
    /// Unix seconds.
    pub created_at: u64,
    pub status: Status,
    #[serde(default)]
    pub error: Option<ResponseError>,
    #[serde(default)]
    pub incomplete_details: Option<IncompleteDetails>,
    #[serde(default)]
    pub instructions: Option<String>,
    #[serde(default)]
    pub max_output_tokens: Option<u64>,
    pub model: String,
    pub output: Vec<Item>,
    #[serde(default)]
    pub parallel_tool_calls: bool,
    #[serde(default)]
    pub previous_response_id: Option<String>,
    #[serde(default)]
    pub reasoning: ReasoningConfig,
    #[serde(default)]
    pub store: bool,
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default)]
    pub text: TextConfig,
    #[serde(default = "auto_choice")]
    pub tool_choice: ToolChoice,
    #[serde(default)]
    pub tools: Vec<Tool>,
    #[serde(default)]
    pub top_p: Option<f64>,
    #[serde(default)]
    pub truncation: String,
    #[serde(default)]
    pub usage: Option<ResponseUsage>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub metadata: Extra,
    #[serde(flatten)]
    pub extra: Extra,
}

impl ResponseObject {
    /// The text of every `output_text` part, as the SDKs' `output_text` helper joins it.
    pub fn output_text(&self) -> String {
        let mut out = String::new();
        for item in &self.output {
            if let Item::Message(m) = item
                && let super::MessageContent::Parts(parts) = &m.content
            {
                for part in parts {
                    if let super::ContentPart::OutputText { text, .. } = part {
                        out.push_str(text);
                    }
                }
            }
        }
        out
    }

    /// The echoed request settings, shared by `response.created` and the final object.
    pub(crate) fn echo_text_config(text: Option<&TextConfig>) -> TextConfig {
        let mut text = text.cloned().unwrap_or_default();
        if text.format.is_none() {
            text.format = Some(TextFormat::text());
        }
        text
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    InProgress,
    Completed,
    Incomplete,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::InProgress => "in_progress",
            Status::Completed => "completed",
            Status::Incomplete => "incomplete",
            Status::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseError {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncompleteDetails {
    /// `max_output_tokens` or `content_filter`.
    pub reason: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseUsage {
    pub input_tokens: u64,
    pub input_tokens_details: InputTokensDetails,
    pub output_tokens: u64,
    pub output_tokens_details: OutputTokensDetails,
    pub total_tokens: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputTokensDetails {
    #[serde(default)]
    pub cached_tokens: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputTokensDetails {
    #[serde(default)]
    pub reasoning_tokens: u64,
}

fn auto_choice() -> ToolChoice {
    ToolChoice::Mode("auto".to_owned())
}
