//! The one stream relay. Every streamed answer, passed through or translated, goes through
//! [`stream`]: it waits for the first content before any header is sent (so a failure before
//! content is a real HTTP error a failover can act on), then relays the rest as it arrives
//! under the idle and total timeouts, ends a stream that breaks mid-way with an error event in
//! the client's dialect (never a clean finish), closes the upstream when the client leaves,
//! and settles the attempt's usage exactly once (in `Drop`, whichever way the stream ends).
//!
//! What happens to the bytes in between is a [`Shape`]: `framer::Verbatim` passes them
//! through untouched, cut at event boundaries; `translate::Translated` decodes the upstream's
//! events and renders them in the client's dialect.

use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::http::header;
use bytes::{Bytes, BytesMut};
use forge_core::{Error, TimeoutPhase};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;

use crate::config::Timeouts;
use crate::proxy::transport::UpstreamResponse;
use crate::routing::outcome::StreamOutcome;
use crate::shutdown::CloseWatch;
use crate::usage::meter::Meter;

/// What turns upstream chunks into the client's bytes.
pub trait Shape: 'static {
    /// Takes one upstream chunk. `Err` is the upstream failing in its stream; what it sent
    /// before the failure stays held and still goes out.
    fn push(&mut self, chunk: &[u8]) -> Result<(), Error>;

    /// The upstream's body ended without a transport error: whether the stream was complete
    /// (its terminal event came; without it, it was cut off). `Err` is a failure in its last
    /// events.
    fn end(&mut self) -> Result<bool, Error>;

    /// Whether what is held carries content: the point at which the answer is committed.
    fn has_content(&self) -> bool;

    /// Whether nothing at all is held.
    fn is_empty(&self) -> bool;

    /// What is held, as the client's bytes; the meter sees it on the way (usage, output).
    fn take(&mut self, meter: Option<&Meter>) -> Bytes;

    /// The event ending a broken stream, in the client's dialect.
    fn error_event(&mut self, err: &Error) -> Bytes;

    /// Work to do once the stream ended cleanly, before its last bytes go out.
    fn on_finish(&mut self) -> Option<LocalBoxFuture<'static, ()>> {
        None
    }

    /// The client's `Content-Type`.
    fn content_type(&self) -> &str;
}

/// Who hears how a stream went (the router, for health, and the usage meter), and what ends
/// it early (the server shutting down).
#[derive(Default)]
pub struct Watch {
    pub outcome: Option<StreamOutcome>,
    pub meter: Option<Meter>,
    pub close: Option<CloseWatch>,
}

struct Relay<S: Shape> {
    /// `None` once dropped: a leaving client closes the upstream before anything else.
    upstream: Option<UpstreamResponse>,
    shape: S,
    first: Option<Bytes>,
    provider: String,
    idle: Duration,
    deadline: Option<tokio::time::Instant>,
    outcome: Option<StreamOutcome>,
    meter: Option<Meter>,
    close: Option<CloseWatch>,
    failure: Option<Error>,
    done: bool,
}

impl<S: Shape> Drop for Relay<S> {
    fn drop(&mut self) {
        // The upstream connection closes first: settling may count tokens, which takes time.
        drop(self.upstream.take());
        if let Some(meter) = &self.meter {
            // Dropped before its end: the client went away.
            meter.settle(200, self.failure.as_ref(), !self.done);
        }
    }
}

impl<S: Shape> Relay<S> {
    /// Ends the stream: what was held, then the error event; the attempt is charged to its
    /// deployment.
    fn fail(&mut self, err: &Error) -> Bytes {
        if let Some(outcome) = &mut self.outcome {
            outcome.fail(err);
        }
        self.end_with(err)
    }

