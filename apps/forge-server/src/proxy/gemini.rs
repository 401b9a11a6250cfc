//! Google's generateContent dialect (`/v1beta/models/{model}:generateContent`,
//! `:streamGenerateContent`, `:countTokens`, also under `/v1/models/...` where current
//! google-genai SDKs call), to any upstream: natively to Gemini, translated to everything else.
//! Errors are Google's `{"error":{"code","message","status"}}` with the upstream's status.

use std::marker::PhantomData;
use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use forge_core::Error;
use forge_core::canonical::ChatRequest;
use forge_core::gemini::GenerateContentRequest;
use serde_json::json;

use crate::auth::forge_key::{Authenticator, authenticate_gemini};
use crate::auth::key_cache::AuthContext;
use crate::error::ProxyError;
use crate::proxy::client::{self, Attempt, ClientDialect, Head};
use crate::proxy::dialect::Dialect;
use crate::proxy::dispatch::{self, Target};
use crate::proxy::handle::Proxy;
use crate::proxy::messages::estimate_tokens;
use crate::proxy::pipeline::Passthrough;
use crate::proxy::pipeline::{self, parse_typed, read_body};
use crate::proxy::translate::Render;
use crate::proxy::transport::Transport;
use crate::proxy::upstream::Upstream;
use crate::usage::estimate::Prompt;
use forge_core::stream_end::StreamEnd;
use forge_core::usage_sniff::SniffDialect;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Generate,
    StreamGenerate,
    CountTokens,
}

/// `{model}:{action}`; the model may itself contain `/` (`openai/gpt-4o`), sent encoded or not.
fn parse_target(target: &str) -> Result<(String, Action), Error> {
    let target = target.replace("%2F", "/").replace("%2f", "/");
    let (model, action) = target
        .rsplit_once(':')
        .ok_or_else(|| Error::NotFound(format!("unknown method for `{target}`")))?;
    let model = model.strip_prefix("models/").unwrap_or(model);
    let action = match action {
        "generateContent" => Action::Generate,
        "streamGenerateContent" => Action::StreamGenerate,
        "countTokens" => Action::CountTokens,
        other => {
            return Err(Error::NotFound(format!(
                "method `{other}` is not supported"
            )));
        }
    };
    Ok((model.to_owned(), action))
}

/// The `{model}:{action}` route: counting is answered here, generation by the generic handler.
pub async fn generate(
    req: HttpRequest,
    payload: web::Payload,
    proxy: web::Data<Proxy>,
    transport: web::Data<Transport>,
    metrics: web::Data<std::rc::Rc<crate::metrics::worker::WorkerMetrics>>,
) -> Result<HttpResponse, ProxyError> {
    if let Ok((model, Action::CountTokens)) = parse_target(req.match_info().query("target")) {
        return count_tokens(&req, payload, &proxy, &transport, &model)
            .await
            .map_err(ProxyError::in_dialect(Dialect::Gemini));
    }
    client::handle::<GenerateContent>(req, payload, proxy, transport, metrics).await
}

/// No counting endpoint is called: an estimate, as for Anthropic's count_tokens.
async fn count_tokens(
    req: &HttpRequest,
    payload: web::Payload,
    proxy: &Proxy,
    transport: &Transport,
    model: &str,
) -> Result<HttpResponse, Error> {
    let ctx = authenticate_gemini(&proxy.auth, req).await?;
    let body = read_body(req, payload, proxy.max_body_bytes).await?;
    let target = dispatch::single_target(proxy, transport, &ctx, req, Some(model))?;
    let wire = parse_typed::<GenerateContentRequest>(&body)?;
    let canonical = forge_core::gemini::convert::request_to_canonical(&target.model, &wire)?;
    Ok(HttpResponse::Ok().json(json!({ "totalTokens": estimate_tokens(&canonical) })))
}

/// `generateContent` and `streamGenerateContent`: the model and the action are in the path.
#[derive(Default)]
pub struct GenerateContent;

pub struct Inbound<'a> {
    body: PhantomData<&'a Bytes>,
    canonical: Option<ChatRequest>,
}

impl ClientDialect for GenerateContent {
    type Inbound<'a> = Inbound<'a>;
    const DIALECT: Dialect = Dialect::Gemini;

    /// Google's clients also send `?key=` or `x-goog-api-key`.
    async fn authenticate(
        &self,
        auth: &Authenticator,
        req: &HttpRequest,
    ) -> Result<Arc<AuthContext>, Error> {
        authenticate_gemini(auth, req).await
    }

    fn read<'a>(&self, req: &HttpRequest, _body: &'a Bytes) -> Result<(Head, Inbound<'a>), Error> {
        let (model, action) = parse_target(req.match_info().query("target"))?;
        let head = Head {
            model: Some(model),
            stream: action == Action::StreamGenerate,
            endpoint: "generateContent",
            prompt: Prompt::Gemini,
            max_tokens: None,
        };
        let inbound = Inbound {
            body: PhantomData,
            canonical: None,
        };
        Ok((head, inbound))
    }

    async fn attempt<'a>(
        &self,
        inbound: &mut Self::Inbound<'a>,
        cx: &Attempt<'_>,
        target: Target,
    ) -> Result<HttpResponse, Error> {
        if let Upstream::Gemini(adapter) = &target.upstream {
            let upstream_req = adapter.passthrough(&target.model, cx.body.clone(), cx.stream);
            let how = Passthrough {
                terminal: StreamEnd::GeminiFinish,
                usage: SniffDialect::Gemini,
                strip_usage: false,
            };
            return pipeline::passthrough(cx.transport, target, upstream_req, cx.stream, how).await;
        }
        let mut request = match &inbound.canonical {
            Some(parsed) => parsed.clone(),
            None => {
                let wire = parse_typed::<GenerateContentRequest>(cx.body)?;
                let parsed =
                    forge_core::gemini::convert::request_to_canonical(&target.model, &wire)?;
                inbound.canonical = Some(parsed.clone());
                parsed
            }
        };
        request.model = target.model.clone();
        request.stream = cx.stream;
        pipeline::translated(cx.transport, target, &request, Render::Gemini).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            parse_target("gemini-2.5-flash:generateContent").unwrap(),
            ("gemini-2.5-flash".into(), Action::Generate)
        );
        assert_eq!(
            parse_target("openai/gpt-4o:streamGenerateContent").unwrap(),
            ("openai/gpt-4o".into(), Action::StreamGenerate)
        );
        assert_eq!(
            parse_target("openai%2Fgpt-4o:countTokens").unwrap(),
            ("openai/gpt-4o".into(), Action::CountTokens)
        );
        assert_eq!(parse_target("models/x:generateContent").unwrap().0, "x");
        assert!(parse_target("gemini-2.5-flash").is_err());
        assert!(parse_target("x:embedContent").is_err());
    }
}
