//! The two ways a request reaches an upstream. **Passthrough** when the client already speaks
//! the upstream's dialect: the body goes out with only `model` rewritten and the answer comes
//! back byte for byte. **Translation** otherwise: client dialect -> canonical -> upstream
//! dialect, and the answer back the same way.

use actix_web::HttpRequest;
use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use actix_web::web;
use bytes::{Bytes, BytesMut};
use forge_core::Error;
use forge_core::canonical::{ChatRequest, ChatResponse};
use forge_core::upstream::UpstreamRequest;
use forge_core::usage_sniff::{BodyFacts, SniffDialect, body_facts};
use futures_util::StreamExt;

use crate::proxy::dispatch::Target;
use crate::proxy::framer::Verbatim;
use crate::proxy::relay::{self, Watch};
use crate::proxy::translate::{Decoder, OnFinish, Render, Translated};
use crate::proxy::transport::{MAX_UPSTREAM_BODY, Transport, UpstreamResponse};
use forge_core::stream_end::StreamEnd;

/// Error bodies are short; a larger one is cut off rather than buffered.
const MAX_ERROR_BODY: usize = 1024 * 1024;
/// Buffer reserved up front for a request body, whatever Content-Length claims.
const INITIAL_BODY_CAPACITY: usize = 64 * 1024;

/// Upstream response headers worth passing on (request ids and rate-limit information).
pub fn forwardable(name: &str) -> bool {
    name == "x-request-id"
        || name == "request-id"
        || name.starts_with("x-ratelimit-")
        || name.starts_with("anthropic-ratelimit-")
        || name == "openai-processing-ms"
        || name == "openai-version"
        || name == "retry-after"
}

/// Sends and turns a non-2xx answer into the upstream's error (status kept, secrets scrubbed).
pub async fn send(
    transport: &Transport,
    target: &Target,
    req: UpstreamRequest,
) -> Result<UpstreamResponse, Error> {
    let provider = target.provider.as_str();
    let mut req = req;
    if let Some(meter) = &target.meter {
        req.headers.extend(meter.sent());
    }
    let mut resp = transport
        .send_within(provider, req, &target.timeouts)
        .await?;
    let status = resp.status();
    if let Some(meter) = &target.meter {
        meter.reached();
    }
    if status.is_success() {
        target.accepted.set(true);
        return Ok(resp);
    }
    let retry_after = resp
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = transport
        .read_body_within(provider, &mut resp, MAX_ERROR_BODY, target.timeouts.idle)
        .await?;
    upstream_done(target);
    if let Some(meter) = &target.meter {
        meter.capture_response(&body);
    }
    tracing::info!(
        provider,
        status = status.as_u16(),
        "upstream answered with an error"
    );
    Err(target
        .upstream
        .adapter()
        .parse_error(status.as_u16(), retry_after.as_deref(), &body))
}

/// How a passed-through answer ends and reports its usage.
#[derive(Debug, Clone, Copy)]
pub struct Passthrough {
    pub terminal: StreamEnd,
    pub usage: SniffDialect,
    /// Forge asked for the usage chunk (OpenAI `stream_options.include_usage`) on the
    /// client's behalf: it is dropped from the client's stream.
    pub strip_usage: bool,
}

/// Relays the upstream's answer unchanged: streamed as it arrives, or whole.
pub async fn passthrough(
    transport: &Transport,
    target: Target,
    req: UpstreamRequest,
    stream: bool,
    how: Passthrough,
) -> Result<HttpResponse, Error> {
    let resp = send(transport, &target, req).await?;
    relay_answer(transport, target, resp, stream, how).await
}

