//! OpenAI's error body: `{"error": {"message", "type", "param", "code"}}`.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde_json::json;

#[derive(Debug, Clone)]
pub(crate) struct OpenAiError {
    pub(crate) status: u16,
    pub(crate) message: String,
    pub(crate) kind: &'static str,
    pub(crate) param: Option<String>,
    pub(crate) code: Option<&'static str>,
}

impl OpenAiError {
    /// A 400 `invalid_request_error`.
    pub(crate) fn invalid(
        message: impl Into<String>,
        param: Option<String>,
        code: Option<&'static str>,
    ) -> OpenAiError {
        OpenAiError {
            status: 400,
            message: message.into(),
            kind: "invalid_request_error",
            param,
            code,
        }
    }

    pub(crate) fn body(&self) -> serde_json::Value {
        json!({"error": {
            "message": self.message,
            "type": self.kind,
            "param": self.param,
            "code": self.code,
        }})
    }

    pub(crate) fn response(&self) -> HttpResponse {
        HttpResponse::build(status_code(self.status)).json(self.body())
    }

    /// The body a `Fault::Status` sends when the test gave none, worded like OpenAI's.
    pub(crate) fn for_status(status: u16) -> OpenAiError {
        let (message, kind, code) = match status {
            400 => ("Bad request (fake fault).", "invalid_request_error", None),
            401 => (
                "Incorrect API key provided (fake fault).",
                "invalid_request_error",
                Some("invalid_api_key"),
            ),
            403 => ("Forbidden (fake fault).", "invalid_request_error", None),
            404 => ("Not found (fake fault).", "invalid_request_error", None),
            429 => (
                "Rate limit reached for requests (fake fault). Please try again later.",
                "requests",
                Some("rate_limit_exceeded"),
            ),
            500 => (
                "The server had an error while processing your request. Sorry about that!",
                "server_error",
                None,
            ),
            503 => (
                "The server is overloaded or not ready yet.",
                "server_error",
                None,
            ),
            s if s >= 500 => ("Upstream failure (fake fault).", "server_error", None),
            _ => ("Fake fault.", "invalid_request_error", None),
        };
        OpenAiError {
            status,
            message: message.to_owned(),
            kind,
            param: None,
            code,
        }
    }
}

pub(crate) fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}
