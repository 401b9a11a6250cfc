//! Anthropic's error body `{"type":"error","error":{"type","message"}}` and the mapping of
//! gateway errors onto its error types.

use serde::{Deserialize, Serialize};

use super::Extra;
use crate::error::Error;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    #[serde(rename = "type", default = "error_type")]
    pub r#type: String,
    pub error: ErrorObject,
    #[serde(flatten)]
    pub extra: Extra,
}

fn error_type() -> String {
    "error".to_owned()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    #[serde(rename = "type")]
    pub r#type: String,
    #[serde(default)]
    pub message: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Anthropic's `error.type` for an HTTP status (its documented table; other 4xx are
/// `invalid_request_error`, other 5xx `api_error`).
pub fn error_type_for_status(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        400..=499 => "invalid_request_error",
        _ => "api_error",
    }
}

/// The status Anthropic answers with for an `error.type`; unknown types count as 500.
pub fn status_for_error_type(error_type: &str) -> u16 {
    match error_type {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "billing_error" => 402,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "overloaded_error" => 529,
        _ => 500,
    }
}

/// A gateway error in Anthropic's shape, typed by the status the client will see.
pub fn error_body(err: &Error) -> ErrorBody {
    let status = err.status();
    let r#type = match err {
        // An upstream that spoke Anthropic already named the type; keep it if it is one
        // (unknown types such as Google's `INTERNAL` also map to 500, so check it is known).
        Error::Upstream {
            error_type: Some(t),
            ..
        } if status_for_error_type(t) == status && (status != 500 || t == "api_error") => t.clone(),
        _ => error_type_for_status(status).to_owned(),
    };
    ErrorBody {
        r#type: error_type(),
        error: ErrorObject {
            r#type,
            message: err.to_string(),
            extra: Extra::new(),
        },
        extra: Extra::new(),
    }
}
