//! The pass-through: `/passthrough/{provider}/{path}` and the `[[forward]]` mounts of
//! forge.toml reach a provider path Forge does not model (fine-tuning jobs, vector stores, a
//! host's own endpoints). Any method, query and body go to `{path}` under the provider key's
//! base URL with Forge's key swapped for the provider's credentials; the answer comes back as
//! the provider sent it (status, headers, bytes), streamed both ways. Authentication, limits,
//! usage records and logs are the model routes' own (`dispatch::forward`): usage is read from
//! the answer when it carries a usage object, else recorded as unknown tokens.

use std::cell::Cell;
use std::rc::Rc;

use actix_web::http::header::{self, HeaderMap, HeaderName};
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::{Bytes, BytesMut};
use forge_core::Error;
use forge_core::usage_sniff::{SniffDialect, usage_from_body};
use futures_util::StreamExt;

use crate::auth::forge_key::authenticate_gemini;
use crate::error::ProxyError;
use crate::metrics::worker::WorkerMetrics;
use crate::proxy::dialect::Dialect;
use crate::proxy::dispatch::{self, Call, Target};
use crate::proxy::handle::Proxy;
use crate::proxy::transport::{Transport, UpstreamResponse};
use crate::proxy::upstream::Upstream;
use crate::usage::estimate::{Prompt, estimator};
use crate::usage::meter::Meter;

/// JSON answers up to this size are kept aside (while streamed) to read their usage.
const MAX_SNIFFED_JSON: usize = 4 * 1024 * 1024;

/// `/passthrough/{provider}/{path}`.
pub async fn passthrough(
    req: HttpRequest,
    payload: web::Payload,
    path: web::Path<(String, String)>,
    proxy: web::Data<Proxy>,
    transport: web::Data<Transport>,
    metrics: web::Data<Rc<WorkerMetrics>>,
) -> Result<HttpResponse, ProxyError> {
    let (provider, _) = path.into_inner();
    // The path as the client wrote it (percent-escapes kept), not the decoded match.
    let raw = req.path().to_owned();
    let rest = raw
        .strip_prefix("/passthrough/")
        .and_then(|r| r.split_once('/'))
        .map_or("", |(_, rest)| rest);
    run(&req, payload, &provider, rest, &proxy, &transport, &metrics).await
}

/// Every path no route matched: a `[[forward]]` mount's, else a 404.
pub async fn mounted(
    req: HttpRequest,
    payload: web::Payload,
    proxy: web::Data<Proxy>,
    transport: web::Data<Transport>,
    metrics: web::Data<Rc<WorkerMetrics>>,
) -> Result<HttpResponse, ProxyError> {
    let snapshot = proxy.routing.snapshot();
    let mount = forge_router::forward::ForwardMount::find(&snapshot.config.forward, req.path())
        .map(|(mount, rest)| (mount.provider.clone(), rest.to_owned()));
    drop(snapshot);
    match mount {
        Some((provider, rest)) => {
            run(
                &req, payload, &provider, &rest, &proxy, &transport, &metrics,
            )
            .await
        }
        None => Ok(crate::extract_errors::not_found(req).await),
    }
}

async fn run(
    req: &HttpRequest,
    payload: web::Payload,
    provider: &str,
    path: &str,
    proxy: &Proxy,
    transport: &Transport,
    metrics: &Rc<WorkerMetrics>,
) -> Result<HttpResponse, ProxyError> {
    let obs = metrics.request("passthrough", "passthrough", req.headers());
    let path = path.trim_start_matches('/');
    let result = forward(req, payload, provider, path, proxy, transport, &obs).await;
    crate::proxy::client::respond(&obs, result, Dialect::OpenAi)
}

