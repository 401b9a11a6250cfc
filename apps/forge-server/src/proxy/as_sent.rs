//! An upstream answer relayed as the provider sent it: status, headers (minus hop-by-hop
//! ones and the length, since it streams), and the body's bytes untouched, chunk by chunk,
//! whatever they are (JSON, an event stream, audio). On the way the body is read for usage
//! (a JSON body up to a bound, or SSE events, in the provider's dialect) and the attempt's
//! usage record is settled when the body ends or the client leaves. The pass-through and
//! binary answers (`/v1/audio/speech`) use it.

use actix_web::HttpResponse;
use actix_web::http::header::{self, HeaderName};
use bytes::{Bytes, BytesMut};
use forge_core::Error;
use forge_core::usage_sniff::{SniffDialect, usage_from_body};
use futures_util::StreamExt;

use crate::proxy::dispatch::Target;
use crate::proxy::transport::UpstreamResponse;
use crate::usage::meter::Meter;

/// Which of the upstream's response headers reach the client.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Relayed {
    /// The pass-through: everything but hop-by-hop headers and `set-cookie`.
    All,
    /// A model route: the content type and disposition, request ids and rate limits (as
    /// `pipeline` passes on).
    Content,
}

/// JSON answers up to this size are kept aside (while streamed) to read their usage.
const MAX_SNIFFED_JSON: usize = 4 * 1024 * 1024;

/// The answer as the provider sent it, its body streamed through a [`Tap`].
pub fn as_sent(
    resp: UpstreamResponse,
    meter: Option<Meter>,
    dialect: SniffDialect,
    target: &Target,
    headers: Relayed,
) -> HttpResponse {
    let status = resp.status();
    let mut out = HttpResponse::build(status);
    relay_headers(&mut out, resp.headers(), headers);
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

/// Copies the upstream's response headers that reach the client (never the length: the
/// body may be streamed or rewritten).
pub fn relay_headers(
    out: &mut actix_web::HttpResponseBuilder,
    from: &actix_web::http::header::HeaderMap,
    headers: Relayed,
) {
    for (name, value) in from {
        let wanted = match headers {
            Relayed::All => name != header::SET_COOKIE,
            Relayed::Content => {
                name == header::CONTENT_TYPE
                    || name == header::CONTENT_DISPOSITION
                    || crate::proxy::pipeline::forwardable(name.as_str())
            }
        };
        if wanted && !is_hop_by_hop(name) && name != header::CONTENT_LENGTH {
            out.append_header((name.clone(), value.clone()));
        }
    }
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
        if !chunk.is_empty() {
            meter.first_content();
        }
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
            // A usage object without token counts (Whisper's `{"type": "duration"}`) is no
            // report: the tokens stay unknown rather than zero.
            if let Some(json) = self.json.take() {
                match usage_from_body(self.dialect, &json) {
                    Some(usage) if usage.total_tokens() > 0 => meter.set_usage(usage),
                    // Whisper reports the audio's duration, which it bills by.
                    _ => {
                        if let Some(ms) = forge_usage::units::audio_millis(&json) {
                            meter.units(forge_usage::Units::AudioMillis(ms));
                        }
                    }
                }
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

/// Headers that concern one connection, never passed on.
pub fn is_hop_by_hop(name: &HeaderName) -> bool {
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
