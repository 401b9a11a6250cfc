//! The pass-through: `/passthrough/{provider}/{path}` and the `[[forward]]` mounts of
//! forge.toml reach a provider path Forge does not model (fine-tuning jobs, vector stores, a
//! host's own endpoints). Any method, query and body go to `{path}` under the provider key's
//! base URL with Forge's key swapped for the provider's credentials; the answer comes back as
//! the provider sent it (status, headers, bytes), streamed both ways. Authentication, limits,
//! usage records and logs are the model routes' own (`dispatch::forward`): usage is read from
//! the answer when it carries a usage object, else recorded as unknown tokens.

use std::cell::Cell;
use std::rc::Rc;

use actix_web::http::header::{self, HeaderMap};
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use forge_core::Error;
use forge_core::usage_sniff::SniffDialect;

use crate::auth::forge_key::authenticate_gemini;
use crate::error::ProxyError;
use crate::metrics::worker::WorkerMetrics;
use crate::proxy::as_sent::{Relayed, as_sent, is_hop_by_hop};
use crate::proxy::dialect::Dialect;
use crate::proxy::dispatch::{self, Call, Target};
use crate::proxy::handle::Proxy;
use crate::proxy::transport::{Transport, UpstreamResponse};
use crate::proxy::upstream::Upstream;
use crate::usage::estimate::{Prompt, estimator};

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
    if climbs(path) {
        return Err(Error::invalid(
            "the pass-through path may not contain `.` or `..` segments",
        ));
    }
    let wanted = provider.trim().to_ascii_lowercase();
    if owned_objects(path) && !ctx.providers_in_scope().any(|p| p.name_lower == wanted) {
        return Err(Error::PermissionDenied(
            "files and batches on a forge.toml provider are shared by everyone who uses it: reach them through /v1/files and /v1/batches, which keep each caller's own"
                .to_owned(),
        ));
    }
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
        dispatch::KeyChoice::ByName(provider),
        path,
        async move |target: Target| {
            let body = Body::Stream(payload, limit);
            let resp = send_on(req, &target, transport, &path_and_query, declared, body).await?;
            Ok(as_sent(
                resp,
                target.meter.clone(),
                sniff_dialect(&target.upstream, path),
                &target,
                Relayed::All,
            ))
        },
    )
    .await
}

/// What goes up as the request body.
pub enum Body {
    /// The caller's body, streamed up as it arrives, refused past this many bytes.
    Stream(web::Payload, usize),
    /// A body already read.
    Whole(Bytes),
}

/// Sends the caller's request (its method, headers minus hop-by-hop ones and Forge's
/// credentials, and `body`) to `path_and_query` under the target's base URL, with the
/// provider's credentials; returns the answer's head.
pub async fn send_on(
    req: &HttpRequest,
    target: &Target,
    transport: &Transport,
    path_and_query: &str,
    declared: Option<usize>,
    body: Body,
) -> Result<UpstreamResponse, Error> {
    let adapter = target.upstream.adapter();
    let to = adapter.forward(path_and_query);
    let mut headers = outgoing_headers(req.headers());
    for (name, value) in &to.defaults {
        if !headers.iter().any(|(n, _)| n.as_str() == *name) {
            headers.push(((*name).to_owned(), value.clone()));
        }
    }
    for (name, value) in to.credentials {
        headers.push((name.to_owned(), value));
    }
    let meter = target.meter.as_ref();
    if let Some(meter) = meter {
        headers.extend(meter.sent().into_iter().map(|(n, v)| (n.to_owned(), v)));
    }
    let method = req.method().clone();
    let timeouts = &target.timeouts;
    let resp = match body {
        Body::Stream(payload, limit) => {
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
                    method,
                    &to.url,
                    headers,
                    declared,
                    body,
                    timeouts,
                )
                .await;
            if over.get() {
                return Err(Error::PayloadTooLarge { limit });
            }
            sent?
        }
        Body::Whole(bytes) => {
            let length = Some(bytes.len());
            let body = futures_util::stream::iter([Ok(bytes)]);
            transport
                .forward(
                    &target.provider,
                    method,
                    &to.url,
                    headers,
                    length,
                    body,
                    timeouts,
                )
                .await?
        }
    };
    if let Some(meter) = meter {
        meter.reached();
    }
    Ok(resp)
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
        // Cohere's `billed_units` is no shape the sniffer reads: tokens stay unknown.
        Upstream::Cohere(_) => SniffDialect::OpenAiChat,
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

