//! The OpenAI-compatible proxy routes. One pipeline, read top to bottom: authenticate (memory),
//! read the body (size-limited), read `model`/`stream` from the raw top-level object, resolve the
//! route, rewrite only `model`, send, then return the body as received or relay the stream.

pub mod models;
pub mod relay;
pub mod resolve;
pub mod transport;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::{Bytes, BytesMut};
use forge_core::Error;
use forge_core::json::RawObject;
use forge_provider_openai::{Endpoint, OpenAiAdapter};
use futures_util::StreamExt;

use crate::auth::forge_key::authenticate;
use crate::error::ProxyError;
use crate::proxy::transport::{MAX_UPSTREAM_BODY, Transport};
use crate::state::AppState;

/// Upstream response headers worth passing on (request ids and rate-limit information).
fn forwardable(name: &str) -> bool {
    name == "x-request-id"
        || name.starts_with("x-ratelimit-")
        || name.starts_with("openai-")
        || name == "retry-after"
}

pub async fn chat_completions(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    transport: web::Data<Transport>,
) -> Result<HttpResponse, ProxyError> {
    forward(&req, payload, &state, &transport, Endpoint::ChatCompletions).await
}

pub async fn completions(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    transport: web::Data<Transport>,
) -> Result<HttpResponse, ProxyError> {
    forward(&req, payload, &state, &transport, Endpoint::Completions).await
}

pub async fn embeddings(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    transport: web::Data<Transport>,
) -> Result<HttpResponse, ProxyError> {
    forward(&req, payload, &state, &transport, Endpoint::Embeddings).await
}

pub async fn responses(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    transport: web::Data<Transport>,
) -> Result<HttpResponse, ProxyError> {
    forward(&req, payload, &state, &transport, Endpoint::Responses).await
}

async fn forward(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    transport: &Transport,
    endpoint: Endpoint,
) -> Result<HttpResponse, ProxyError> {
    let ctx = authenticate(state, req).await?;
    let body = read_body(req, payload, state.settings.max_body_bytes).await?;
    let mut object = RawObject::parse(&body)?;
    let model = object
        .get_str("model")?
        .ok_or_else(|| Error::InvalidRequest {
            message: "you must provide a model parameter".into(),
            param: Some("model".into()),
        })?;
    let stream = object.get_bool("stream")?.unwrap_or(false);
    let route = resolve::resolve(&ctx, &model)?;
    object.set_str("model", &route.upstream_model);
    let provider = route.provider;
    let adapter = OpenAiAdapter::new(
        &provider.info,
        provider.base_url.as_deref(),
        &provider.api_key,
    )?;
    let upstream_req = adapter.passthrough(endpoint, Bytes::from(object.to_vec()));
    let mut resp = transport.send(adapter.provider(), upstream_req).await?;
    let status = resp.status();
    if !status.is_success() {
        let retry_after = resp
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = transport
            .read_body(adapter.provider(), &mut resp, MAX_UPSTREAM_BODY)
            .await?;
        tracing::info!(provider = %adapter.provider(), status = status.as_u16(), "upstream answered with an error");
        return Err(adapter
            .parse_error(status.as_u16(), retry_after.as_deref(), &body)
            .into());
    }
    if stream {
        let timeouts = transport.timeouts;
        return Ok(relay::stream_response(
            resp,
            adapter.provider(),
            timeouts.first_byte,
            timeouts.idle,
        )
        .await?);
    }
    let body = transport
        .read_body(adapter.provider(), &mut resp, MAX_UPSTREAM_BODY)
        .await?;
    if is_json(&resp) && serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_err() {
        // A body cut short by a dropped connection looks complete to awc; never pass it on as a success.
        return Err(Error::UpstreamUnreachable {
            provider: adapter.provider().to_owned(),
            message: "the response body was incomplete or not valid JSON".into(),
        }
        .into());
    }
    let mut out =
        HttpResponse::build(StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::OK));
    for (name, value) in resp.headers() {
        if name == header::CONTENT_TYPE || forwardable(name.as_str()) {
            out.insert_header((name.clone(), value.clone()));
        }
    }
    Ok(out.body(body))
}

fn is_json(resp: &transport::UpstreamResponse) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"))
}

/// Reads the request body, refusing more than `limit` bytes before buffering them.
async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Bytes, Error> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(Error::PayloadTooLarge { limit });
    }
    let mut buf = BytesMut::with_capacity(declared.unwrap_or(0).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| Error::invalid(format!("could not read the request body: {e}")))?;
        if buf.len() + chunk.len() > limit {
            return Err(Error::PayloadTooLarge { limit });
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}
