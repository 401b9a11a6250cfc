//! The JSON error shapes, one per dialect, as the spec states them. The bodies themselves are
//! built elsewhere (`crate::error` for the admin API, forge-core's renderers for the proxy
//! dialects); these types only describe them, so forge-core stays free of documentation
//! dependencies. The integration and schemathesis tests check real answers against them.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// An admin-API error (FastAPI's shape): `detail` is a message, or for 422 a list of
/// validation errors in pydantic v2's form.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct AdminError {
    #[schema(value_type = AdminErrorDetail)]
    pub detail: Value,
}

/// A message, a list of validation errors, or (database and detailed health checks) an object.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[schema(no_recursion)]
#[allow(dead_code)]
pub enum AdminErrorDetail {
    Message(String),
    Validation(Vec<ValidationError>),
    Object(serde_json::Map<String, Value>),
}

/// One validation error, pydantic v2's shape.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct ValidationError {
    /// What failed, e.g. `value_error`, `json_invalid`, `int_parsing`.
    pub r#type: String,
    /// Where: `["body", "name"]`, `["query", "from"]`, `["body", "budgets", 0, "period"]`.
    pub loc: Vec<LocItem>,
    pub msg: String,
    /// The offending input (Forge sends null).
    pub input: Value,
}

/// A field name or a list index.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum LocItem {
    Name(String),
    Index(u64),
}

/// OpenAI's error body, on the OpenAI-dialect routes; `detail` repeats the message for Forge v1
/// clients.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct OpenAiErrorBody {
    pub error: OpenAiError,
    pub detail: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct OpenAiError {
    pub message: String,
    /// `invalid_request_error`, `authentication_error`, `rate_limit_error`, `api_error`, ...
    pub r#type: String,
    pub param: Option<String>,
    pub code: Option<String>,
}

/// Anthropic's error body, on `/v1/messages*`.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct AnthropicErrorBody {
    /// Always `error`.
    pub r#type: String,
    pub error: AnthropicError,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct AnthropicError {
    /// `invalid_request_error`, `authentication_error`, `not_found_error`, `rate_limit_error`,
    /// `api_error`, `overloaded_error`, ...
    pub r#type: String,
    pub message: String,
}

/// Google's error body, on the Gemini routes.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct GeminiErrorBody {
    pub error: GeminiError,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct GeminiError {
    /// The HTTP status.
    pub code: u16,
    pub message: String,
    /// The `google.rpc.Code` name, e.g. `INVALID_ARGUMENT`, `RESOURCE_EXHAUSTED`.
    pub status: String,
    pub details: Vec<Object>,
}

/// Any JSON object.
pub type Object = serde_json::Map<String, Value>;
