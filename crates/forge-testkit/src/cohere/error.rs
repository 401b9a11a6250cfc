//! Cohere's error body: `{"id": "...", "message": "..."}` with the HTTP status.

use actix_web::HttpResponse;
use serde_json::{Value, json};

use crate::openai_error::status_code;

pub(crate) struct CohereError {
    pub(crate) status: u16,
    pub(crate) message: String,
}

impl CohereError {
    pub(crate) fn invalid(message: impl Into<String>) -> CohereError {
        CohereError {
            status: 400,
            message: format!("invalid request: {}", message.into()),
        }
    }

    pub(crate) fn body(&self) -> Value {
        json!({ "id": "00000000-fake-4000-8000-cohere000000", "message": self.message })
    }

    pub(crate) fn response(&self) -> HttpResponse {
        HttpResponse::build(status_code(self.status)).json(self.body())
    }

    /// What a `Fault::Status` without a body sends.
    pub(crate) fn for_status(status: u16) -> CohereError {
        let message = match status {
            401 => "invalid api token",
            429 => "You are using a Trial key, which is limited to 10 API calls / minute.",
            500 => "internal server error, this has been reported to our developers",
            503 => "service unavailable",
            _ => "fake fault",
        };
        CohereError {
            status,
            message: message.to_owned(),
        }
    }
}