    /// Ends the stream with an error event that is nobody's fault upstream.
    fn end_with(&mut self, err: &Error) -> Bytes {
        self.done = true;
        if let Some(meter) = &self.meter {
            meter.upstream_done();
        }
        self.failure = Some(err.clone());
        let held = self.shape.take(self.meter.as_ref());
        let event = self.shape.error_event(err);
        if held.is_empty() {
            return event;
        }
        let mut out = BytesMut::from(&held[..]);
        out.extend_from_slice(&event);
        out.freeze()
    }

    /// The stream ended cleanly: what was held, after the finish work.
    async fn finish(&mut self) -> Bytes {
        self.done = true;
        if let Some(meter) = &self.meter {
            meter.upstream_done();
        }
        let out = self.shape.take(self.meter.as_ref());
        if let Some(work) = self.shape.on_finish() {
            work.await;
        }
        out
    }

    fn commit(&mut self) {
        if let Some(outcome) = &mut self.outcome {
            outcome.commit();
        }
        if let Some(meter) = &self.meter {
            meter.first_content();
        }
    }

    /// The next bytes for the client, or `None` at the end.
    async fn next(&mut self) -> Option<Bytes> {
        if let Some(first) = self.first.take().filter(|b| !b.is_empty()) {
            return Some(first);
        }
        loop {
            if self.done {
                return None;
            }
            let (wait, phase) = next_wait(self.idle, self.deadline);
            let next = match (self.upstream.as_mut(), self.close.as_mut()) {
                (Some(upstream), Some(close)) => {
                    match close
                        .or_closed(tokio::time::timeout(wait, upstream.next()))
                        .await
                    {
                        Some(next) => next,
                        None => return Some(self.end_with(&shutting_down())),
                    }
                }
                (Some(upstream), None) => tokio::time::timeout(wait, upstream.next()).await,
                (None, _) => Ok(None),
            };
            let out = match next {
                Ok(Some(Ok(chunk))) => match self.shape.push(&chunk) {
                    Ok(()) => self.shape.take(self.meter.as_ref()),
                    Err(err) => self.fail(&err),
                },
                Ok(None) => match end_of(&mut self.shape, &self.provider) {
                    Ok(()) => self.finish().await,
                    Err(err) => self.fail(&err),
                },
                Ok(Some(Err(e))) => {
                    tracing::warn!(provider = %self.provider, error = %e, "upstream stream broke mid-way");
                    let err = Error::UpstreamUnreachable {
                        provider: self.provider.clone(),
                        message: "the stream broke off mid-way".into(),
                    };
                    self.fail(&err)
                }
                Err(_) => {
                    tracing::warn!(provider = %self.provider, %phase, "upstream stream timed out");
                    let err = Error::UpstreamTimeout {
                        provider: self.provider.clone(),
                        phase,
                    };
                    self.fail(&err)
                }
            };
            if !out.is_empty() {
                return Some(out);
            }
        }
    }
}

