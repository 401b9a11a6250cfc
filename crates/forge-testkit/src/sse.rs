//! Server-sent events with the stream faults applied while they are written.

use std::collections::VecDeque;
use std::time::Duration;

use actix_web::HttpResponse;
use bytes::Bytes;
use serde_json::Value;

use crate::fault::Fault;
use crate::state::InFlight;

pub(crate) fn event(value: &Value) -> Bytes {
    Bytes::from(format!("data: {value}\n\n"))
}

/// Anthropic's framing: every event names its type on an `event:` line.
pub(crate) fn named_event(name: &str, value: &Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {value}\n\n"))
}

/// Google's framing: `data:` lines separated by CRLF pairs, as `alt=sse` sends them.
pub(crate) fn crlf_event(value: &Value) -> Bytes {
    Bytes::from(format!("data: {value}\r\n\r\n"))
}

pub(crate) fn done() -> Bytes {
    Bytes::from_static(b"data: [DONE]\n\n")
}

struct Progress {
    events: VecDeque<Bytes>,
    sent: usize,
    finished: bool,
    drop_after: Option<usize>,
    hang_after: Option<usize>,
    delay: Option<Duration>,
    /// Held until the body ends or actix drops it (client gone, server stopped).
    _guard: InFlight,
}

/// Streams `events` (already framed); `fault` decides where it drops, stalls or slows down.
pub(crate) fn response(events: Vec<Bytes>, fault: Option<Fault>, guard: InFlight) -> HttpResponse {
    streamed(events, fault, guard, "text/event-stream")
}

/// Like [`response`] with another content type (Gemini's non-SSE stream is a JSON array
/// written piece by piece).
pub(crate) fn streamed(
    events: Vec<Bytes>,
    fault: Option<Fault>,
    guard: InFlight,
    content_type: &str,
) -> HttpResponse {
    let progress = Progress {
        events: events.into(),
        sent: 0,
        finished: false,
        drop_after: match fault {
            Some(Fault::DropMidStream { after_chunks }) => Some(after_chunks),
            _ => None,
        },
        hang_after: match fault {
            Some(Fault::HangMidStream { after_chunks }) => Some(after_chunks),
            _ => None,
        },
        delay: fault.as_ref().and_then(Fault::chunk_delay),
        _guard: guard,
    };
    let body = futures_util::stream::unfold(progress, |mut p| async move {
        if p.finished {
            return None;
        }
        if p.hang_after == Some(p.sent) {
            futures_util::future::pending::<()>().await;
        }
        if p.drop_after == Some(p.sent) {
            p.finished = true;
            // Give actix one turn to flush the events already written; an error before that
            // would discard them together with the connection.
            actix_rt::task::yield_now().await;
            // An error from the body makes actix close the connection without the final
            // chunk, which the client sees as a connection cut mid-body.
            let cut = std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "fake upstream dropped the stream",
            );
            return Some((Err(cut), p));
        }
        let next = p.events.pop_front()?;
        if p.sent > 0
            && let Some(delay) = p.delay
        {
            actix_rt::time::sleep(delay).await;
        }
        p.sent += 1;
        Some((Ok::<_, std::io::Error>(next), p))
    });
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("cache-control", "no-cache"))
        .streaming(body)
}
