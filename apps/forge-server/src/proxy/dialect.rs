//! The client dialects Forge speaks. Each request is answered, errors included, in the dialect
//! it arrived in: OpenAI `{"error":{...}}`, Anthropic `{"type":"error",...}`, Google
//! `{"error":{"code","message","status"}}`.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header;
use bytes::Bytes;
use forge_core::Error;
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    OpenAi,
    Anthropic,
    Gemini,
}

impl Dialect {
    /// As usage records name it.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::OpenAi => "openai",
            Dialect::Anthropic => "anthropic",
            Dialect::Gemini => "gemini",
        }
    }

    pub fn error_response(self, err: &Error) -> HttpResponse {
        let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_GATEWAY);
        let mut resp = HttpResponse::build(status);
        if let Error::Upstream {
            retry_after: Some(secs),
            ..
        }
        | Error::Limited {
            retry_after: Some(secs),
            ..
        } = err
        {
            resp.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        match self {
            Dialect::OpenAi => resp.json(openai_error_body(err)),
            Dialect::Anthropic => resp.json(forge_core::anthropic::error::error_body(err)),
            Dialect::Gemini => resp.json(forge_core::gemini::error::error_body(err)),
        }
    }

    /// The event that ends a stream which broke after it started, in this dialect: OpenAI's
    /// `data: {"error":...}` (as Forge v1 emits), Anthropic's `event: error`, Google's error chunk.
    pub fn stream_error(self, err: &Error) -> Bytes {
        match self {
            Dialect::OpenAi => {
                let body = json!({ "error": {
                    "message": err.to_string(), "type": "stream_error", "code": "provider_error",
                } });
                Bytes::from(format!("data: {body}\n\n"))
            }
            Dialect::Anthropic => {
                let body = serde_json::to_string(&forge_core::anthropic::error::error_body(err))
                    .unwrap_or_else(|_| {
                        r#"{"type":"error","error":{"type":"api_error","message":"stream failed"}}"#
                            .to_owned()
                    });
                Bytes::from(format!("event: error\ndata: {body}\n\n"))
            }
            Dialect::Gemini => {
                let body = serde_json::to_string(&forge_core::gemini::error::error_body(err))
                    .unwrap_or_else(|_| {
                        r#"{"error":{"code":502,"message":"stream failed","status":"UNAVAILABLE"}}"#
                            .to_owned()
                    });
                Bytes::from(format!("data: {body}\r\n\r\n"))
            }
        }
    }
}

/// OpenAI's error body plus a top-level `detail`, which Forge v1 clients (forge-tui) print;
/// OpenAI SDKs ignore the extra key.
fn openai_error_body(err: &Error) -> serde_json::Value {
    let mut body = serde_json::to_value(err.to_openai_body()).unwrap_or_else(|_| json!({}));
    if let Some(map) = body.as_object_mut() {
        map.insert("detail".to_owned(), json!(err.to_string()));
    }
    body
}
