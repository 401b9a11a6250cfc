//! Errors mapped to HTTP once, at the edge, in the caller's dialect: Forge admin routes answer
//! `{"detail": ...}`, proxy routes answer OpenAI's `{"error": {...}}`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use forge_storage::StorageError;
use serde_json::{Value, json};

use crate::proxy::dialect::Dialect;

/// An admin-API error: a status and a `detail` (a string, or pydantic's list form for 422s).
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub detail: Value,
    /// Sent as `WWW-Authenticate: Bearer` on JWT failures, as FastAPI does.
    pub bearer_challenge: bool,
}

impl ApiError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            detail: Value::String(detail.into()),
            bearer_challenge: false,
        }
    }
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }
    pub fn unauthorized_bearer(detail: impl Into<String>) -> Self {
        ApiError {
            bearer_challenge: true,
            ..Self::new(StatusCode::UNAUTHORIZED, detail)
        }
    }
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
    }
    /// A 422 in pydantic v2's list shape, which Forge clients already know how to print.
    pub fn validation(loc: &[&str], msg: impl Into<String>, kind: &str) -> Self {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            detail: json!([{ "type": kind, "loc": loc, "msg": msg.into(), "input": Value::Null }]),
            bearer_challenge: false,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }
    fn error_response(&self) -> HttpResponse {
        let mut resp = HttpResponse::build(self.status);
        if self.bearer_challenge {
            resp.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        resp.json(json!({ "detail": self.detail }))
    }
}

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::NotFound => ApiError::not_found("Not Found"),
            StorageError::Pool(msg) => {
                tracing::error!(error = %msg, "database unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Database unavailable, try again shortly",
                )
            }
            other => {
                tracing::error!(error = %other, "storage failure");
                ApiError::internal()
            }
        }
    }
}

/// A proxy-route error, rendered in the dialect of the route it happened on.
#[derive(Debug)]
pub struct ProxyError {
    pub error: forge_core::Error,
    pub dialect: Dialect,
}

impl ProxyError {
    pub fn in_dialect(dialect: Dialect) -> impl Fn(forge_core::Error) -> ProxyError {
        move |error| ProxyError { error, dialect }
    }
}

/// OpenAI is the default dialect of the proxy routes.
impl From<forge_core::Error> for ProxyError {
    fn from(error: forge_core::Error) -> Self {
        ProxyError {
            error,
            dialect: Dialect::OpenAi,
        }
    }
}

impl std::fmt::Display for ProxyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl ResponseError for ProxyError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.error.status()).unwrap_or(StatusCode::BAD_GATEWAY)
    }
    fn error_response(&self) -> HttpResponse {
        self.dialect.error_response(&self.error)
    }
}
