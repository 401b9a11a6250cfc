//! The one error enum of the gateway core, with the HTTP facts the edge needs.
//!
//! Where the fault lies and whether a retry may help are methods, so failover logic reads
//! fields instead of parsing messages.

use std::fmt;

use crate::openai::{ErrorBody, ErrorObject};

/// Who caused a failure; decides logging level and whether failover makes sense.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Client,
    Upstream,
    Internal,
}

/// Which of the upstream timeouts fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutPhase {
    Connect,
    FirstByte,
    Idle,
    /// The whole exchange took longer than the route allows.
    Total,
}

impl fmt::Display for TimeoutPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutPhase::Connect => "connect",
            TimeoutPhase::FirstByte => "first byte",
            TimeoutPhase::Idle => "idle between chunks",
            TimeoutPhase::Total => "total",
        })
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error("{message}")]
    InvalidRequest {
        message: String,
        param: Option<String>,
    },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    NotFound(String),
    #[error("The model `{model}` does not exist or you do not have access to it.")]
    ModelNotFound { model: String },
    #[error("Request body exceeds the limit of {limit} bytes.")]
    PayloadTooLarge { limit: usize },
    #[error("Provider {provider} returned HTTP {status}: {message}")]
    Upstream {
        provider: String,
        status: u16,
        message: String,
        retry_after: Option<u64>,
        error_type: Option<String>,
        code: Option<String>,
    },
    #[error("Provider {provider} could not be reached: {message}")]
    UpstreamUnreachable { provider: String, message: String },
    #[error("Provider {provider} timed out ({phase})")]
    UpstreamTimeout {
        provider: String,
        phase: TimeoutPhase,
    },
    /// Forge's own refusal: over a rate limit or budget (429), or the limiter unavailable
    /// (503). Never retried against another deployment: the caller is at its limit.
    #[error("{message}")]
    Limited {
        status: u16,
        message: String,
        retry_after: Option<u64>,
        /// OpenAI's `error.type` (`requests`, `tokens`, `insufficient_quota`).
        error_type: String,
        code: String,
    },
    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// An `InvalidRequest` that names no parameter.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidRequest {
            message: message.into(),
            param: None,
        }
    }

    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        match self {
            Error::InvalidRequest { .. } => 400,
            Error::Unauthorized(_) => 401,
            Error::PermissionDenied(_) => 403,
            Error::NotFound(_) | Error::ModelNotFound { .. } => 404,
            Error::PayloadTooLarge { .. } => 413,
            Error::Upstream { status, .. } if (400..=599).contains(status) => *status,
            Error::Upstream { .. } | Error::UpstreamUnreachable { .. } => 502,
            Error::UpstreamTimeout { .. } => 504,
            Error::Limited { status, .. } => *status,
            Error::Internal(_) => 500,
        }
    }

    pub fn fault(&self) -> Fault {
        match self {
            Error::InvalidRequest { .. }
            | Error::Unauthorized(_)
            | Error::PermissionDenied(_)
            | Error::NotFound(_)
            | Error::ModelNotFound { .. }
            | Error::PayloadTooLarge { .. }
            | Error::Limited { .. } => Fault::Client,
            Error::Upstream { .. }
            | Error::UpstreamUnreachable { .. }
            | Error::UpstreamTimeout { .. } => Fault::Upstream,
            Error::Internal(_) => Fault::Internal,
        }
    }

    /// Whether the same request may succeed on another try or another provider key.
    pub fn retryable(&self) -> bool {
        match self {
            Error::Upstream { status, .. } => {
                matches!(status, 408 | 409 | 429) || (500..=599).contains(status)
            }
            Error::UpstreamUnreachable { .. } | Error::UpstreamTimeout { .. } => true,
            _ => false,
        }
    }

    /// The OpenAI `error.type` for this error.
    pub fn openai_type(&self) -> &'static str {
        match self {
            Error::InvalidRequest { .. }
            | Error::NotFound(_)
            | Error::ModelNotFound { .. }
            | Error::PayloadTooLarge { .. } => "invalid_request_error",
            Error::Unauthorized(_) => "authentication_error",
            Error::PermissionDenied(_) => "permission_error",
            Error::Upstream { status: 429, .. } => "rate_limit_error",
            Error::Upstream { .. } | Error::UpstreamUnreachable { .. } => "upstream_error",
            Error::UpstreamTimeout { .. } => "timeout_error",
            Error::Limited { status: 503, .. } => "server_error",
            Error::Limited { .. } => "rate_limit_error",
            Error::Internal(_) => "server_error",
        }
    }

    /// The OpenAI `error.code` for this error, where one applies.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            Error::InvalidRequest { .. } => None,
            Error::Unauthorized(_) => Some("invalid_api_key"),
            Error::PermissionDenied(_) => Some("permission_denied"),
            Error::NotFound(_) => Some("not_found"),
            Error::ModelNotFound { .. } => Some("model_not_found"),
            Error::PayloadTooLarge { .. } => Some("payload_too_large"),
            Error::Upstream { status: 429, .. } => Some("rate_limit_exceeded"),
            Error::Upstream { .. } => Some("provider_error"),
            Error::UpstreamUnreachable { .. } => Some("provider_unreachable"),
            Error::UpstreamTimeout { .. } => Some("provider_timeout"),
            Error::Limited { .. } => Some("rate_limit_exceeded"),
            Error::Internal(_) => Some("internal_error"),
        }
    }

    /// Whether an upstream refused the content itself (OpenAI `content_policy_violation`,
    /// Azure's `content_filter`): no other deployment of the same model will answer
    /// differently, but a configured fallback model may.
    pub fn is_content_refusal(&self) -> bool {
        let Error::Upstream {
            status: 400,
            code,
            error_type,
            ..
        } = self
        else {
            return false;
        };
        let refusal = |v: &Option<String>| {
            v.as_deref()
                .is_some_and(|v| v == "content_policy_violation" || v == "content_filter")
        };
        refusal(code) || refusal(error_type)
    }

    /// The parameter at fault, if the error names one.
    pub fn param(&self) -> Option<&str> {
        match self {
            Error::InvalidRequest { param, .. } => param.as_deref(),
            Error::ModelNotFound { .. } => Some("model"),
            _ => None,
        }
    }

    /// The error in OpenAI's `{"error": {...}}` shape.
    pub fn to_openai_body(&self) -> ErrorBody {
        let code = match self {
            // Keep the upstream's own code: clients may branch on it.
            Error::Upstream {
                code: Some(code), ..
            }
            | Error::Limited { code, .. } => Some(code.clone()),
            _ => self.code().map(str::to_owned),
        };
        let r#type = match self {
            // OpenAI's own 429s say which limit: `requests`, `tokens`, `insufficient_quota`.
            Error::Limited { error_type, .. } => error_type.clone(),
            _ => self.openai_type().to_owned(),
        };
        ErrorBody {
            error: ErrorObject {
                message: self.to_string(),
                r#type,
                param: self.param().map(str::to_owned),
                code,
                extra: serde_json::Map::new(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn upstream(status: u16) -> Error {
        Error::Upstream {
            provider: "openai".into(),
            status,
            message: "boom".into(),
            retry_after: None,
            error_type: None,
            code: None,
        }
    }

    #[test]
    fn statuses() {
        assert_eq!(Error::invalid("x").status(), 400);
        assert_eq!(Error::Unauthorized("x".into()).status(), 401);
        assert_eq!(Error::PermissionDenied("x".into()).status(), 403);
        assert_eq!(Error::NotFound("x".into()).status(), 404);
        assert_eq!(Error::ModelNotFound { model: "m".into() }.status(), 404);
        assert_eq!(Error::PayloadTooLarge { limit: 10 }.status(), 413);
        assert_eq!(upstream(429).status(), 429);
        assert_eq!(upstream(503).status(), 503);
        assert_eq!(upstream(200).status(), 502);
        assert_eq!(upstream(302).status(), 502);
        let unreachable = Error::UpstreamUnreachable {
            provider: "p".into(),
            message: "dns".into(),
        };
        assert_eq!(unreachable.status(), 502);
        let timeout = Error::UpstreamTimeout {
            provider: "p".into(),
            phase: TimeoutPhase::Idle,
        };
        assert_eq!(timeout.status(), 504);
        assert_eq!(
            timeout.to_string(),
            "Provider p timed out (idle between chunks)"
        );
        assert_eq!(Error::Internal("x".into()).status(), 500);
    }

    #[test]
    fn retryable_and_fault() {
        for s in [408, 409, 429, 500, 502, 503, 529] {
            assert!(upstream(s).retryable(), "{s}");
        }
        for s in [400, 401, 403, 404, 422] {
            assert!(!upstream(s).retryable(), "{s}");
        }
        assert!(!Error::invalid("x").retryable());
        assert_eq!(Error::invalid("x").fault(), Fault::Client);
        assert_eq!(upstream(500).fault(), Fault::Upstream);
        assert_eq!(Error::Internal("x".into()).fault(), Fault::Internal);
    }

    #[test]
    fn openai_body_shape() {
        let body = serde_json::to_value(Error::invalid("bad").to_openai_body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": {"message": "bad", "type": "invalid_request_error", "param": null, "code": null}})
        );
        let body = serde_json::to_value(
            Error::ModelNotFound {
                model: "gpt-9".into(),
            }
            .to_openai_body(),
        )
        .unwrap();
        assert_eq!(body["error"]["code"], "model_not_found");
        assert_eq!(body["error"]["param"], "model");
        assert_eq!(upstream(429).openai_type(), "rate_limit_error");
        let with_code = Error::Upstream {
            provider: "p".into(),
            status: 400,
            message: "m".into(),
            retry_after: None,
            error_type: None,
            code: Some("context_length_exceeded".into()),
        };
        assert_eq!(
            with_code.to_openai_body().error.code.as_deref(),
            Some("context_length_exceeded")
        );
        assert_eq!(with_code.to_string(), "Provider p returned HTTP 400: m");
    }
}
