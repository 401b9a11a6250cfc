//! Relaying an upstream SSE stream to the client as it arrives. The first chunk is awaited
//! before any header is sent, so a failure before content is a real HTTP error. Bytes pass
//! through untouched, cut only at event boundaries, so that a failure mid-stream can end the
//! client stream with a well-formed error event (never a clean finish, never a torn event).

use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::http::header;
use bytes::{Bytes, BytesMut};
use forge_core::stream_end::{self, StreamEnd};
use forge_core::{Error, TimeoutPhase};
use futures_util::StreamExt;

use crate::config::Timeouts;
use crate::proxy::dialect::Dialect;
use crate::proxy::transport::UpstreamResponse;
use crate::routing::outcome::StreamOutcome;
use crate::usage::meter::Meter;

/// Longest unfinished event held back before it is relayed anyway.
const MAX_PENDING: usize = 1024 * 1024;

/// The error event that ends a broken stream, in the stream's own dialect.
fn error_event(end: StreamEnd, err: &Error) -> Bytes {
    match end {
        StreamEnd::OpenAiDone | StreamEnd::ResponsesDone => Dialect::OpenAi.stream_error(err),
        StreamEnd::AnthropicStop => Dialect::Anthropic.stream_error(err),
        StreamEnd::GeminiFinish => Dialect::Gemini.stream_error(err),
    }
}

/// Splits a byte stream at SSE event boundaries without parsing the events.
#[derive(Default)]
pub struct EventFramer {
    pending: BytesMut,
    terminal: StreamEnd,
    /// Whether the terminal event has been relayed.
    done_seen: bool,
    /// A forced flush cut an event: an error event must start on a fresh line.
    torn: bool,
}

impl EventFramer {
    /// Returns the complete events now available (possibly empty); keeps the unfinished tail.
    pub fn push(&mut self, chunk: &[u8]) -> Option<Bytes> {
        let boundary = last_event_end(&self.pending, chunk);
        match boundary {
            None => {
                self.pending.extend_from_slice(chunk);
                // Not SSE after all (or one giant event): relay rather than hold it all.
                (self.pending.len() > MAX_PENDING).then(|| {
                    self.torn = true;
                    std::mem::take(&mut self.pending).freeze()
                })
            }
            Some(end_in_chunk) => {
                let mut out = std::mem::take(&mut self.pending);
                out.extend_from_slice(&chunk[..end_in_chunk]);
                self.pending.extend_from_slice(&chunk[end_in_chunk..]);
                self.done_seen = self.done_seen || self.terminal.seen_in(&out);
                self.torn = false;
                Some(out.freeze())
            }
        }
    }

    pub fn new(terminal: StreamEnd) -> Self {
        EventFramer {
            terminal,
            ..Self::default()
        }
    }

    /// True once the stream's terminal event went by: the only clean finish.
    pub fn done_seen(&self) -> bool {
        self.done_seen || self.terminal.seen_in(&self.pending)
    }

    /// Whatever is left when the upstream ends cleanly (a final event without a blank line).
    pub fn finish(&mut self) -> Option<Bytes> {
        self.done_seen = self.done_seen || self.terminal.seen_in(&self.pending);
        (!self.pending.is_empty()).then(|| std::mem::take(&mut self.pending).freeze())
    }

    /// The error event ending a broken stream, on a fresh line if an event was torn.
    pub fn error_event(&self, err: &Error) -> Bytes {
        let event = error_event(self.terminal, err);
        if !self.torn {
            return event;
        }
        let mut out = BytesMut::from(&b"\n\n"[..]);
        out.extend_from_slice(&event);
        out.freeze()
    }
}

/// End offset (within `chunk`) of the last blank line in `pending ++ chunk`, if it lies in `chunk`.
/// A blank line ends at `i` when the line terminator ending there (`\n`, `\r` or `\r\n`) directly
/// follows another terminator.
fn last_event_end(pending: &[u8], chunk: &[u8]) -> Option<usize> {
    let p = pending.len();
    let at = |i: usize| if i < p { pending[i] } else { chunk[i - p] };
    let ends_blank_line = |i: usize| {
        let term_start = match at(i - 1) {
            b'\n' if i >= 2 && at(i - 2) == b'\r' => i - 2,
            b'\n' | b'\r' => i - 1,
            _ => return false,
        };
        term_start >= 1 && matches!(at(term_start - 1), b'\n' | b'\r')
    };
    (p + 1..=p + chunk.len())
        .rev()
        .find(|&i| ends_blank_line(i))
        .map(|i| i - p)
}

/// Whether a batch of events holds a `data:` line (not only comments or blank lines).
fn carries_data(events: &[u8]) -> bool {
    events
        .split(|&b| b == b'\n' || b == b'\r')
        .any(|line| line.starts_with(b"data:"))
}

