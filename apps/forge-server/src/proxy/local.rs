//! Upstreams that live in the process: the built-in `mock` provider. Its requests are built by
//! the OpenAI adapter like any host's, then answered here instead of sent, as a response the
//! relay reads exactly like a network one (status, content type, the body in the pieces the
//! mock produced), so everything after the transport (translation, streaming, usage, limits)
//! is the same code as for a real provider.

use actix_http::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use forge_core::upstream::{Method, UpstreamRequest};

/// Whether `url` names an in-process upstream.
pub fn is_local(url: &str) -> bool {
    url.starts_with(forge_provider_mock::SCHEME)
}

/// The in-process upstream's answer to `req` (the transport's `UpstreamResponse`).
pub fn answer(req: &UpstreamRequest) -> awc::ClientResponse {
    let method = match req.method {
        Method::Get => "GET",
        Method::Post => "POST",
    };
    answer_raw(method, &req.url, &req.body)
}

/// The same for a pass-through request (any method).
pub fn answer_raw(method: &str, url: &str, body: &[u8]) -> awc::ClientResponse {
    let answer = forge_provider_mock::answer(method, url, body);
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let pieces: actix_http::BoxedPayloadStream = Box::pin(futures_util::stream::iter(
        answer
            .chunks
            .into_iter()
            .map(Ok::<_, actix_http::error::PayloadError>),
    ));
    // awc builds responses only from a connection; its `TestResponse` is the public way to
    // make one from parts (a head with the content type, then the status and the body).
    awc::test::TestResponse::with_header((CONTENT_TYPE, answer.content_type))
        .finish()
        .map_body(move |head, _| {
            head.status = status;
            Payload::Stream { payload: pieces }
        })
}