/// Relays an upstream's successful answer unchanged (the second half of `passthrough`, for
/// callers that look at a failed `send` before giving up).
pub async fn relay_answer(
    transport: &Transport,
    mut target: Target,
    mut resp: UpstreamResponse,
    stream: bool,
    how: Passthrough,
) -> Result<HttpResponse, Error> {
    let mut whole = None;
    let mut prefix = None;
    if stream {
        match peek(transport, &target, &mut resp).await? {
            Peeked::Whole(body) => whole = Some(body),
            Peeked::Stream(first) => prefix = first,
        }
    }
    let provider = target.provider.as_str();
    if stream && whole.is_none() {
        let meter = target.meter.take();
        if let Some(meter) = &meter {
            meter.sniff(how.usage);
        }
        let content_type = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("text/event-stream")
            .to_owned();
        let shape = Verbatim::new(how.terminal, how.strip_usage, content_type);
        let watch = Watch {
            outcome: target.outcome.take(),
            meter,
            close: Some(transport.closing.register()),
        };
        return relay::stream(resp, prefix, shape, provider, target.timeouts, watch).await;
    }
    let body = match whole {
        Some(body) => body,
        None => {
            transport
                .read_body_within(provider, &mut resp, MAX_UPSTREAM_BODY, target.timeouts.idle)
                .await?
        }
    };
    upstream_done(&target);
    // One parse reads the usage and proves the body whole; only a body without usage (or a
    // broken one) is parsed again to tell which.
    let BodyFacts {
        usage,
        finish_reasons,
    } = if is_json(&resp) {
        body_facts(how.usage, &body)
    } else {
        BodyFacts::default()
    };
    if usage.is_none()
        && is_json(&resp)
        && serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_err()
    {
        // A body cut short by a dropped connection looks complete to awc; never pass it on.
        return Err(Error::UpstreamUnreachable {
            provider: provider.to_owned(),
            message: "the response body was incomplete or not valid JSON".into(),
        });
    }
    if let Some(meter) = &target.meter {
        meter.capture_response(&body);
        if let Some(usage) = usage {
            meter.set_usage(usage);
        }
        for reason in &finish_reasons {
            meter.finish_reason(reason);
        }
    }
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::OK);
    let mut out = HttpResponse::build(status);
    for (name, value) in resp.headers() {
        if name == header::CONTENT_TYPE || forwardable(name.as_str()) {
            out.insert_header((name.clone(), value.clone()));
        }
    }
    Ok(out.body(body))
}

/// Most names `x-forge-dropped` lists, and the longest name it keeps.
const MAX_DROPPED: usize = 20;
const MAX_DROPPED_NAME: usize = 64;

/// Names, in the `x-forge-dropped` response header, what the translation for this upstream
/// left out of the client's request (see `ChatRequest::dropped_for`). Names come from the
/// client's own field and type names, cut to a safe header alphabet.
pub fn mark_dropped(resp: &mut HttpResponse, dialect: &str, request: &ChatRequest) {
    let dropped = request.dropped_for(dialect);
    if dropped.is_empty() {
        return;
    }
    let names: Vec<String> = dropped
        .iter()
        .take(MAX_DROPPED)
        .map(|name| {
            name.chars()
                .filter(|c| c.is_ascii_alphanumeric() || "_.:-[]".contains(*c))
                .take(MAX_DROPPED_NAME)
                .collect::<String>()
        })
        .filter(|name| !name.is_empty())
        .collect();
    if let Ok(value) = header::HeaderValue::from_str(&names.join(", ")) {
        resp.headers_mut()
            .insert(header::HeaderName::from_static("x-forge-dropped"), value);
    }
}

/// Sends a canonical request to any upstream and answers in the client's dialect.
pub async fn translated(
    transport: &Transport,
    target: Target,
    request: &ChatRequest,
    render: Render,
) -> Result<HttpResponse, Error> {
    let upstream_req = target.upstream.adapter().chat_request(request)?;
    let dialect = target.upstream.adapter().dialect();
    let mut resp = send(transport, &target, upstream_req).await?;
    let mut out = if request.stream {
        translate_stream(transport, resp, target, request, &render, None).await?
    } else {
        let answer = read_answer(transport, &target, request, &mut resp).await?;
        let body = render.response(&answer)?;
        if let Some(meter) = &target.meter {
            // What the client gets, rather than the upstream's dialect.
            meter.capture_response(&body);
        }
        HttpResponse::Ok()
            .content_type("application/json")
            .body(body)
    };
    mark_dropped(&mut out, dialect, request);
    Ok(out)
}

/// Relays an upstream stream translated into the client's dialect.
pub async fn translate_stream(
    transport: &Transport,
    mut resp: UpstreamResponse,
    mut target: Target,
    request: &ChatRequest,
    render: &Render,
    on_finish: Option<OnFinish>,
) -> Result<HttpResponse, Error> {
    let prefix = match peek(transport, &target, &mut resp).await? {
        Peeked::Whole(body) => {
            // Answered whole although a stream was asked: the answer in the client's dialect,
            // as one JSON body (documented in the README).
            let answer = answer_from(&target, request, &body)?;
            let body = render.response(&answer)?;
            if let Some(meter) = &target.meter {
                meter.capture_response(&body);
            }
            return Ok(HttpResponse::Ok()
                .content_type("application/json")
                .body(body));
        }
        Peeked::Stream(first) => first,
    };
    let outcome = target.outcome.take();
    let meter = target.meter.take();
    let timeouts = target.timeouts;
    let provider = target.provider.clone();
    let decoder = Decoder::new(&target.upstream, &provider, &request.model);
    let shape = Translated::new(decoder, render.encoder(), on_finish);
    relay::stream(
        resp,
        prefix,
        shape,
        &provider,
        timeouts,
        Watch {
            outcome,
            meter,
            close: Some(transport.closing.register()),
        },
    )
    .await
}

