//! Anthropic's error body: `{"type":"error","error":{"type","message"},"request_id"}`.

use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::HttpResponse;
use serde_json::{Value, json};

use crate::openai_error::status_code;

#[derive(Debug, Clone)]
pub(crate) struct AnthropicError {
    pub(crate) status: u16,
    pub(crate) kind: &'static str,
    pub(crate) message: String,
}

/// Distinct `request_id`s so a gateway that logs them can be checked.
static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

impl AnthropicError {
    /// A 400 `invalid_request_error`.
    pub(crate) fn invalid(message: impl Into<String>) -> AnthropicError {
        AnthropicError {
            status: 400,
            kind: "invalid_request_error",
            message: message.into(),
        }
    }

    pub(crate) fn body(&self) -> Value {
        let id = NEXT_REQUEST.fetch_add(1, Ordering::Relaxed);
        json!({
            "type": "error",
            "error": {"type": self.kind, "message": self.message},
            "request_id": format!("req_fake{id:016x}"),
        })
    }

    pub(crate) fn response(&self) -> HttpResponse {
        HttpResponse::build(status_code(self.status)).json(self.body())
    }

    /// The body a `Fault::Status` sends when the test gave none: the error type Anthropic
    /// documents for that status (529 is `overloaded_error`).
    pub(crate) fn for_status(status: u16) -> AnthropicError {
        let (kind, message) = match status {
            400 => ("invalid_request_error", "Bad request (fake fault)."),
            401 => ("authentication_error", "invalid x-api-key"),
            403 => (
                "permission_error",
                "Your API key does not have permission to use the specified resource.",
            ),
            404 => ("not_found_error", "Not found (fake fault)."),
            413 => (
                "request_too_large",
                "Request exceeds the maximum allowed size.",
            ),
            429 => (
                "rate_limit_error",
                "This request would exceed the rate limit for your organization (fake fault).",
            ),
            529 => ("overloaded_error", "Overloaded"),
            s if s >= 500 => ("api_error", "Internal server error"),
            _ => ("invalid_request_error", "Fake fault."),
        };
        AnthropicError {
            status,
            kind,
            message: message.to_owned(),
        }
    }
}