struct RelayState {
    /// `None` once dropped: a leaving client closes the upstream before anything else.
    upstream: Option<UpstreamResponse>,
    framer: EventFramer,
    first: Option<Bytes>,
    provider: String,
    idle: Duration,
    deadline: Option<tokio::time::Instant>,
    outcome: Option<StreamOutcome>,
    meter: Option<Meter>,
    /// Drop the usage-only chunk Forge asked for on the client's behalf.
    strip_usage: bool,
    failure: Option<Error>,
    /// Only an event stream is expected to end with `[DONE]`.
    sse: bool,
    /// The upstream body already ended (while waiting for the first event).
    ended: bool,
    done: bool,
}

impl Drop for RelayState {
    fn drop(&mut self) {
        // The upstream connection closes first: settling may count tokens, which takes time.
        drop(self.upstream.take());
        if let Some(meter) = &self.meter {
            // Dropped before its end: the client went away.
            meter.settle(200, self.failure.as_ref(), !self.done);
        }
    }
}

/// Waits for the first body bytes, then answers 200 and relays the rest.
pub async fn stream_response(
    mut upstream: UpstreamResponse,
    prefix: Option<Bytes>,
    provider: &str,
    terminal: StreamEnd,
    timeouts: Timeouts,
    mut outcome: Option<StreamOutcome>,
    metering: Option<(Meter, bool)>,
) -> Result<HttpResponse, Error> {
    let mut framer = EventFramer::new(terminal);
    // Keep-alive comments (OpenRouter sends `: OPENROUTER PROCESSING` while it queues) are held
    // back with the first real event, so the response is committed only once data arrived.
    let total = timeouts.total.map(|t| tokio::time::Instant::now() + t);
    let deadline = first_deadline(timeouts.first_byte, total);
    let mut held = BytesMut::new();
    // A payload that returned its end must not be polled again (actix-http panics).
    let mut ended = false;
    // The bytes already read from the body (to tell a stream from a whole answer) come first.
    let mut prefix = prefix;
    let first = loop {
        let next = match prefix.take() {
            Some(bytes) => Ok(Some(Ok(bytes))),
            None => tokio::time::timeout_at(deadline, upstream.next()).await,
        };
        match next {
            Err(_) => {
                return Err(Error::UpstreamTimeout {
                    provider: provider.to_owned(),
                    phase: TimeoutPhase::FirstByte,
                });
            }
            Ok(None) => {
                ended = true;
                if let Some(rest) = framer.finish() {
                    held.extend_from_slice(&rest);
                }
                if held.is_empty() {
                    return Err(Error::UpstreamUnreachable {
                        provider: provider.to_owned(),
                        message: "the stream ended before any data".into(),
                    });
                }
                break held.freeze();
            }
            Ok(Some(Err(e))) => {
                return Err(Error::UpstreamUnreachable {
                    provider: provider.to_owned(),
                    message: format!("the stream broke before any data: {e}"),
                });
            }
            Ok(Some(Ok(chunk))) => {
                if let Some(events) = framer.push(&chunk) {
                    held.extend_from_slice(&events);
                    if carries_data(&events) {
                        break held.freeze();
                    }
                }
            }
        }
    };
    let content_type = upstream
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("text/event-stream")
        .to_owned();
    let sse = content_type.starts_with("text/event-stream");
    if let Some(outcome) = &mut outcome {
        outcome.commit();
    }
    let (meter, strip_usage) = match metering {
        Some((meter, strip)) => (Some(meter), strip),
        None => (None, false),
    };
    if let Some(meter) = &meter {
        meter.first_content();
    }
    let mut state = RelayState {
        upstream: Some(upstream),
        framer,
        first: None,
        provider: provider.to_owned(),
        idle: timeouts.idle,
        deadline: total,
        outcome,
        meter,
        strip_usage,
        failure: None,
        sse,
        ended,
        done: false,
    };
    state.first = Some(state.inspect(first));
    let body = futures_util::stream::unfold(state, |mut st| async move {
        if let Some(first) = st.first.take() {
            return Some((Ok::<Bytes, actix_web::Error>(first), st));
        }
        loop {
            if st.done {
                return None;
            }
            let (wait, phase) = next_wait(st.idle, st.deadline);
            let next = if st.ended {
                Ok(None)
            } else {
                match st.upstream.as_mut() {
                    Some(upstream) => tokio::time::timeout(wait, upstream.next()).await,
                    None => Ok(None),
                }
            };
            match next {
                Ok(Some(Ok(chunk))) => {
                    if let Some(events) = st.framer.push(&chunk) {
                        let events = st.inspect(events);
                        if !events.is_empty() {
                            return Some((Ok(events), st));
                        }
                    }
                }
                Ok(None) => {
                    st.done = true;
                    // awc reports a connection cut mid-body as a normal end: an SSE stream that
                    // stops without its `[DONE]` terminator broke off.
                    if st.sse && !st.framer.done_seen() {
                        tracing::warn!(provider = %st.provider, "upstream stream ended without [DONE]");
                        let err = Error::UpstreamUnreachable {
                            provider: st.provider.clone(),
                            message: "the stream ended before it was complete".into(),
                        };
                        return Some((Ok(st.fail(&err)), st));
                    }
                    let rest = st.framer.finish().map(|rest| st.inspect(rest));
                    return rest.map(|rest| (Ok(rest), st));
                }
                Ok(Some(Err(e))) => {
                    st.done = true;
                    tracing::warn!(provider = %st.provider, error = %e, "upstream stream broke mid-way");
                    let err = Error::UpstreamUnreachable {
                        provider: st.provider.clone(),
                        message: "the stream broke off mid-way".into(),
                    };
                    return Some((Ok(st.fail(&err)), st));
                }
                Err(_) => {
                    st.done = true;
                    tracing::warn!(provider = %st.provider, %phase, "upstream stream timed out");
                    let err = Error::UpstreamTimeout {
                        provider: st.provider.clone(),
                        phase,
                    };
                    return Some((Ok(st.fail(&err)), st));
                }
            }
        }
    });
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body))
}

