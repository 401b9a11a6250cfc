//! Cohere's v2 chat wire format, as its API reference names the fields. Unknown response
//! fields are ignored, so nothing the upstream adds breaks parsing; a request keeps the
//! fields only a Cohere client would send (`rest`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Serialize)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<&'static str>,
    pub stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Top-p.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p: Option<f64>,
    /// Top-k.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stop_sequences: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_format: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking: Option<Value>,
    /// Request fields only a Cohere client would have sent (`seed`, `safety_mode`, ...).
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
pub struct ChatResponse {
    #[serde(default)]
    pub id: String,
    pub finish_reason: Option<String>,
    pub message: Option<AssistantMessage>,
    pub usage: Option<Usage>,
}

#[derive(Debug, Default, Deserialize)]
pub struct AssistantMessage {
    #[serde(default)]
    pub content: Vec<Content>,
    pub tool_plan: Option<String>,
    #[serde(default)]
    pub tool_calls: Vec<ToolCall>,
}

/// One content block: `{"type": "text", "text"}` or a reasoning model's
/// `{"type": "thinking", "thinking"}`.
#[derive(Debug, Default, Deserialize)]
pub struct Content {
    #[serde(rename = "type", default)]
    pub kind: String,
    pub text: Option<String>,
    pub thinking: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ToolCall {
    pub id: Option<String>,
    pub function: Option<Function>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Function {
    pub name: Option<String>,
    pub arguments: Option<String>,
}

/// `billed_units` is what Cohere charges; `tokens` what the model saw.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Usage {
    pub billed_units: Option<Counts>,
    pub tokens: Option<Counts>,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct Counts {
    pub input_tokens: Option<f64>,
    pub output_tokens: Option<f64>,
}

/// One stream event, told apart by its `type` (`message-start`, `content-delta`,
/// `tool-call-start`, `message-end`, ...). `delta` varies by type (`message-start` carries
/// empty arrays where deltas carry objects), so it is read field by field.
#[derive(Debug, Deserialize)]
pub struct StreamEvent {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Option<String>,
    pub index: Option<u32>,
    #[serde(default)]
    pub delta: Value,
}

/// Cohere's error body: `{"id": "...", "message": "..."}`.
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    pub message: Option<String>,
}

/// `/v2/embed`'s answer with `embedding_types: ["float"]`.
#[derive(Debug, Deserialize)]
pub struct EmbedResponse {
    pub embeddings: EmbeddingsByType,
    pub meta: Option<Meta>,
}

#[derive(Debug, Deserialize)]
pub struct EmbeddingsByType {
    #[serde(default)]
    pub float: Vec<Vec<f32>>,
}

#[derive(Debug, Deserialize)]
pub struct Meta {
    pub billed_units: Option<Counts>,
}
