//! The upstream transport: one pooled awc client per worker (awc's client is `!Send`), with
//! explicit connect and first-byte timeouts instead of awc's 5 s default, and no redirects (a
//! redirect would resend the provider key to wherever it points).

use std::cell::RefCell;
use std::time::Duration;

use awc::error::{ConnectError, SendRequestError};
use bytes::{Bytes, BytesMut};
use forge_core::upstream::{Method, UpstreamRequest};
use forge_core::{Error, TimeoutPhase};
use futures_util::StreamExt;

use crate::config::Timeouts;
use crate::proxy::resolve_dns::PublicOnly;
use crate::shutdown::{Closing, shutting_down};
use actix_tls::connect::Resolver;

pub type UpstreamResponse = awc::ClientResponse;

/// Largest upstream body Forge will hold in memory for a non-streamed answer.
pub const MAX_UPSTREAM_BODY: usize = 64 * 1024 * 1024;

pub struct Transport {
    /// One client (and connection pool) per connect timeout in use; routes that set their
    /// own get their own pool. Almost always a single entry.
    clients: RefCell<Vec<(Duration, awc::Client)>>,
    allow_private: bool,
    /// The server's defaults; a route may override them per attempt.
    pub timeouts: Timeouts,
    /// Ends this worker's open streams when the shutdown grace period runs out.
    pub closing: Closing,
}

impl Transport {
    pub fn new(timeouts: Timeouts, allow_private: bool, closing: Closing) -> Self {
        let client = build_client(timeouts.connect, timeouts.first_byte, allow_private);
        Transport {
            clients: RefCell::new(vec![(timeouts.connect, client)]),
            allow_private,
            timeouts,
            closing,
        }
    }

    fn client(&self, connect: Duration) -> awc::Client {
        let mut clients = self.clients.borrow_mut();
        if let Some((_, client)) = clients.iter().find(|(c, _)| *c == connect) {
            return client.clone();
        }
        let client = build_client(connect, self.timeouts.first_byte, self.allow_private);
        clients.push((connect, client.clone()));
        client
    }

    /// A pass-through request: the caller's method, headers and body (streamed; sized when
    /// the caller declared a length), answered bytes untouched (no decompression). The same
    /// address rules, timeouts and shutdown signal as every upstream call.
    #[allow(clippy::too_many_arguments)]
    pub async fn forward<S>(
        &self,
        provider: &str,
        method: actix_web::http::Method,
        url: &str,
        headers: Vec<(String, String)>,
        length: Option<usize>,
        body: S,
        timeouts: &Timeouts,
    ) -> Result<UpstreamResponse, Error>
    where
        S: futures_util::Stream<Item = Result<Bytes, actix_web::error::PayloadError>>
            + Unpin
            + 'static,
    {
        if crate::proxy::local::is_local(url) {
            let whole = collect(body).await;
            let whole = whole
                .map_err(|e| Error::invalid(format!("could not read the request body: {e}")))?;
            return Ok(crate::proxy::local::answer_raw(
                method.as_str(),
                url,
                &whole,
            ));
        }
        if !self.allow_private
            && crate::validate::literal_ip(url).is_some_and(crate::validate::ip_is_private)
        {
            return Err(Error::UpstreamUnreachable {
                provider: provider.to_owned(),
                message: "the upstream address is loopback, private or link-local (allowed only with FORGE_ALLOW_PRIVATE_UPSTREAMS=true)".into(),
            });
        }
        let mut builder = self
            .client(timeouts.connect)
            .request(method.clone(), url)
            .timeout(timeouts.first_byte)
            .no_decompress();
        for (name, value) in &headers {
            builder = builder.append_header((name.as_str(), value.as_str()));
        }
        let mut close = self.closing.register();
        let bodiless = matches!(
            method,
            actix_web::http::Method::GET | actix_web::http::Method::HEAD
        ) && length.unwrap_or(0) == 0;
        let sent = if bodiless {
            close.or_closed(builder.send()).await
        } else {
            match length {
                Some(len) => {
                    let sized = actix_http::body::SizedStream::new(len as u64, body);
                    close.or_closed(builder.send_body(sized)).await
                }
                None => close.or_closed(builder.send_stream(body)).await,
            }
        };
        sent.ok_or_else(|| shutting_down("the request ended before the upstream answered"))?
            .map_err(|e| send_error(provider, e))
    }

    /// Sends with the server's default timeouts.
    pub async fn send(
        &self,
        provider: &str,
        req: UpstreamRequest,
    ) -> Result<UpstreamResponse, Error> {
        self.send_within(provider, req, &self.timeouts).await
    }

    /// Sends and waits for the response head, within `timeouts` (connect and first byte).
    pub async fn send_within(
        &self,
        provider: &str,
        req: UpstreamRequest,
        timeouts: &Timeouts,
    ) -> Result<UpstreamResponse, Error> {
        if crate::proxy::local::is_local(&req.url) {
            return Ok(crate::proxy::local::answer(&req));
        }
        // The connector dials an IP literal without asking the resolver, which is where host
        // names are checked: check literals here, so no stored URL reaches a refused address.
        if !self.allow_private
            && crate::validate::literal_ip(&req.url).is_some_and(crate::validate::ip_is_private)
        {
            return Err(Error::UpstreamUnreachable {
                provider: provider.to_owned(),
                message: "the upstream address is loopback, private or link-local (allowed only with FORGE_ALLOW_PRIVATE_UPSTREAMS=true)".into(),
            });
        }
        let client = self.client(timeouts.connect);
        let mut builder = match req.method {
            Method::Get => client.get(&req.url),
            Method::Post => client.post(&req.url),
        };
        builder = builder.timeout(timeouts.first_byte);
        for (name, value) in &req.headers {
            builder = builder.insert_header((*name, value.as_str()));
        }
        // At the end of the shutdown grace period, a request still waiting for its answer
        // gets a 503 rather than a connection dropped a few seconds later.
        let mut close = self.closing.register();
        let sent = match req.method {
            Method::Get => close.or_closed(builder.send()).await,
            Method::Post => close.or_closed(builder.send_body(req.body)).await,
        };
        sent.ok_or_else(|| shutting_down("the request ended before the upstream answered"))?
            .map_err(|e| send_error(provider, e))
    }