/// Waits for the first content (`prefix` is what was already read from the body), then
/// answers 200 and relays the rest through `shape`.
pub async fn stream<S: Shape>(
    mut upstream: UpstreamResponse,
    prefix: Option<Bytes>,
    shape: S,
    provider: &str,
    timeouts: Timeouts,
    watch: Watch,
) -> Result<HttpResponse, Error> {
    let total = timeouts.total.map(|t| tokio::time::Instant::now() + t);
    let deadline = first_deadline(timeouts.first_byte, total);
    let mut relay = Relay {
        upstream: None,
        shape,
        first: None,
        provider: provider.to_owned(),
        idle: timeouts.idle,
        deadline: total,
        outcome: watch.outcome,
        meter: None,
        close: watch.close,
        failure: None,
        done: false,
    };
    let unreachable = |message: &str| Error::UpstreamUnreachable {
        provider: provider.to_owned(),
        message: message.to_owned(),
    };
    let mut prefix = prefix;
    // `Some` once the stream is over before it was committed: what it ended with.
    let mut ended: Option<Result<(), Error>> = None;
    loop {
        let next = match (prefix.take(), relay.close.as_mut()) {
            (Some(bytes), _) => Ok(Some(Ok(bytes))),
            (None, Some(close)) => {
                // Shutting down before the answer began: a plain error response.
                close
                    .or_closed(tokio::time::timeout_at(deadline, upstream.next()))
                    .await
                    .ok_or_else(shutting_down)?
            }
            (None, None) => tokio::time::timeout_at(deadline, upstream.next()).await,
        };
        match next {
            Err(_) => {
                return Err(Error::UpstreamTimeout {
                    provider: provider.to_owned(),
                    phase: TimeoutPhase::FirstByte,
                });
            }
            Ok(Some(Err(e))) => {
                return Err(unreachable(&format!(
                    "the stream broke before any data: {e}"
                )));
            }
            Ok(Some(Ok(chunk))) => {
                if let Err(err) = relay.shape.push(&chunk) {
                    if !relay.shape.has_content() {
                        return Err(err);
                    }
                    ended = Some(Err(err));
                }
            }
            Ok(None) => {
                let end = match relay.shape.end() {
                    Ok(_) if relay.shape.is_empty() => {
                        return Err(unreachable("the stream ended before any data"));
                    }
                    Ok(true) => Ok(()),
                    Ok(false) => Err(incomplete(provider)),
                    Err(err) => Err(err),
                };
                if let Err(err) = &end
                    && !relay.shape.has_content()
                {
                    return Err(err.clone());
                }
                ended = Some(end);
            }
        }
        // Keep-alive comments and an opening event without content are held back with the
        // first content, so the response is committed only once content arrived.
        if ended.is_some() || relay.shape.has_content() {
            break;
        }
    }
    relay.meter = watch.meter;
    relay.commit();
    let first = match ended {
        None => {
            relay.upstream = Some(upstream);
            relay.shape.take(relay.meter.as_ref())
        }
        // A payload that returned its end must not be polled again (actix-http panics).
        Some(Ok(())) => relay.finish().await,
        Some(Err(err)) => relay.fail(&err),
    };
    relay.first = Some(first);
    let content_type = relay.shape.content_type().to_owned();
    let body = futures_util::stream::unfold(relay, |mut relay| async move {
        let bytes = relay.next().await?;
        Some((Ok::<Bytes, actix_web::Error>(bytes), relay))
    });
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body))
}

/// What a stream still open when the shutdown grace period ran out ends with.
fn shutting_down() -> Error {
    crate::shutdown::shutting_down("the stream was closed before it finished")
}

/// The upstream's end: `Err` unless the stream was complete.
fn end_of<S: Shape>(shape: &mut S, provider: &str) -> Result<(), Error> {
    if shape.end()? {
        return Ok(());
    }
    Err(incomplete(provider))
}

/// A stream that ended without its terminal event: it was cut off.
fn incomplete(provider: &str) -> Error {
    tracing::warn!(provider, "upstream stream ended before it was complete");
    Error::UpstreamUnreachable {
        provider: provider.to_owned(),
        message: "the stream ended before it was complete".into(),
    }
}

/// The first event must arrive within the first-byte timeout and the total deadline.
pub fn first_deadline(
    first_byte: Duration,
    total: Option<tokio::time::Instant>,
) -> tokio::time::Instant {
    let first = tokio::time::Instant::now() + first_byte;
    total.map_or(first, |total| first.min(total))
}

/// How long to wait for the next chunk, and which timeout it is when the wait runs out.
pub fn next_wait(idle: Duration, total: Option<tokio::time::Instant>) -> (Duration, TimeoutPhase) {
    match total {
        Some(total) => {
            let left = total.saturating_duration_since(tokio::time::Instant::now());
            if left < idle {
                (left, TimeoutPhase::Total)
            } else {
                (idle, TimeoutPhase::Idle)
            }
        }
        None => (idle, TimeoutPhase::Idle),
    }
}
