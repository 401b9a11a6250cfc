//! Google's generateContent dialect (`/v1beta/models/{model}:generateContent`,
//! `:streamGenerateContent`, `:countTokens`, also under `/v1/models/...` where current
//! google-genai SDKs call), to any upstream: natively to Gemini, translated to everything else.
//! Errors are Google's `{"error":{"code","message","status"}}` with the upstream's status.

use actix_web::{HttpRequest, HttpResponse, web};
use forge_core::Error;
use forge_core::canonical::ChatRequest;
use forge_core::gemini::GenerateContentRequest;
use serde_json::json;

use crate::auth::forge_key::authenticate_gemini;
use crate::error::ProxyError;
use crate::proxy::dialect::Dialect;
use crate::proxy::dispatch::{self, Call, Target, dispatch};
use crate::proxy::messages::estimate_tokens;
use crate::proxy::pipeline::Passthrough;
use crate::proxy::pipeline::{self, parse_typed, read_body};
use crate::proxy::translate::Render;
use crate::proxy::transport::Transport;
use crate::proxy::upstream::Upstream;
use crate::state::AppState;
use crate::usage::estimate::{Prompt, estimator};
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

pub async fn generate(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    transport: web::Data<Transport>,
) -> Result<HttpResponse, ProxyError> {
    gemini_route(&req, payload, &state, &transport)
        .await
        .map_err(ProxyError::in_dialect(Dialect::Gemini))
}

async fn gemini_route(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    transport: &Transport,
) -> Result<HttpResponse, Error> {
    let ctx = authenticate_gemini(state, req).await?;
    let (model, action) = parse_target(req.match_info().query("target"))?;
    let body = read_body(req, payload, state.settings.max_body_bytes).await?;
    if action == Action::CountTokens {
        // No counting endpoint is called: an estimate, as for Anthropic's count_tokens.
        let target = dispatch::single_target(state, transport, &ctx, req, Some(&model))?;
        let wire = parse_typed::<GenerateContentRequest>(&body)?;
        let canonical = forge_core::gemini::convert::request_to_canonical(&target.model, &wire)?;
        return Ok(HttpResponse::Ok().json(json!({ "totalTokens": estimate_tokens(&canonical) })));
    }
    let stream = action == Action::StreamGenerate;
    let mut canonical: Option<ChatRequest> = None;
    let call = Call {
        req,
        ctx: &ctx,
        model: Some(&model),
        stream,
        dialect: Dialect::Gemini,
        endpoint: "generateContent",
        estimate: estimator(Prompt::Gemini, body.clone()),
        reserve_tokens: Call::reserve_for(body.len()),
        max_tokens: None,
    };
    dispatch(state, transport, call, async |target: Target| {
        if let Upstream::Gemini(adapter) = &target.upstream {
            let upstream_req = adapter.passthrough(&target.model, body.clone(), stream);
            let how = Passthrough {
                terminal: StreamEnd::GeminiFinish,
                usage: SniffDialect::Gemini,
                strip_usage: false,
            };
            return pipeline::passthrough(transport, target, upstream_req, stream, how).await;
        }
        let mut request = match &canonical {
            Some(parsed) => parsed.clone(),
            None => {
                let wire = parse_typed::<GenerateContentRequest>(&body)?;
                let parsed =
                    forge_core::gemini::convert::request_to_canonical(&target.model, &wire)?;
                canonical = Some(parsed.clone());
                parsed
            }
        };
        request.model = target.model.clone();
        request.stream = stream;
        pipeline::translated(transport, target, &request, Render::Gemini).await
    })
    .await
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
