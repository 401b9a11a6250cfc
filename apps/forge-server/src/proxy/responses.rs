//! `POST /v1/responses` (OpenAI Responses API). OpenAI-kind upstreams get it natively (they
//! keep their own state); Anthropic and Gemini upstreams get it translated, and Forge stores each
//! turn's conversation so a follow-up with `previous_response_id` can be rebuilt for them.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;

use actix_web::{HttpRequest, HttpResponse};
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

use crate::proxy::client::{Attempt, ClientDialect, Head};
use crate::proxy::dialect::Dialect;
use crate::proxy::dispatch::Target;
use crate::proxy::pipeline::Passthrough;
use crate::proxy::pipeline::{self, parse_typed};
use crate::proxy::translate::{Encoder, OnFinish, Render};
use crate::proxy::upstream::Upstream;
use crate::proxy::{max_tokens_of, with_model};
use crate::usage::estimate::Prompt;
use forge_core::stream_end::StreamEnd;
use forge_core::usage_sniff::SniffDialect;

#[derive(Default)]
pub struct Responses;

pub struct Inbound<'a> {
    object: RawObject<'a>,
    /// Parsed (and the history loaded) on the first attempt that needs translation.
    prepared: Option<(Arc<ResponsesRequest>, ChatRequest)>,
}

impl ClientDialect for Responses {
    type Inbound<'a> = Inbound<'a>;
    const DIALECT: Dialect = Dialect::OpenAi;

    fn read<'a>(&self, _req: &HttpRequest, body: &'a Bytes) -> Result<(Head, Inbound<'a>), Error> {
        let object = RawObject::parse(body)?;
        let head = Head {
            model: object.get_str("model")?,
            stream: object.get_bool("stream")?.unwrap_or(false),
            endpoint: "responses",
            prompt: Prompt::Responses,
            max_tokens: max_tokens_of(&object, &["max_output_tokens"]),
        };
        let inbound = Inbound {
            object,
            prepared: None,
        };
        Ok((head, inbound))
    }

    async fn attempt<'a>(
        &self,
        inbound: &mut Self::Inbound<'a>,
        cx: &Attempt<'_>,
        target: Target,
    ) -> Result<HttpResponse, Error> {
        if let Upstream::OpenAi(adapter) = &target.upstream
            && adapter.serves_responses()
            && !NO_RESPONSES_ROUTE.lacks(adapter.base_url())
        {
            let upstream_req = adapter.passthrough(
                Endpoint::Responses,
                with_model(&inbound.object, &target.model),
            );
            let how = Passthrough {
                terminal: StreamEnd::ResponsesDone,
                usage: SniffDialect::OpenAiResponses,
                strip_usage: false,
            };
            match pipeline::send(cx.transport, &target, upstream_req).await {
                Ok(resp) => {
                    return pipeline::relay_answer(cx.transport, target, resp, cx.stream, how)
                        .await;
                }
                Err(e) if !adapter.responses_pinned() && is_missing_route(&e) => {
                    tracing::info!(
                        provider = %target.provider,
                        "no Responses API at this host; translating to chat completions"
                    );
                    NO_RESPONSES_ROUTE.remember(adapter.base_url().to_owned());
                }
                Err(e) => return Err(e),
            }
        }
        let (wire, mut canonical) = match &inbound.prepared {
            Some(ready) => ready.clone(),
            None => {
                let wire: ResponsesRequest = parse_typed(cx.body)?;
                let history = match &wire.previous_response_id {
                    Some(previous) => {
                        Some(load_conversation(cx.store, cx.ctx.user_id, previous).await?)
                    }
                    None => None,
                };
                let canonical = responses::request_to_canonical(&wire, history.as_deref())?;
                let ready = (Arc::new(wire), canonical);
                inbound.prepared = Some(ready.clone());
                ready
            }
        };
        canonical.model = target.model.clone();
        canonical.stream = cx.stream;
        translated(cx, target, wire, canonical).await
    }
}

/// Hosts whose native `/responses` is missing: later requests to them are translated
/// without trying it, for [`MISSING_ROUTE_TTL`] (a host may gain the route).
static NO_RESPONSES_ROUTE: MissingRoutes = MissingRoutes::new();
const MISSING_ROUTE_TTL: Duration = Duration::from_secs(600);

/// Base URLs and until when they count as lacking the route; read lock-free on every
/// Responses request, written once per host and TTL.
struct MissingRoutes(LazyLock<ArcSwap<HashMap<String, Instant>>>);

impl MissingRoutes {
    const fn new() -> Self {
        MissingRoutes(LazyLock::new(|| ArcSwap::from_pointee(HashMap::new())))
    }

    fn lacks(&self, base_url: &str) -> bool {
        self.0
            .load()
            .get(base_url)
            .is_some_and(|until| Instant::now() < *until)
    }

