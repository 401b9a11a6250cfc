//! The upstream transport: one pooled awc client per worker (awc's client is `!Send`), with
//! explicit connect and first-byte timeouts instead of awc's 5 s default, and no redirects (a
//! redirect would resend the provider key to wherever it points).

use std::time::Duration;

use awc::error::{ConnectError, SendRequestError};
use bytes::{Bytes, BytesMut};
use forge_core::upstream::{Method, UpstreamRequest};
use forge_core::{Error, TimeoutPhase};
use futures_util::StreamExt;

use crate::config::Timeouts;
use crate::proxy::resolve_dns::PublicOnly;
use actix_tls::connect::Resolver;

pub type UpstreamResponse = awc::ClientResponse;

/// Largest upstream body Forge will hold in memory for a non-streamed answer.
pub const MAX_UPSTREAM_BODY: usize = 64 * 1024 * 1024;

pub struct Transport {
    client: awc::Client,
    pub timeouts: Timeouts,
}

impl Transport {
    pub fn new(timeouts: Timeouts, allow_private: bool) -> Self {
        let resolver = Resolver::custom(PublicOnly { allow_private });
        let connector = awc::Connector::new()
            .connector(actix_tls::connect::Connector::new(resolver).service())
            .timeout(timeouts.connect)
            .handshake_timeout(timeouts.connect)
            .conn_keep_alive(Duration::from_secs(60))
            .conn_lifetime(Duration::from_secs(300))
            // No cap per worker: every open stream holds one upstream connection, and a cap
            // would queue streams silently behind it.
            .limit(0);
        let client = awc::Client::builder()
            .connector(connector)
            .timeout(timeouts.first_byte)
            .disable_redirects()
            .add_default_header(("user-agent", concat!("forge/", env!("CARGO_PKG_VERSION"))))
            .finish();
        Transport { client, timeouts }
    }

    /// Sends the request and waits for the response head (bounded by the first-byte timeout).
    pub async fn send(
        &self,
        provider: &str,
        req: UpstreamRequest,
    ) -> Result<UpstreamResponse, Error> {
        let mut builder = match req.method {
            Method::Get => self.client.get(&req.url),
            Method::Post => self.client.post(&req.url),
        };
        for (name, value) in &req.headers {
            builder = builder.insert_header((*name, value.as_str()));
        }
        let sent = match req.method {
            Method::Get => builder.send().await,
            Method::Post => builder.send_body(req.body).await,
        };
        sent.map_err(|e| send_error(provider, e))
    }

    /// Reads a whole (non-streamed) body, with the idle timeout between chunks and a size cap.
    pub async fn read_body(
        &self,
        provider: &str,
        resp: &mut UpstreamResponse,
        limit: usize,
    ) -> Result<Bytes, Error> {
        let mut buf = BytesMut::new();
        loop {
            match tokio::time::timeout(self.timeouts.idle, resp.next()).await {
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
