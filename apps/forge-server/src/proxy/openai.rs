//! OpenAI's own JSON endpoints (`/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`,
//! `/v1/images/generations`, `/v1/moderations`, `/v1/audio/speech`, `/v1/rerank`) as one
//! client dialect: passed through to OpenAI-kind upstreams with only `model` rewritten, chat
//! completions translated through the canonical form to every other kind.

use std::marker::PhantomData;

use actix_web::HttpResponse;
use bytes::Bytes;
use forge_core::Error;
use forge_core::canonical::ChatRequest;
use forge_core::json::RawObject;
use forge_core::stream_end::StreamEnd;
use forge_core::usage_sniff::SniffDialect;
use forge_provider_openai::Endpoint;

use crate::proxy::as_sent::{Relayed, as_sent};
use crate::proxy::client::{Attempt, ClientDialect, Head};
use crate::proxy::dialect::Dialect;
use crate::proxy::dispatch::Target;
use crate::proxy::max_tokens_of;
use crate::proxy::pipeline::{self, Passthrough, parse_typed};
use crate::proxy::translate::Render;
use crate::proxy::upstream::Upstream;
use crate::usage::estimate::Prompt;

/// Which of OpenAI's endpoints a route serves.
pub trait OpenAiEndpoint: 'static {
    const ENDPOINT: Endpoint;
}

/// Declares route marker types, each serving one of OpenAI's endpoints.
macro_rules! openai_endpoints {
    ($($name:ident => $endpoint:ident),+ $(,)?) => {
        $(
            pub struct $name;
            impl $crate::proxy::openai::OpenAiEndpoint for $name {
                const ENDPOINT: forge_provider_openai::Endpoint =
                    forge_provider_openai::Endpoint::$endpoint;
            }
        )+
    };
}

pub(crate) use openai_endpoints;

openai_endpoints! {
    Chat => ChatCompletions,
    Completions => Completions,
    Embeddings => Embeddings,
    Images => ImagesGenerations,
    Moderations => Moderations,
    Speech => AudioSpeech,
    Rerank => Rerank,
}

/// How a passed-through answer of `endpoint` reports its usage.
fn usage_shape(endpoint: Endpoint) -> SniffDialect {
    match endpoint {
        Endpoint::ChatCompletions => SniffDialect::OpenAiChat,
        Endpoint::Completions => SniffDialect::OpenAiCompletions,
        // gpt-image-1's `usage` has the Responses API's field names.
        Endpoint::ImagesGenerations | Endpoint::Responses => SniffDialect::OpenAiResponses,
        // Embeddings, moderations and rerank: `usage.prompt_tokens` / `total_tokens` where given.
        _ => SniffDialect::OpenAiEmbeddings,
    }
}

pub struct OpenAi<E>(PhantomData<E>);

impl<E> Default for OpenAi<E> {
    fn default() -> Self {
        OpenAi(PhantomData)
    }
}

pub struct Inbound<'a> {
    object: RawObject<'a>,
    /// Forge asks a stream for its usage chunk when the client did not, and keeps it from
    /// the client: usage is billed from the upstream's own report.
    inject_usage: bool,
    /// The canonical request and the client's own `include_usage`, parsed once.
    canonical: Option<(ChatRequest, bool)>,
}

impl<E: OpenAiEndpoint> ClientDialect for OpenAi<E> {
    type Inbound<'a> = Inbound<'a>;
    const DIALECT: Dialect = Dialect::OpenAi;

    fn read<'a>(
        &self,
        _req: &actix_web::HttpRequest,
        body: &'a Bytes,
    ) -> Result<(Head, Inbound<'a>), Error> {
        let object = RawObject::parse(body)?;
        let stream = object.get_bool("stream")?.unwrap_or(false);
        let head = Head {
            model: object.get_str("model")?,
            stream,
            endpoint: E::ENDPOINT.path(),
            prompt: match E::ENDPOINT {
                Endpoint::ChatCompletions => Prompt::OpenAiChat,
                _ => Prompt::Raw,
            },
            max_tokens: max_tokens_of(&object, &["max_completion_tokens", "max_tokens"]),
        };
        let inject_usage = stream
            && matches!(
                E::ENDPOINT,
                Endpoint::ChatCompletions | Endpoint::Completions
            )
            && !client_wants_usage(&object);
        Ok((
            head,
            Inbound {
                object,
                inject_usage,
                canonical: None,
            },
        ))
    }

    async fn attempt<'a>(
        &self,
        inbound: &mut Self::Inbound<'a>,
        cx: &Attempt<'_>,
        target: Target,
    ) -> Result<HttpResponse, Error> {
        let endpoint = E::ENDPOINT;
        if let Upstream::OpenAi(adapter) = &target.upstream {
            let mut object = inbound.object.clone();
            object.set_str("model", &target.model);
            if inbound.inject_usage {
                ask_for_usage(&mut object);
            }
            let upstream_req = adapter.passthrough(endpoint, Bytes::from(object.to_vec()));
            if matches!(
                endpoint,
                Endpoint::ImagesGenerations | Endpoint::AudioSpeech
            ) && let Some(meter) = &target.meter
                && let Some(units) = crate::proxy::units::of_json(endpoint, &inbound.object)
            {
                meter.units(units);
            }
            if endpoint == Endpoint::AudioSpeech {
                // Audio bytes (or its SSE stream), relayed as they arrive.
                let resp = pipeline::send(cx.transport, &target, upstream_req).await?;
                let meter = target.meter.clone();
                return Ok(as_sent(
                    resp,
                    meter,
                    SniffDialect::OpenAiEmbeddings,
                    &target,
                    Relayed::Content,
                ));
            }
            let how = Passthrough {
                terminal: match endpoint {
                    Endpoint::ImagesGenerations => StreamEnd::ResponsesDone,
                    _ => StreamEnd::OpenAiDone,
                },
                usage: usage_shape(endpoint),
                strip_usage: inbound.inject_usage,
            };
            return pipeline::passthrough(cx.transport, target, upstream_req, cx.stream, how).await;
        }
        match endpoint {
            Endpoint::ChatCompletions => {}
            Endpoint::Embeddings | Endpoint::Rerank => {
                let mut object = inbound.object.clone();
                object.set_str("model", &target.model);
                let body = Bytes::from(object.to_vec());
                return match endpoint {
                    Endpoint::Embeddings => {
                        crate::proxy::own_apis::embeddings(cx.transport, target, &body).await
                    }
                    _ => crate::proxy::own_apis::rerank(cx.transport, target, body).await,
                };
            }
            _ => {
                return Err(Error::NotFound(format!(
                    "/v1/{} is not available for provider '{}' (only chat completions, embeddings and rerank are translated; other endpoints need an OpenAI-compatible provider)",
                    endpoint.path(),
                    target.provider
                )));
            }
        }
        let (mut request, include_usage) = match &inbound.canonical {
            Some(parsed) => parsed.clone(),
            None => {
                let wire: forge_core::openai::ChatCompletionRequest = parse_typed(cx.body)?;
                let include_usage = wire
                    .stream_options
                    .as_ref()
                    .and_then(|o| o.include_usage)
                    .unwrap_or(false);
                let parsed = (
                    forge_core::openai::convert::chat_request_to_canonical(&wire)?,
                    include_usage,
                );
                inbound.canonical = Some(parsed.clone());
                parsed
            }
        };
        request.model = target.model.clone();
        request.stream = cx.stream;
        let render = Render::OpenAi { include_usage };
        pipeline::translated(cx.transport, target, &request, render).await
    }
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