async fn forward(
    req: &HttpRequest,
    payload: web::Payload,
    provider: &str,
    path: &str,
    proxy: &Proxy,
    transport: &Transport,
    obs: &crate::metrics::worker::RequestObs,
) -> Result<HttpResponse, Error> {
    let ctx = authenticate_gemini(&proxy.auth, req).await?;
    let declared = declared_length(req.headers());
    if declared.is_some_and(|len| len > proxy.max_body_bytes) {
        return Err(Error::PayloadTooLarge {
            limit: proxy.max_body_bytes,
        });
    }
    let query = without_forge_key(req.query_string());
    let path_and_query = match query.is_empty() {
        true => path.trim_start_matches('/').to_owned(),
        false => format!("{}?{query}", path.trim_start_matches('/')),
    };
    obs.head("passthrough", None);
    let call = Call {
        req,
        ctx: &ctx,
        model: None,
        stream: false,
        dialect: Dialect::OpenAi,
        endpoint: "passthrough",
        estimate: estimator(Prompt::Raw, Bytes::new()),
        reserve_tokens: Call::reserve_for(declared.unwrap_or(0)),
        max_tokens: None,
        obs,
    };
    let limit = proxy.max_body_bytes;
    dispatch::forward(
        proxy,
        transport,
        call,
        provider,
        path,
        async move |target: Target| {
            let adapter = target.upstream.adapter();
            let to = adapter.forward(&path_and_query);
            let mut headers = outgoing_headers(req.headers());
            for (name, value) in &to.defaults {
                if !headers.iter().any(|(n, _)| n.as_str() == *name) {
                    headers.push(((*name).to_owned(), value.clone()));
                }
            }
            for (name, value) in to.credentials {
                headers.push((name.to_owned(), value));
            }
            let meter = target.meter.clone();
            if let Some(meter) = &meter {
                headers.extend(meter.sent().into_iter().map(|(n, v)| (n.to_owned(), v)));
            }
            let over = Rc::new(Cell::new(false));
            let body = Limited {
                inner: payload,
                seen: 0,
                limit,
                over: over.clone(),
            };
            let sent = transport
                .forward(
                    &target.provider,
                    req.method().clone(),
                    &to.url,
                    headers,
                    declared,
                    body,
                    &target.timeouts,
                )
                .await;
            if over.get() {
                return Err(Error::PayloadTooLarge { limit });
            }
            let resp = sent?;
            if let Some(meter) = &meter {
                meter.reached();
            }
            Ok(answer(
                resp,
                meter,
                sniff_dialect(&target.upstream, path),
                &target,
            ))
        },
    )
    .await
}

/// The answer as the provider sent it, its body streamed through a [`Tap`].
fn answer(
    resp: UpstreamResponse,
    meter: Option<Meter>,
    dialect: SniffDialect,
    target: &Target,
) -> HttpResponse {
    let status = resp.status();
    let mut out = HttpResponse::build(status);
    for (name, value) in resp.headers() {
        if !is_hop_by_hop(name) && name != header::CONTENT_LENGTH {
            out.append_header((name.clone(), value.clone()));
        }
    }
    let content_type = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let sse = content_type.starts_with("text/event-stream");
    let json = content_type.contains("json");
    if let Some(meter) = &meter
        && sse
    {
        meter.sniff(dialect);
    }
    let tap = Tap {
        provider: target.provider.clone(),
        upstream: Some(resp),
        meter,
        status: status.as_u16(),
        dialect,
        events: sse.then(BytesMut::new),
        json: json.then(BytesMut::new),
        idle: target.timeouts.idle,
        done: false,
    };
    out.streaming(futures_util::stream::unfold(tap, |mut tap| async move {
        let next = tap.next().await?;
        Some((next, tap))
    }))
}

/// Reads an answer's body on its way to the client: usage from a JSON body or SSE events,
/// and the usage record settled at the end (or when the client leaves).
struct Tap {
    provider: String,
    upstream: Option<UpstreamResponse>,
    meter: Option<Meter>,
    status: u16,
    dialect: SniffDialect,
    /// Incomplete SSE event text (SSE answers only).
    events: Option<BytesMut>,
    /// The JSON body so far (JSON answers up to [`MAX_SNIFFED_JSON`]).
    json: Option<BytesMut>,
    idle: std::time::Duration,
    done: bool,
}

impl Tap {
    async fn next(&mut self) -> Option<Result<Bytes, actix_web::Error>> {
        let upstream = self.upstream.as_mut()?;
        match tokio::time::timeout(self.idle, upstream.next()).await {
            Ok(Some(Ok(chunk))) => {
                self.look(&chunk);
                Some(Ok(chunk))
            }
            Ok(None) => {
                self.end(None);
                None
            }
            Ok(Some(Err(e))) => {
                self.end(Some(&Error::UpstreamUnreachable {
                    provider: self.provider.clone(),
                    message: format!("the response body broke off: {e}"),
                }));
                Some(Err(actix_web::error::ErrorBadGateway(
                    "upstream body broke off",
                )))
            }
            Err(_) => {
                self.end(Some(&Error::UpstreamTimeout {
                    provider: self.provider.clone(),
                    phase: forge_core::TimeoutPhase::Idle,
                }));
                Some(Err(actix_web::error::ErrorGatewayTimeout(
                    "upstream went idle",
                )))
            }
        }
    }