    fn remember(&self, base_url: String) {
        let until = Instant::now() + MISSING_ROUTE_TTL;
        self.0.rcu(|hosts| {
            let mut hosts = HashMap::clone(hosts);
            hosts.retain(|_, t| Instant::now() < *t);
            hosts.insert(base_url.clone(), until);
            hosts
        });
    }
}

/// A 405, or a 404 that is not an API's own error (a model, deployment or endpoint it
/// knows and refuses carries an error type or code): the host has no such route. A 404 that
/// names the path is one too (`Invalid URL (POST /v1/responses)`).
fn is_missing_route(e: &Error) -> bool {
    match e {
        Error::Upstream { status: 405, .. } => true,
        Error::Upstream {
            status: 404,
            message,
            error_type,
            code,
            ..
        } => (error_type.is_none() && code.is_none()) || message.contains("/responses"),
        _ => false,
    }
}

/// One translated attempt: the answer rendered as a Responses API object, and the turn stored
/// so `previous_response_id` can continue it.
async fn translated(
    cx: &Attempt<'_>,
    target: Target,
    wire: Arc<ResponsesRequest>,
    canonical: ChatRequest,
) -> Result<HttpResponse, Error> {
    let id = new_response_id(&random_suffix()?);
    let render = Render::Responses {
        request: wire.clone(),
        id: id.clone(),
    };
    // Static gateway keys have no user to keep conversations for.
    let (transport, ctx) = (cx.transport, cx.ctx);
    let keep = ctx.gateway.is_none();
    let upstream_req = target.upstream.adapter().chat_request(&canonical)?;
    let dialect = target.upstream.adapter().dialect();
    let mut resp = pipeline::send(transport, &target, upstream_req).await?;
    if canonical.stream {
        let hook = if keep {
            store_on_finish(
                cx.store.clone(),
                ctx.user_id,
                id,
                wire,
                Arc::new(canonical.clone()),
            )
        } else {
            None
        };
        let mut out =
            pipeline::translate_stream(transport, resp, target, &canonical, &render, hook).await?;
        pipeline::mark_dropped(&mut out, dialect, &canonical);
        return Ok(out);
    }
    let answer = pipeline::read_answer(transport, &target, &canonical, &mut resp).await?;
    let object = response_from_canonical(&answer, &wire, &id);
    if keep && wire.wants_store() {
        let stored = StoredResponse {
            response: object.clone(),
            conversation: conversation_after(&wire, &canonical, &answer),
        };
        save(cx.store, ctx.user_id, &id, &stored).await;
    }
    let mut out = HttpResponse::Ok().json(object);
    pipeline::mark_dropped(&mut out, dialect, &canonical);
    Ok(out)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(status: u16, message: &str, error_type: Option<&str>, code: Option<&str>) -> Error {
        Error::Upstream {
            provider: "p".into(),
            status,
            message: message.into(),
            retry_after: None,
            error_type: error_type.map(str::to_owned),
            code: code.map(str::to_owned),
        }
    }

    #[test]
    fn only_a_missing_route_switches_to_translation() {
        // No such route: a bare 404, a 405, or an error naming the path.
        assert!(is_missing_route(&upstream(404, "Not Found", None, None)));
        assert!(is_missing_route(&upstream(
            405,
            "Method Not Allowed",
            None,
            None
        )));
        assert!(is_missing_route(&upstream(
            404,
            "Invalid URL (POST /v1/responses)",
            Some("invalid_request_error"),
            None
        )));
        // The API's own refusals: a model, a deployment, an endpoint for a feature.
        for (message, error_type, code) in [
            (
                "The model `x` does not exist",
                Some("invalid_request_error"),
                Some("model_not_found"),
            ),
            (
                "The API deployment for this resource does not exist.",
                None,
                Some("DeploymentNotFound"),
            ),
            (
                "No endpoints found that support tool use",
                None,
                Some("404"),
            ),
        ] {
            assert!(
                !is_missing_route(&upstream(404, message, error_type, code)),
                "{message}"
            );
        }
        assert!(!is_missing_route(&upstream(400, "Not Found", None, None)));
    }

    #[test]
    fn remembered_hosts_expire() {
        let routes = MissingRoutes::new();
        assert!(!routes.lacks("http://a/v1"));
        routes.remember("http://a/v1".into());
        assert!(routes.lacks("http://a/v1"));
        assert!(!routes.lacks("http://b/v1"));
        routes.0.rcu(|hosts| {
            let mut hosts = HashMap::clone(hosts);
            hosts.insert("http://a/v1".into(), Instant::now());
            hosts
        });
        assert!(!routes.lacks("http://a/v1"), "past its TTL");
    }
}