impl RelayState {
    /// The error event ending the stream; the attempt is charged to its deployment.
    fn fail(&mut self, err: &Error) -> Bytes {
        if let Some(outcome) = &mut self.outcome {
            outcome.fail(err);
        }
        self.failure = Some(err.clone());
        self.framer.error_event(err)
    }

    /// Shows each event to the meter (usage, delivered text); drops the usage-only chunk
    /// when the client did not ask for it. Bytes are untouched otherwise.
    fn inspect(&mut self, events: Bytes) -> Bytes {
        let Some(meter) = &self.meter else {
            return events;
        };
        let mut kept: Option<BytesMut> = None;
        let mut start = 0;
        for end in stream_end::event_ends(&events) {
            let event = &events[start..end];
            let (_, data) = stream_end::fields(event);
            let usage_only = data.is_some_and(|data| meter.observe(&data));
            if usage_only && self.strip_usage {
                kept.get_or_insert_with(|| BytesMut::from(&events[..start]));
            } else if let Some(kept) = &mut kept {
                kept.extend_from_slice(event);
            }
            start = end;
        }
        match kept {
            Some(mut kept) => {
                kept.extend_from_slice(&events[start..]);
                kept.freeze()
            }
            None => events,
        }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn frame_all(parts: &[&[u8]]) -> (Vec<u8>, Vec<usize>) {
        let mut f = EventFramer::default();
        let mut out = Vec::new();
        let mut cuts = Vec::new();
        for p in parts {
            if let Some(b) = f.push(p) {
                out.extend_from_slice(&b);
                cuts.push(out.len());
            }
        }
        if let Some(b) = f.finish() {
            out.extend_from_slice(&b);
        }
        (out, cuts)
    }

    #[test]
    fn cuts_only_at_event_ends_and_loses_nothing() {
        let stream = b"data: {\"a\":1}\n\ndata: {\"b\":2}\r\n\r\ndata: [DONE]\n\n".to_vec();
        for split in 0..=stream.len() {
            let (a, b) = stream.split_at(split);
            let (out, cuts) = frame_all(&[a, b]);
            assert_eq!(out, stream, "split at {split}");
            for cut in cuts {
                let head = &out[..cut];
                // A CR right after a line end is itself a (CR-style) blank line.
                let blank = [&b"\n\n"[..], b"\r\n\r\n", b"\n\r"];
                assert!(
                    blank.iter().any(|end| head.ends_with(end)),
                    "cut at {cut} (split {split})"
                );
            }
        }
    }

    #[test]
    fn every_byte_split_keeps_bytes() {
        let stream = b"event: x\ndata: 1\n\n: comment\n\ndata: 2\n\n".to_vec();
        let parts: Vec<&[u8]> = stream.chunks(1).collect();
        let (out, cuts) = frame_all(&parts);
        assert_eq!(out, stream);
        assert_eq!(cuts.len(), 3);
    }

    #[test]
    fn comment_only_batches_carry_no_data() {
        assert!(!carries_data(b": OPENROUTER PROCESSING\n\n"));
        assert!(!carries_data(b":\r\n\r\n: keep-alive\n\n"));
        assert!(carries_data(b": x\n\ndata: {}\n\n"));
        assert!(carries_data(
            b"event: ping\r\ndata: {\"type\":\"ping\"}\r\n\r\n"
        ));
    }

    #[test]
    fn done_terminator_is_tracked() {
        let mut f = EventFramer::default();
        f.push(b"data: {}\n\n");
        assert!(!f.done_seen());
        f.push(b"data: [DONE]\n\n");
        assert!(f.done_seen());
        let mut g = EventFramer::default();
        g.push(b"data: {}\n\ndata: [DONE]");
        assert!(
            g.done_seen(),
            "a final event without its blank line still counts"
        );
    }

    #[test]
    fn partial_event_is_held_back() {
        let mut f = EventFramer::default();
        assert_eq!(f.push(b"data: {\"a\"").as_deref(), None);
        assert_eq!(
            f.push(b":1}\n\ndata: {\"b").as_deref(),
            Some(&b"data: {\"a\":1}\n\n"[..])
        );
        assert_eq!(f.finish().as_deref(), Some(&b"data: {\"b"[..]));
    }
}