    fn look(&mut self, chunk: &Bytes) {
        let Some(meter) = &self.meter else { return };
        if let Some(pending) = &mut self.events {
            pending.extend_from_slice(chunk);
            let mut start = 0;
            for end in forge_core::stream_end::event_ends(pending) {
                if let (_, Some(data)) = forge_core::stream_end::fields(&pending[start..end]) {
                    meter.observe(&data);
                }
                start = end;
            }
            let _ = pending.split_to(start);
            if pending.len() > MAX_SNIFFED_JSON {
                self.events = None;
            }
        }
        if let Some(json) = &mut self.json {
            if json.len() + chunk.len() > MAX_SNIFFED_JSON {
                self.json = None;
            } else {
                json.extend_from_slice(chunk);
            }
        }
    }

    fn end(&mut self, error: Option<&Error>) {
        self.done = true;
        self.upstream = None;
        if let Some(meter) = self.meter.take() {
            if let Some(json) = self.json.take()
                && let Some(usage) = usage_from_body(self.dialect, &json)
            {
                meter.set_usage(usage);
            }
            meter.upstream_done();
            meter.settle(self.status, error, false);
        }
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        if !self.done
            && let Some(meter) = self.meter.take()
        {
            drop(self.upstream.take());
            meter.settle(self.status, None, true);
        }
    }
}

/// Which usage shape the provider's answers carry (the path tells OpenAI's apart).
fn sniff_dialect(upstream: &Upstream, path: &str) -> SniffDialect {
    let path = path
        .split('?')
        .next()
        .unwrap_or_default()
        .trim_end_matches('/');
    match upstream {
        Upstream::Anthropic(_) => SniffDialect::Anthropic,
        Upstream::Gemini(_) => SniffDialect::Gemini,
        Upstream::OpenAi(_) if path.ends_with("responses") => SniffDialect::OpenAiResponses,
        Upstream::OpenAi(_) if path.ends_with("embeddings") => SniffDialect::OpenAiEmbeddings,
        Upstream::OpenAi(_)
            if path.ends_with("completions") && !path.ends_with("chat/completions") =>
        {
            SniffDialect::OpenAiCompletions
        }
        Upstream::OpenAi(_) => SniffDialect::OpenAiChat,
    }
}

/// The caller's headers minus hop-by-hop ones, its credentials (Forge's key) and cookies.
fn outgoing_headers(incoming: &HeaderMap) -> Vec<(String, String)> {
    let listed: Vec<String> = incoming
        .get_all(header::CONNECTION)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_ascii_lowercase())
        .collect();
    incoming
        .iter()
        .filter(|(name, _)| {
            !is_hop_by_hop(name)
                && !listed.iter().any(|l| l == name.as_str())
                && !forge_core::upstream::is_secret_header(name.as_str())
                && !matches!(name.as_str(), "host" | "content-length" | "cookie")
        })
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect()
}

fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
    )
}

/// The query without `key` (a Google-style client's Forge key).
fn without_forge_key(query: &str) -> String {
    query
        .split('&')
        .filter(|pair| !pair.is_empty() && pair.split('=').next() != Some("key"))
        .collect::<Vec<_>>()
        .join("&")
}

fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// The caller's body, streamed up, cut off past the body limit.
pub struct Limited {
    inner: web::Payload,
    seen: usize,
    limit: usize,
    /// Set when the limit was passed (the attempt then answers 413).
    over: Rc<Cell<bool>>,
}

impl futures_util::Stream for Limited {
    type Item = Result<Bytes, actix_web::error::PayloadError>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let this = &mut *self;
        match std::pin::Pin::new(&mut this.inner).poll_next(cx) {
            std::task::Poll::Ready(Some(Ok(chunk))) => {
                this.seen = this.seen.saturating_add(chunk.len());
                if this.seen > this.limit {
                    this.over.set(true);
                    return std::task::Poll::Ready(Some(Err(
                        actix_web::error::PayloadError::Overflow,
                    )));
                }
                std::task::Poll::Ready(Some(Ok(chunk)))
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forge_key_leaves_the_query() {
        assert_eq!(without_forge_key("key=forge-1&limit=2"), "limit=2");
        assert_eq!(without_forge_key("after=x&key=forge-1"), "after=x");
        assert_eq!(without_forge_key("keyword=a"), "keyword=a");
        assert_eq!(without_forge_key(""), "");
    }
}