/// A whole non-streamed answer, parsed into the canonical form.
pub async fn read_answer(
    transport: &Transport,
    target: &Target,
    request: &ChatRequest,
    resp: &mut UpstreamResponse,
) -> Result<ChatResponse, Error> {
    let body = transport
        .read_body_within(
            &target.provider,
            resp,
            MAX_UPSTREAM_BODY,
            target.timeouts.idle,
        )
        .await?;
    upstream_done(target);
    answer_from(target, request, &body)
}

/// The upstream's body was read whole: the attempt's upstream time ends here.
fn upstream_done(target: &Target) {
    if let Some(meter) = &target.meter {
        meter.upstream_done();
    }
}

/// A whole answer's body, parsed into the canonical form and metered.
fn answer_from(
    target: &Target,
    request: &ChatRequest,
    body: &Bytes,
) -> Result<ChatResponse, Error> {
    let mut answer = target.upstream.adapter().parse_response(body)?;
    if answer.model.is_empty() {
        answer.model = request.model.clone();
    }
    if let Some(meter) = &target.meter {
        meter.set_usage(answer.usage);
        meter.finish_reason(answer.finish_reason.as_openai());
        meter.capture_response(body);
    }
    Ok(answer)
}

/// What came back to a stream request, judged from the body rather than its label.
enum Peeked {
    /// One JSON document (some hosts ignore `stream`): the whole body.
    Whole(Bytes),
    /// A stream; the first chunk when it had to be read to tell.
    Stream(Option<Bytes>),
}

/// Tells a stream from a whole JSON answer. Only an answer labelled JSON is looked at: its
/// first chunk is read, and one that starts a JSON document (rather than an SSE line, which
/// some hosts label JSON) is read to the end.
async fn peek(
    transport: &Transport,
    target: &Target,
    resp: &mut UpstreamResponse,
) -> Result<Peeked, Error> {
    if !is_json(resp) {
        return Ok(Peeked::Stream(None));
    }
    let idle = target.timeouts.first_byte;
    let first = match tokio::time::timeout(idle, resp.next()).await {
        // An ended payload is never polled again: nothing came, so nothing is whole.
        Ok(None) => return Ok(Peeked::Whole(Bytes::new())),
        Ok(Some(Ok(chunk))) => chunk,
        Ok(Some(Err(e))) => {
            return Err(Error::UpstreamUnreachable {
                provider: target.provider.clone(),
                message: format!("the response body broke off: {e}"),
            });
        }
        Err(_) => {
            return Err(Error::UpstreamTimeout {
                provider: target.provider.clone(),
                phase: forge_core::TimeoutPhase::FirstByte,
            });
        }
    };
    let starts_json = first
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| matches!(b, b'{' | b'['));
    if !starts_json {
        return Ok(Peeked::Stream(Some(first)));
    }
    let body = transport
        .read_rest(
            &target.provider,
            resp,
            first,
            MAX_UPSTREAM_BODY,
            target.timeouts.idle,
        )
        .await?;
    upstream_done(target);
    Ok(Peeked::Whole(body))
}

fn is_json(resp: &UpstreamResponse) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"))
}

/// Reads the request body, refusing more than `limit` bytes before buffering them.
pub async fn read_body(
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
    let mut buf =
        BytesMut::with_capacity(declared.unwrap_or(0).min(limit).min(INITIAL_BODY_CAPACITY));
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| Error::invalid(format!("could not read the request body: {e}")))?;
        if buf.len() + chunk.len() > limit {
            return Err(Error::PayloadTooLarge { limit });
        }
        buf.extend_from_slice(&chunk);
    }
    let body = buf.freeze();
    crate::logs::keep_request_body(req, &body);
    Ok(body)
}

/// A typed view of a body for translation; a shape error is the client's mistake.
pub fn parse_typed<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| Error::invalid(format!("invalid request body: {e}")))
}