    /// Reads a whole (non-streamed) body with the server's idle timeout.
    pub async fn read_body(
        &self,
        provider: &str,
        resp: &mut UpstreamResponse,
        limit: usize,
    ) -> Result<Bytes, Error> {
        self.read_body_within(provider, resp, limit, self.timeouts.idle)
            .await
    }
}

fn build_client(connect: Duration, first_byte: Duration, allow_private: bool) -> awc::Client {
    let resolver = Resolver::custom(PublicOnly { allow_private });
    let connector = awc::Connector::new()
        .connector(actix_tls::connect::Connector::new(resolver).service())
        .timeout(connect)
        .handshake_timeout(connect)
        .conn_keep_alive(Duration::from_secs(60))
        .conn_lifetime(Duration::from_secs(300))
        // No cap per worker: every open stream holds one upstream connection, and a cap
        // would queue streams silently behind it.
        .limit(0);
    awc::Client::builder()
        .connector(connector)
        .timeout(first_byte)
        .disable_redirects()
        .add_default_header(("user-agent", concat!("forge/", env!("CARGO_PKG_VERSION"))))
        .finish()
}

impl Transport {
    /// Reads a whole (non-streamed) body, with `idle` allowed between chunks and a size cap.
    pub async fn read_body_within(
        &self,
        provider: &str,
        resp: &mut UpstreamResponse,
        limit: usize,
        idle: Duration,
    ) -> Result<Bytes, Error> {
        self.read_rest(provider, resp, Bytes::new(), limit, idle)
            .await
    }

    /// Reads the rest of a body whose first bytes (`first`) were already taken from it.
    pub async fn read_rest(
        &self,
        provider: &str,
        resp: &mut UpstreamResponse,
        first: Bytes,
        limit: usize,
        idle: Duration,
    ) -> Result<Bytes, Error> {
        let mut buf = BytesMut::from(first);
        let mut close = self.closing.register();
        loop {
            let next = close
                .or_closed(tokio::time::timeout(idle, resp.next()))
                .await;
            let Some(next) = next else {
                return Err(shutting_down(
                    "the request ended before the upstream's answer was complete",
                ));
            };
            match next {
                Err(_) => {
                    return Err(Error::UpstreamTimeout {
                        provider: provider.to_owned(),
                        phase: TimeoutPhase::Idle,
                    });
                }
                Ok(None) => return Ok(buf.freeze()),
                Ok(Some(Err(e))) => {
                    return Err(Error::UpstreamUnreachable {
                        provider: provider.to_owned(),
                        message: format!("the response body broke off: {e}"),
                    });
                }
                Ok(Some(Ok(chunk))) => {
                    if buf.len() + chunk.len() > limit {
                        return Err(Error::UpstreamUnreachable {
                            provider: provider.to_owned(),
                            message: format!("the response body exceeds {limit} bytes"),
                        });
                    }
                    buf.extend_from_slice(&chunk);
                }
            }
        }
    }
}

/// A (bounded) request body in one piece, for an in-process upstream.
async fn collect<S>(mut body: S) -> Result<Bytes, actix_web::error::PayloadError>
where
    S: futures_util::Stream<Item = Result<Bytes, actix_web::error::PayloadError>> + Unpin,
{
    let mut buf = BytesMut::new();
    while let Some(chunk) = body.next().await {
        buf.extend_from_slice(&chunk?);
    }
    Ok(buf.freeze())
}

fn send_error(provider: &str, err: SendRequestError) -> Error {
    let provider = provider.to_owned();
    match err {
        SendRequestError::Timeout => Error::UpstreamTimeout {
            provider,
            phase: TimeoutPhase::FirstByte,
        },
        SendRequestError::Connect(ConnectError::Timeout) => Error::UpstreamTimeout {
            provider,
            phase: TimeoutPhase::Connect,
        },
        other => Error::UpstreamUnreachable {
            provider,
            message: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::net::TcpListener;

    use super::*;

    fn timeouts() -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(2),
            first_byte: Duration::from_secs(2),
            idle: Duration::from_secs(2),
            total: None,
        }
    }

    /// A listener that would accept the connection: only the address check can refuse it.
    #[actix_rt::test]
    async fn ip_literals_are_checked_before_connecting() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        for url in [
            format!("http://127.0.0.1:{port}/v1/models"),
            format!("http://[::ffff:127.0.0.1]:{port}/v1/models"),
        ] {
            let req = UpstreamRequest {
                method: Method::Get,
                url: url.clone(),
                headers: Vec::new(),
                body: bytes::Bytes::new(),
            };
            let life = std::sync::Arc::new(crate::shutdown::Lifecycle::default());
            let err = Transport::new(timeouts(), false, life.worker())
                .send("p", req)
                .await
                .err()
                .unwrap();
            assert!(
                err.to_string().contains("loopback, private or link-local"),
                "{url}: {err}"
            );
        }
    }
}