/// The caller's headers minus hop-by-hop ones, its credentials (Forge's key), Forge's own
/// headers, cookies and `accept-encoding`.
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
                // Forge's own request headers (`x-forge-provider`) are for Forge.
                && !name.as_str().starts_with("x-forge-")
                // Identity encoding, so the answer's usage can be read on the way.
                && !matches!(
                    name.as_str(),
                    "host" | "content-length" | "cookie" | "accept-encoding"
                )
        })
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect()
}

/// The query without `key` (a Google-style client's Forge key), the name compared decoded
/// as authentication reads it (`%6Bey` is `key` too).
pub fn without_forge_key(query: &str) -> String {
    query
        .split('&')
        .filter(|pair| {
            let name = pair.split('=').next().unwrap_or_default();
            let decoded = url::form_urlencoded::parse(name.as_bytes())
                .next()
                .map(|(n, _)| n.into_owned())
                .unwrap_or_default();
            !pair.is_empty() && decoded != "key"
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Whether `path` names OpenAI's files or batches (`files/...`, `v1/batches`, Azure's
/// `openai/files`), however its segments are escaped or cased: on a shared forge.toml key
/// these are other callers' objects, which only `/v1/files` and `/v1/batches` keep apart.
fn owned_objects(path: &str) -> bool {
    let decoded = |segment: &str| {
        url::form_urlencoded::parse(segment.as_bytes())
            .map(|(k, v)| {
                if v.is_empty() {
                    k.into_owned()
                } else {
                    format!("{k}={v}")
                }
            })
            .collect::<String>()
            .to_ascii_lowercase()
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let first = path
        .split('/')
        .map(decoded)
        .find(|s| !s.is_empty() && s != "v1" && s != "openai");
    matches!(first.as_deref(), Some("files" | "batches"))
}

/// Whether `path` has a `.` or `..` segment (spelled plainly or percent-encoded), which
/// could climb out of the base URL's own path.
fn climbs(path: &str) -> bool {
    path.split('/').any(|segment| {
        let decoded: String = url::form_urlencoded::parse(segment.as_bytes())
            .map(|(k, v)| {
                if v.is_empty() {
                    k.into_owned()
                } else {
                    format!("{k}={v}")
                }
            })
            .collect();
        let lower = segment.to_ascii_lowercase().replace("%2e", ".");
        matches!(lower.as_str(), "." | "..") || matches!(decoded.as_str(), "." | "..")
    })
}

pub fn declared_length(headers: &HeaderMap) -> Option<usize> {
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
    fn dot_segments_are_refused() {
        for path in ["../other", "a/../../b", "%2e%2E/x", "a/./b", "a/%2e"] {
            assert!(climbs(path), "{path}");
        }
        for path in [
            "fine_tuning/jobs",
            "files/file-1.jsonl",
            "v1/a..b",
            "...",
            "",
        ] {
            assert!(!climbs(path), "{path}");
        }
    }

    #[test]
    fn files_and_batches_paths_are_recognised_however_written() {
        for path in [
            "files",
            "files/file-1/content",
            "v1/batches/batch_1/cancel",
            "/FILES",
            "fil%65s/x",
            "openai/files?api-version=2024-10-21",
            "batches?limit=2",
        ] {
            assert!(owned_objects(path), "{path}");
        }
        for path in [
            "fine_tuning/jobs",
            "models",
            "vector_stores/vs_1/files",
            "",
            "filesystem",
        ] {
            assert!(!owned_objects(path), "{path}");
        }
    }

    #[test]
    fn the_forge_key_leaves_the_query() {
        assert_eq!(without_forge_key("%6Bey=forge-1&a=1"), "a=1");
        assert_eq!(without_forge_key("key=forge-1&limit=2"), "limit=2");
        assert_eq!(without_forge_key("after=x&key=forge-1"), "after=x");
        assert_eq!(without_forge_key("keyword=a"), "keyword=a");
        assert_eq!(without_forge_key(""), "");
    }
}
