//! `POST /v1/messages` and `/v1/messages/count_tokens` in Anthropic's dialect, to any upstream:
//! natively to Anthropic, translated through the canonical form to everything else. Errors are
//! Anthropic's `{"type":"error","error":{...}}` with the upstream's status.

use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use forge_core::Error;
use forge_core::anthropic::{CountTokensRequest, MessagesRequest};
use forge_core::canonical::{ChatRequest, ContentPart};
use forge_core::json::RawObject;
use serde_json::json;

use crate::auth::forge_key::authenticate;
use crate::error::ProxyError;
use crate::proxy::client::{Attempt, ClientDialect, Head};
use crate::proxy::dialect::Dialect;
use crate::proxy::dispatch::{self, Target};
use crate::proxy::handle::Proxy;
use crate::proxy::pipeline::Passthrough;
use crate::proxy::pipeline::{self, parse_typed, read_body};
use crate::proxy::translate::Render;
use crate::proxy::transport::{MAX_UPSTREAM_BODY, Transport};
use crate::proxy::upstream::Upstream;
use crate::proxy::{max_tokens_of, with_model};
use crate::usage::estimate::Prompt;
use forge_core::stream_end::StreamEnd;
use forge_core::usage_sniff::SniffDialect;

pub async fn count_tokens(
    req: HttpRequest,
    payload: web::Payload,
    proxy: web::Data<Proxy>,
    transport: web::Data<Transport>,
) -> Result<HttpResponse, ProxyError> {
    count_tokens_route(&req, payload, &proxy, &transport)
        .await
        .map_err(ProxyError::in_dialect(Dialect::Anthropic))
}

fn beta_header(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get("anthropic-beta")
        .and_then(|v| v.to_str().ok())
}

#[derive(Default)]
pub struct Messages;

pub struct Inbound<'a> {
    object: RawObject<'a>,
    /// The model the client named, echoed in translated answers.
    requested: String,
    canonical: Option<ChatRequest>,
}

impl ClientDialect for Messages {
    type Inbound<'a> = Inbound<'a>;
    const DIALECT: Dialect = Dialect::Anthropic;

    fn read<'a>(&self, _req: &HttpRequest, body: &'a Bytes) -> Result<(Head, Inbound<'a>), Error> {
        let object = RawObject::parse(body)?;
        let model = object.get_str("model")?;
        let head = Head {
            stream: object.get_bool("stream")?.unwrap_or(false),
            endpoint: "messages",
            prompt: Prompt::Anthropic,
            max_tokens: max_tokens_of(&object, &["max_tokens"]),
            model: model.clone(),
        };
        let inbound = Inbound {
            object,
            requested: model.unwrap_or_default(),
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
        if let Upstream::Anthropic(adapter) = &target.upstream {
            let upstream_req = adapter.passthrough(
                with_model(&inbound.object, &target.model),
                beta_header(cx.req),
            );
            let how = Passthrough {
                terminal: StreamEnd::AnthropicStop,
                usage: SniffDialect::Anthropic,
                strip_usage: false,
            };
            return pipeline::passthrough(cx.transport, target, upstream_req, cx.stream, how).await;
        }
        let mut request = match &inbound.canonical {
            Some(parsed) => parsed.clone(),
            None => {
                let wire: MessagesRequest = parse_typed(cx.body)?;
                let parsed = forge_core::anthropic::convert::request_to_canonical(&wire);
                inbound.canonical = Some(parsed.clone());
                parsed
            }
        };
        request.model = target.model.clone();
        request.stream = cx.stream;
        let render = Render::Anthropic {
            requested_model: inbound.requested.clone(),
        };
        pipeline::translated(cx.transport, target, &request, render).await
    }
}

async fn count_tokens_route(
    req: &HttpRequest,
    payload: web::Payload,
    proxy: &Proxy,
    transport: &Transport,
) -> Result<HttpResponse, Error> {
    let ctx = authenticate(&proxy.auth, req).await?;
    let body = read_body(req, payload, proxy.max_body_bytes).await?;
    let object = RawObject::parse(&body)?;
    let model = object.get_str("model")?;
    let mut wire: CountTokensRequest = parse_typed(&body)?;
    let target = dispatch::single_target(proxy, transport, &ctx, req, model.as_deref())?;
    if let Upstream::Anthropic(adapter) = &target.upstream {
        wire.model = target.model.clone();
        let upstream_req = adapter.count_tokens_request(&wire, beta_header(req))?;
        let mut resp = pipeline::send(transport, &target, upstream_req).await?;
        let answer = transport
            .read_body(&target.provider, &mut resp, MAX_UPSTREAM_BODY)
            .await?;
        return Ok(HttpResponse::Ok()
            .content_type("application/json")
            .body(answer));
    }
    // Other providers have no counting endpoint: estimate as Forge v1 does (about 4 characters
    // per token, plus a few tokens of framing per message). Usage is billed from real counts.
    let mut messages = MessagesRequest::new(target.model, 1, wire.messages.clone());
    messages.system = wire.system.clone();
    messages.tools = wire.tools.clone();
    let canonical = forge_core::anthropic::convert::request_to_canonical(&messages);
    Ok(HttpResponse::Ok().json(json!({ "input_tokens": estimate_tokens(&canonical) })))
}

/// A rough token estimate for providers without a counting endpoint.
pub fn estimate_tokens(req: &ChatRequest) -> u64 {
    fn chars(part: &ContentPart) -> usize {
        match part {
            ContentPart::Text { text } | ContentPart::Reasoning { text, .. } => text.len(),
            ContentPart::ToolCall {
                name, arguments, ..
            } => name.len() + arguments.len(),
            ContentPart::ToolResult { content, .. } | ContentPart::ToolError { content, .. } => {
                content.iter().map(chars).sum()
            }
            _ => 0,
        }
    }
    let mut total: usize = 0;
    for message in &req.messages {
        total += 16 + message.content.iter().map(chars).sum::<usize>();
    }
    for tool in &req.tools {
        total += tool.name.len() + tool.description.as_deref().map_or(0, str::len);
        total += tool.parameters.as_ref().map_or(0, |p| p.to_string().len());
    }
    (total as u64).div_ceil(4)
}
