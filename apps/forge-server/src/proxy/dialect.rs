//! The client dialects Forge speaks. Each request is answered, errors included, in the dialect
//! it arrived in: OpenAI `{"error":{...}}`, Anthropic `{"type":"error",...}`, Google
//! `{"error":{"code","message","status"}}`.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header;
use forge_core::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    OpenAi,
    Anthropic,
    Gemini,
}

impl Dialect {
    pub fn error_response(self, err: &Error) -> HttpResponse {
        let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_GATEWAY);
        let mut resp = HttpResponse::build(status);
        if let Error::Upstream {
            retry_after: Some(secs),
            ..
        } = err
        {
            resp.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        match self {
            Dialect::OpenAi => resp.json(err.to_openai_body()),
            Dialect::Anthropic => resp.json(forge_core::anthropic::error::error_body(err)),
            Dialect::Gemini => resp.json(forge_core::gemini::error::error_body(err)),
        }
    }
}
