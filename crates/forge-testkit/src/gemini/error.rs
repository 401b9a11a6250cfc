//! Google's error body: `{"error": {"code", "message", "status", "details"?}}`.

use actix_web::HttpResponse;
use serde_json::{Value, json};

use crate::openai_error::status_code;

#[derive(Debug, Clone)]
pub(crate) struct GoogleError {
    pub(crate) code: u16,
    pub(crate) status: &'static str,
    pub(crate) message: String,
    pub(crate) details: Vec<Value>,
}

impl GoogleError {
    /// A 400 `INVALID_ARGUMENT`.
    pub(crate) fn invalid(message: impl Into<String>) -> GoogleError {
        GoogleError {
            code: 400,
            status: "INVALID_ARGUMENT",
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// A 400 for a field Google's JSON parser does not know, with the `BadRequest` detail it
    /// sends. `at` is the snake_case path of the enclosing object (empty at the top level).
    pub(crate) fn unknown_field(name: &str, at: &str) -> GoogleError {
        let description = if at.is_empty() {
            format!("Invalid JSON payload received. Unknown name \"{name}\": Cannot find field.")
        } else {
            format!(
                "Invalid JSON payload received. Unknown name \"{name}\" at '{at}': Cannot find field."
            )
        };
        let mut violation = json!({"description": description});
        if !at.is_empty() {
            violation["field"] = json!(at);
        }
        GoogleError {
            details: vec![json!({
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [violation],
            })],
            ..GoogleError::invalid(description)
        }
    }

    pub(crate) fn not_found(message: impl Into<String>) -> GoogleError {
        GoogleError {
            code: 404,
            status: "NOT_FOUND",
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub(crate) fn body(&self) -> Value {
        let mut error = json!({"code": self.code, "message": self.message, "status": self.status});
        if !self.details.is_empty() {
            error["details"] = json!(self.details);
        }
        json!({"error": error})
    }

    pub(crate) fn response(&self) -> HttpResponse {
        HttpResponse::build(status_code(self.code)).json(self.body())
    }

    /// The body a `Fault::Status` sends when the test gave none, with Google's canonical
    /// status names; a 429 with `retry_after` also carries a `RetryInfo` detail.
    pub(crate) fn for_status(code: u16, retry_after: Option<u64>) -> GoogleError {
        let (status, message) = match code {
            400 => ("INVALID_ARGUMENT", "Request contains an invalid argument."),
            401 => (
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials.",
            ),
            403 => ("PERMISSION_DENIED", "The caller does not have permission"),
            404 => ("NOT_FOUND", "Requested entity was not found."),
            429 => (
                "RESOURCE_EXHAUSTED",
                "Resource has been exhausted (e.g. check quota).",
            ),
            499 => ("CANCELLED", "The operation was cancelled."),
            500 => (
                "INTERNAL",
                "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
            ),
            503 => (
                "UNAVAILABLE",
                "The model is overloaded. Please try again later.",
            ),
            504 => (
                "DEADLINE_EXCEEDED",
                "The request timed out. Please try again.",
            ),
            s if s >= 500 => ("INTERNAL", "Internal error (fake fault)."),
            _ => ("FAILED_PRECONDITION", "Fake fault."),
        };
        let details = match (code, retry_after) {
            (429, Some(secs)) => vec![json!({
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": format!("{secs}s"),
            })],
            _ => Vec::new(),
        };
        GoogleError {
            code,
            status,
            message: message.to_owned(),
            details,
        }
    }
}
