//! OpenAI's embeddings and the rerank endpoint on upstreams that serve them with APIs of their
//! own (Cohere's `/v2/embed` and `/v2/rerank`): the adapter says how
//! (`ProviderAdapter::embeddings_request`, `rerank_request`); upstreams with neither answer
//! 404, as before.

use actix_web::HttpResponse;
use bytes::Bytes;
use forge_core::Error;
use forge_core::canonical::Usage;
use forge_core::embeddings::{EmbeddingsRequest, openai_answer};
use forge_core::stream_end::StreamEnd;
use forge_core::usage_sniff::SniffDialect;

use crate::proxy::dispatch::Target;
use crate::proxy::pipeline::{self, Passthrough};
use crate::proxy::transport::{MAX_UPSTREAM_BODY, Transport};

fn unavailable(endpoint: &str, provider: &str) -> Error {
    Error::NotFound(format!(
        "/v1/{endpoint} is not available for provider '{provider}' (it needs an OpenAI-compatible provider, or one whose own {endpoint} API Forge maps)"
    ))
}

/// `/v1/embeddings` translated: `body` is the client's with `model` already the upstream's.
pub async fn embeddings(
    transport: &Transport,
    target: Target,
    body: &[u8],
) -> Result<HttpResponse, Error> {
    let request = EmbeddingsRequest::from_openai(body)?;
    let adapter = target.upstream.adapter();
    let Some(upstream_req) = adapter.embeddings_request(&request) else {
        return Err(unavailable("embeddings", &target.provider));
    };
    let mut resp = pipeline::send(transport, &target, upstream_req?).await?;
    let answer = transport
        .read_body_within(
            &target.provider,
            &mut resp,
            MAX_UPSTREAM_BODY,
            target.timeouts.idle,
        )
        .await?;
    let embeddings = adapter.parse_embeddings(&answer)?;
    if let Some(meter) = &target.meter {
        meter.upstream_done();
        meter.set_usage(Usage {
            input_tokens: embeddings.input_tokens,
            ..Usage::default()
        });
    }
    let body = openai_answer(&target.model, &embeddings, request.base64);
    Ok(HttpResponse::Ok().json(body))
}

/// `/v1/rerank` on the upstream's own endpoint, the answer relayed as sent. Searches are what
/// such hosts bill, not tokens: the record's tokens are unknown unless the answer has some.
pub async fn rerank(
    transport: &Transport,
    target: Target,
    body: Bytes,
) -> Result<HttpResponse, Error> {
    let Some(upstream_req) = target.upstream.adapter().rerank_request(body) else {
        return Err(unavailable("rerank", &target.provider));
    };
    if let Some(meter) = &target.meter {
        meter.tokens_unknown_unless_reported();
    }
    let how = Passthrough {
        terminal: StreamEnd::OpenAiDone,
        usage: SniffDialect::OpenAiEmbeddings,
        strip_usage: false,
    };
    pipeline::passthrough(transport, target, upstream_req, false, how).await
}
