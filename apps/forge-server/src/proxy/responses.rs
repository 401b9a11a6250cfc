//! `POST /v1/responses` (OpenAI Responses API). OpenAI-kind upstreams get it natively (they
//! keep their own state); Anthropic and Gemini upstreams get it translated, and Forge stores each
//! turn's conversation so a follow-up with `previous_response_id` can be rebuilt for them.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use forge_core::Error;
use forge_core::canonical::ChatRequest;
use forge_core::json::RawObject;
use forge_core::responses::{
    self, ResponsesRequest, StoredResponse, conversation_after, new_response_id,
    response_from_canonical,
};
use forge_provider_openai::Endpoint;
use forge_storage::Store;

use crate::auth::forge_key::authenticate;
use crate::error::ProxyError;
use crate::proxy::pipeline::{self, parse_typed, read_body};
use crate::proxy::relay::Terminal;
use crate::proxy::translate::{Encoder, OnFinish, Render};
use crate::proxy::transport::Transport;
use crate::proxy::upstream::Upstream;
use crate::proxy::{required_str, resolve};
use crate::state::AppState;

pub async fn create(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    transport: web::Data<Transport>,
) -> Result<HttpResponse, ProxyError> {
    Ok(route(&req, payload, &state, &transport).await?)
}

async fn route(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    transport: &Transport,
) -> Result<HttpResponse, Error> {
    let ctx = authenticate(state, req).await?;
    let body = read_body(req, payload, state.settings.max_body_bytes).await?;
    let mut object = RawObject::parse(&body)?;
    let model = required_str(&object, "model")?;
    let stream = object.get_bool("stream")?.unwrap_or(false);
    let route = resolve::resolve(&ctx, &model)?;
    let provider = route.provider.name_lower.as_str();
    let upstream = match Upstream::for_provider(route.provider)? {
        Upstream::OpenAi(adapter) => {
            object.set_str("model", &route.upstream_model);
            let body = Bytes::from(object.to_vec());
            let upstream_req = adapter.passthrough(Endpoint::Responses, body);
            let upstream = Upstream::OpenAi(adapter);
            return pipeline::passthrough(
                transport,
                &upstream,
                provider,
                upstream_req,
                stream,
                Terminal::ResponsesDone,
            )
            .await;
        }
        other => other,
    };
    let wire: ResponsesRequest = parse_typed(&body)?;
    let history = match &wire.previous_response_id {
        Some(previous) => Some(load_conversation(&state.store, ctx.user_id, previous).await?),
        None => None,
    };
    let mut canonical = responses::request_to_canonical(&wire, history.as_deref())?;
    canonical.model = route.upstream_model.clone();
    canonical.stream = stream;
    let id = new_response_id(&random_suffix()?);
    let wire = Arc::new(wire);
    let render = Render::Responses {
        request: wire.clone(),
        id: id.clone(),
    };
    let upstream_req = upstream.chat_request(&canonical)?;
    let mut resp = pipeline::send(transport, &upstream, provider, upstream_req).await?;
    if stream {
        let hook = store_on_finish(
            state.store.clone(),
            ctx.user_id,
            id,
            wire,
            Arc::new(canonical.clone()),
        );
        return pipeline::translate_stream(
            transport, resp, upstream, provider, &canonical, &render, hook,
        )
        .await;
    }
    let answer =
        pipeline::read_answer(transport, &upstream, provider, &canonical, &mut resp).await?;
    let object = response_from_canonical(&answer, &wire, &id);
    if wire.wants_store() {
        let stored = StoredResponse {
            response: object.clone(),
            conversation: conversation_after(&wire, &canonical, &answer),
        };
        save(&state.store, ctx.user_id, &id, &stored).await;
    }
    Ok(HttpResponse::Ok().json(object))
}

async fn load_conversation(
    store: &Store,
    user_id: i64,
    id: &str,
) -> Result<Vec<forge_core::canonical::Message>, Error> {
    let not_found = || Error::InvalidRequest {
        message: format!("Previous response with id '{id}' not found."),
        param: Some("previous_response_id".into()),
    };
    let text = store.load_response(user_id, id).await.map_err(|e| {
        tracing::error!(error = %e, "cannot load a stored response");
        Error::Internal("Internal server error".into())
    })?;
    let stored: StoredResponse =
        serde_json::from_str(&text.ok_or_else(not_found)?).map_err(|e| {
            tracing::error!(error = %e, "a stored response does not parse");
            not_found()
        })?;
    Ok(stored.conversation)
}

/// A failed save loses only the ability to continue this conversation, not the answer itself.
async fn save(store: &Store, user_id: i64, id: &str, stored: &StoredResponse) {
    let text = match serde_json::to_string(stored) {
        Ok(text) => text,
        Err(e) => {
            tracing::error!(error = %e, "cannot serialise a response for storage");
            return;
        }
    };
    if let Err(e) = store
        .save_response(user_id, id, &stored.response.model, &text)
        .await
    {
        tracing::warn!(error = %e, response_id = id, "could not store the response");
    }
}

fn store_on_finish(
    store: Store,
    user_id: i64,
    id: String,
    wire: Arc<ResponsesRequest>,
    canonical: Arc<ChatRequest>,
) -> Option<OnFinish> {
    if !wire.wants_store() {
        return None;
    }
    Some(Box::new(move |encoder: &Encoder| {
        let stored = match encoder {
            Encoder::Responses(enc) => match (enc.final_response(), enc.canonical_response()) {
                (Some(object), Some(answer)) => Some(StoredResponse {
                    response: object.clone(),
                    conversation: conversation_after(&wire, &canonical, &answer),
                }),
                _ => None,
            },
            _ => None,
        };
        Box::pin(async move {
            if let Some(stored) = stored {
                save(&store, user_id, &id, &stored).await;
            }
        })
    }))
}

fn random_suffix() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    Ok(hex::encode(bytes))
}
