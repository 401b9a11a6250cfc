//! The proxy routes. One pipeline per dialect, read top to bottom: authenticate (memory), read
//! the body (size-limited), read `model`/`stream` from the raw top-level object, resolve the
//! route, then pass through (same dialect) or translate (another dialect).

pub mod dialect;
pub mod gemini;
pub mod messages;
pub mod models;
pub mod pipeline;
pub mod relay;
pub mod resolve;
pub mod resolve_dns;
pub mod responses;
pub mod translate;
pub mod transport;
pub mod upstream;

use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use forge_core::Error;
use forge_core::json::RawObject;
use forge_provider_openai::Endpoint;

use crate::auth::forge_key::authenticate;
use crate::error::ProxyError;
use crate::proxy::pipeline::{parse_typed, read_body};
use crate::proxy::relay::Terminal;
use crate::proxy::translate::Render;
use crate::proxy::transport::Transport;
use crate::proxy::upstream::Upstream;
use crate::state::AppState;

pub async fn chat_completions(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    transport: web::Data<Transport>,
) -> Result<HttpResponse, ProxyError> {
    Ok(openai_route(&req, payload, &state, &transport, Endpoint::ChatCompletions).await?)
}

pub async fn completions(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    transport: web::Data<Transport>,
) -> Result<HttpResponse, ProxyError> {
    Ok(openai_route(&req, payload, &state, &transport, Endpoint::Completions).await?)
}

pub async fn embeddings(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    transport: web::Data<Transport>,
) -> Result<HttpResponse, ProxyError> {
    Ok(openai_route(&req, payload, &state, &transport, Endpoint::Embeddings).await?)
}

/// A string field the request must carry.
pub fn required_str(object: &RawObject<'_>, field: &str) -> Result<String, Error> {
    object.get_str(field)?.ok_or_else(|| Error::InvalidRequest {
        message: format!("you must provide a {field} parameter"),
        param: Some(field.to_owned()),
    })
}

async fn openai_route(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    transport: &Transport,
    endpoint: Endpoint,
) -> Result<HttpResponse, Error> {
    let ctx = authenticate(state, req).await?;
    let body = read_body(req, payload, state.settings.max_body_bytes).await?;
    let mut object = RawObject::parse(&body)?;
    let model = required_str(&object, "model")?;
    let stream = object.get_bool("stream")?.unwrap_or(false);
    let route = resolve::resolve(&ctx, &model)?;
    let provider = route.provider.name_lower.as_str();
    match Upstream::for_provider(route.provider)? {
        Upstream::OpenAi(adapter) => {
            object.set_str("model", &route.upstream_model);
            let body = Bytes::from(object.to_vec());
            let upstream_req = adapter.passthrough(endpoint, body);
            let upstream = Upstream::OpenAi(adapter);
            pipeline::passthrough(
                transport,
                &upstream,
                provider,
                upstream_req,
                stream,
                Terminal::OpenAiDone,
            )
            .await
        }
        other if endpoint == Endpoint::ChatCompletions => {
            let wire: forge_core::openai::ChatCompletionRequest = parse_typed(&body)?;
            let include_usage = wire
                .stream_options
                .as_ref()
                .and_then(|o| o.include_usage)
                .unwrap_or(false);
            let mut canonical = forge_core::openai::convert::chat_request_to_canonical(&wire)?;
            canonical.model = route.upstream_model.clone();
            canonical.stream = stream;
            pipeline::translated(
                transport,
                other,
                provider,
                &canonical,
                Render::OpenAi { include_usage },
            )
            .await
        }
        _ => Err(Error::NotFound(format!(
            "/v1/{} is not available for provider '{provider}' (only chat completions are translated)",
            endpoint.path()
        ))),
    }
}
