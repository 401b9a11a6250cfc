//! Which provider's error shape the shared pipeline answers in (fault bodies, bad fault
//! headers), so faults look the same to a gateway as the real provider's failures.

use actix_web::HttpResponse;
use serde_json::Value;

use crate::anthropic::error::AnthropicError;
use crate::azure_error::AzureError;
use crate::cohere::error::CohereError;
use crate::gemini::error::GoogleError;
use crate::openai_error::OpenAiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    OpenAi,
    /// Azure OpenAI's routes on the OpenAI fake.
    Azure,
    Anthropic,
    Gemini,
    Cohere,
}

impl Dialect {
    /// The error body a `Fault::Status` sends when the test gave none.
    pub(crate) fn status_body(self, status: u16, retry_after: Option<u64>) -> Value {
        match self {
            Dialect::OpenAi => OpenAiError::for_status(status).body(),
            Dialect::Azure => AzureError::for_status(status, retry_after),
            Dialect::Anthropic => AnthropicError::for_status(status).body(),
            Dialect::Gemini => GoogleError::for_status(status, retry_after).body(),
            Dialect::Cohere => CohereError::for_status(status).body(),
        }
    }

    /// A 400 in this dialect's shape.
    pub(crate) fn bad_request(self, message: String) -> HttpResponse {
        match self {
            Dialect::OpenAi | Dialect::Azure => {
                OpenAiError::invalid(message, None, None).response()
            }
            Dialect::Anthropic => AnthropicError::invalid(message).response(),
            Dialect::Gemini => GoogleError::invalid(message).response(),
            Dialect::Cohere => CohereError::invalid(message).response(),
        }
    }
}
