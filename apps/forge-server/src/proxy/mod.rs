//! The proxy routes. One pipeline per dialect, read top to bottom: authenticate (memory), read
//! the body (size-limited), read `model`/`stream` from the raw top-level object, resolve the
//! route, then pass through (same dialect) or translate (another dialect).

pub mod dialect;
pub mod dispatch;
pub mod family;
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

use forge_core::canonical::ChatRequest;

use crate::auth::forge_key::authenticate;
use crate::error::ProxyError;
use crate::proxy::dialect::Dialect;
use crate::proxy::dispatch::{Call, Target, dispatch};
use crate::proxy::pipeline::Passthrough;
use crate::proxy::pipeline::{parse_typed, read_body};
use crate::proxy::translate::Render;
use crate::proxy::transport::Transport;
use crate::proxy::upstream::Upstream;
use crate::state::AppState;
use crate::usage::estimate::{Prompt, estimator};
use forge_core::stream_end::StreamEnd;
use forge_core::usage_sniff::SniffDialect;

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

/// The body with `model` set to what the upstream expects; nothing else is re-serialised.
pub fn with_model(object: &RawObject<'_>, model: &str) -> Bytes {
    let mut object = object.clone();
    object.set_str("model", model);
    Bytes::from(object.to_vec())
}

/// The first of `fields` holding a non-negative integer: the request's output cap.
pub fn max_tokens_of(object: &RawObject<'_>, fields: &[&str]) -> Option<u64> {
    fields.iter().find_map(|f| {
        object
            .get(f)
            .and_then(|raw| raw.get().trim().parse::<u64>().ok())
    })
}

/// Whether the client set `stream_options.include_usage` itself.
fn client_wants_usage(object: &RawObject<'_>) -> bool {
    object
        .get("stream_options")
        .and_then(|raw| serde_json::from_str::<serde_json::Value>(raw.get()).ok())
        .is_some_and(|options| options["include_usage"] == serde_json::Value::Bool(true))
}

/// Sets `stream_options.include_usage`, keeping any other stream option the client sent.
fn ask_for_usage(object: &mut RawObject<'_>) {
    let mut options = object
        .get("stream_options")
        .and_then(|raw| {
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(raw.get()).ok()
        })
        .unwrap_or_default();
    options.insert("include_usage".into(), serde_json::Value::Bool(true));
    if let Ok(raw) = serde_json::value::to_raw_value(&options) {
        object.set_raw("stream_options", raw);
    }
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
    let object = RawObject::parse(&body)?;
    let model = object.get_str("model")?;
    let stream = object.get_bool("stream")?.unwrap_or(false);
    // Usage is billed from the upstream's own report: a stream is asked for it even when the
    // client did not ask, and the extra chunk is then kept from the client.
    let (usage_dialect, prompt, inject_usage) = match endpoint {
        Endpoint::ChatCompletions => (
            SniffDialect::OpenAiChat,
            Prompt::OpenAiChat,
            stream && !client_wants_usage(&object),
        ),
        Endpoint::Completions => (
            SniffDialect::OpenAiCompletions,
            Prompt::Raw,
            stream && !client_wants_usage(&object),
        ),
        _ => (SniffDialect::OpenAiEmbeddings, Prompt::Raw, false),
    };
    let how = Passthrough {
        terminal: StreamEnd::OpenAiDone,
        usage: usage_dialect,
        strip_usage: inject_usage,
    };
    // Parsed on the first attempt that needs translation, then reused by later ones.
    let mut canonical: Option<(ChatRequest, bool)> = None;
    let call = Call {
        req,
        ctx: &ctx,
        model: model.as_deref(),
        stream,
        dialect: Dialect::OpenAi,
        endpoint: endpoint.path(),
        estimate: estimator(prompt, body.clone()),
        reserve_tokens: Call::reserve_for(body.len()),
        max_tokens: max_tokens_of(&object, &["max_completion_tokens", "max_tokens"]),
    };
    dispatch(state, transport, call, async |target: Target| {
        if let Upstream::OpenAi(adapter) = &target.upstream {
            let mut object = object.clone();
            object.set_str("model", &target.model);
            if inject_usage {
                ask_for_usage(&mut object);
            }
            let upstream_req = adapter.passthrough(endpoint, Bytes::from(object.to_vec()));
            return pipeline::passthrough(transport, target, upstream_req, stream, how).await;
        }
        if endpoint != Endpoint::ChatCompletions {
            return Err(Error::NotFound(format!(
                "/v1/{} is not available for provider '{}' (only chat completions are translated)",
                endpoint.path(),
                target.provider
            )));
        }
        let (mut request, include_usage) = match &canonical {
            Some(parsed) => parsed.clone(),
            None => {
                let wire: forge_core::openai::ChatCompletionRequest = parse_typed(&body)?;
                let include_usage = wire
                    .stream_options
                    .as_ref()
                    .and_then(|o| o.include_usage)
                    .unwrap_or(false);
                let parsed = (
                    forge_core::openai::convert::chat_request_to_canonical(&wire)?,
                    include_usage,
                );
                canonical = Some(parsed.clone());
                parsed
            }
        };
        request.model = target.model.clone();
        request.stream = stream;
        pipeline::translated(
            transport,
            target,
            &request,
            Render::OpenAi { include_usage },
        )
        .await
    })
    .await
}
