//! Google's error body `{"error":{"code","message","status","details"}}` and the mapping
//! from gateway errors to Google's canonical status names.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Extra;
use crate::error::Error;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeminiErrorBody {
    pub error: GeminiError,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeminiError {
    /// The HTTP status.
    pub code: u16,
    pub message: String,
    /// The `google.rpc.Code` name, e.g. `RESOURCE_EXHAUSTED`.
    pub status: String,
    #[serde(default)]
    pub details: Vec<Value>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The `google.rpc.Code` name Google pairs with an HTTP status.
pub fn status_name(http_status: u16) -> &'static str {
    match http_status {
        400 | 413 | 422 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        408 | 504 => "DEADLINE_EXCEEDED",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        502 | 503 => "UNAVAILABLE",
        405..=499 => "FAILED_PRECONDITION",
        _ => "INTERNAL",
    }
}

/// A Google status name as sent by Google itself: upper snake case.
fn is_status_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
}

/// The error in Google's shape, with the HTTP status the edge answers with; an upstream
/// Gemini error keeps its own status name.
pub fn error_body(err: &Error) -> GeminiErrorBody {
    let code = err.status();
    let status = match err {
        Error::Upstream {
            error_type: Some(t),
            status,
            ..
        } if *status == code && is_status_name(t) => t.clone(),
        _ => status_name(code).to_owned(),
    };
    GeminiErrorBody {
        error: GeminiError {
            code,
            message: err.to_string(),
            status,
            details: Vec::new(),
            extra: Extra::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;
    use crate::error::TimeoutPhase;

    fn upstream(status: u16, error_type: Option<&str>) -> Error {
        Error::Upstream {
            provider: "p".into(),
            status,
            message: "m".into(),
            retry_after: None,
            error_type: error_type.map(str::to_owned),
            code: None,
        }
    }

    #[test]
    fn gemini_status_names() {
        for (http, name) in [
            (400, "INVALID_ARGUMENT"),
            (401, "UNAUTHENTICATED"),
            (403, "PERMISSION_DENIED"),
            (404, "NOT_FOUND"),
            (413, "INVALID_ARGUMENT"),
            (429, "RESOURCE_EXHAUSTED"),
            (500, "INTERNAL"),
            (502, "UNAVAILABLE"),
            (503, "UNAVAILABLE"),
            (504, "DEADLINE_EXCEEDED"),
            (418, "FAILED_PRECONDITION"),
            (599, "INTERNAL"),
        ] {
            assert_eq!(status_name(http), name, "{http}");
        }
    }

    #[test]
    fn gemini_error_bodies() {
        let body = serde_json::to_value(error_body(&upstream(429, None))).unwrap();
        assert_eq!(
            body,
            json!({"error": {"code": 429, "message": "Provider p returned HTTP 429: m",
                "status": "RESOURCE_EXHAUSTED", "details": []}})
        );
        let b = error_body(&Error::Unauthorized("no key".into()));
        assert_eq!(
            (b.error.code, b.error.status.as_str()),
            (401, "UNAUTHENTICATED")
        );
        let b = error_body(&Error::ModelNotFound { model: "x".into() });
        assert_eq!((b.error.code, b.error.status.as_str()), (404, "NOT_FOUND"));
        let b = error_body(&Error::PayloadTooLarge { limit: 1 });
        assert_eq!(
            (b.error.code, b.error.status.as_str()),
            (413, "INVALID_ARGUMENT")
        );
        let b = error_body(&Error::UpstreamTimeout {
            provider: "p".into(),
            phase: TimeoutPhase::FirstByte,
        });
        assert_eq!(
            (b.error.code, b.error.status.as_str()),
            (504, "DEADLINE_EXCEEDED")
        );
        let b = error_body(&Error::UpstreamUnreachable {
            provider: "p".into(),
            message: "dns".into(),
        });
        assert_eq!(
            (b.error.code, b.error.status.as_str()),
            (502, "UNAVAILABLE")
        );
        // Google's own status name survives; an OpenAI error type does not.
        let b = error_body(&upstream(400, Some("FAILED_PRECONDITION")));
        assert_eq!(b.error.status, "FAILED_PRECONDITION");
        let b = error_body(&upstream(400, Some("invalid_request_error")));
        assert_eq!(b.error.status, "INVALID_ARGUMENT");
    }

    #[test]
    fn gemini_error_body_parses_google_shape() {
        let raw = json!({"error": {"code": 429, "message": "Quota", "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "38s"}]}});
        let body: GeminiErrorBody = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(body.error.details.len(), 1);
        assert_eq!(serde_json::to_value(&body).unwrap(), raw);
    }
}
