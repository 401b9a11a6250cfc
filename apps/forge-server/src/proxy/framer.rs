//! Passing a stream through: the upstream's bytes go to the client untouched, cut only at
//! event boundaries, so that a failure mid-stream can end the client's stream with a
//! well-formed error event (never a clean finish, never a torn event). Events are parsed only
//! to see what the relay must know (the terminal event, usage), never matched as bytes.

use bytes::{Bytes, BytesMut};
use forge_core::Error;
use forge_core::stream_end::{self, StreamEnd};

use crate::proxy::dialect::Dialect;
use crate::proxy::relay::Shape;
use crate::usage::meter::Meter;

/// The passthrough [`Shape`]: framed events, held until taken.
pub struct Verbatim {
    framer: EventFramer,
    /// Batches of whole events not yet taken: one at a time once the stream is committed,
    /// keep-alive comments and the first events before that (joined once, when taken).
    held: Vec<Bytes>,
    /// Whether what is held has a `data:` line.
    content: bool,
    /// Drop the usage-only chunk Forge asked for on the client's behalf.
    strip_usage: bool,
    /// Only an event stream is expected to end with its terminal event.
    sse: bool,
    content_type: String,
}

impl Verbatim {
    /// `content_type` is the upstream's, passed on.
    pub fn new(terminal: StreamEnd, strip_usage: bool, content_type: String) -> Self {
        Verbatim {
            framer: EventFramer::new(terminal),
            held: Vec::new(),
            content: false,
            strip_usage,
            sse: content_type.starts_with("text/event-stream"),
            content_type,
        }
    }

    fn hold(&mut self, events: Bytes) {
        self.content = self.content || carries_data(&events);
        self.held.push(events);
    }
}

impl Shape for Verbatim {
    fn push(&mut self, chunk: &[u8]) -> Result<(), Error> {
        if let Some(events) = self.framer.push(chunk) {
            self.hold(events);
        }
        Ok(())
    }

    fn end(&mut self) -> Result<bool, Error> {
        // awc reports a connection cut mid-body as a normal end: an event stream that stops
        // without its terminal event broke off.
        if self.sse && !self.framer.done_seen() {
            return Ok(false);
        }
        if let Some(rest) = self.framer.finish() {
            self.hold(rest);
        }
        Ok(true)
    }

    fn has_content(&self) -> bool {
        self.content
    }

    fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    fn take(&mut self, meter: Option<&Meter>) -> Bytes {
        self.content = false;
        let events = match self.held.len() {
            0 => Bytes::new(),
            1 => self.held.pop().unwrap_or_default(),
            _ => Bytes::from(std::mem::take(&mut self.held).concat()),
        };
        match meter {
            Some(meter) => inspect(events, meter, self.strip_usage),
            None => events,
        }
    }

    fn error_event(&mut self, err: &Error) -> Bytes {
        self.framer.error_event(err)
    }

    fn content_type(&self) -> &str {
        &self.content_type
    }
}

/// Shows each event to the meter (usage, delivered text); drops the usage-only chunk when the
/// client did not ask for it. Bytes are untouched otherwise.
fn inspect(events: Bytes, meter: &Meter, strip_usage: bool) -> Bytes {
    let mut kept: Option<BytesMut> = None;
    let mut start = 0;
    for end in stream_end::event_ends(&events) {
        let event = &events[start..end];
        let (_, data) = stream_end::fields(event);
        let usage_only = data.is_some_and(|data| meter.observe(&data));
        if usage_only && strip_usage {
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

    #[test]
    fn verbatim_holds_keep_alives_with_the_first_content_and_knows_its_end() {
        let mut v = Verbatim::new(StreamEnd::OpenAiDone, false, "text/event-stream".into());
        v.push(b": ping\n\n").unwrap();
        assert!(!v.is_empty() && !v.has_content(), "a comment is no content");
        v.push(b": ping\n\ndata: {\"a\":1}\n\ndata: {\"b\"")
            .unwrap();
        assert!(v.has_content());
        assert_eq!(
            &v.take(None)[..],
            &b": ping\n\n: ping\n\ndata: {\"a\":1}\n\n"[..],
            "joined once, the unfinished event kept back"
        );
        assert!(v.is_empty() && !v.has_content());
        assert!(!v.end().unwrap(), "no [DONE]: cut off");
        assert!(
            v.is_empty(),
            "a cut stream's unfinished event is not relayed"
        );

        let mut done = Verbatim::new(StreamEnd::OpenAiDone, false, "text/event-stream".into());
        done.push(b"data: {}\n\ndata: [DONE]").unwrap();
        assert!(done.end().unwrap());
        assert_eq!(&done.take(None)[..], &b"data: {}\n\ndata: [DONE]"[..]);

        let mut json = Verbatim::new(StreamEnd::OpenAiDone, false, "application/json".into());
        json.push(b"{\"id\":1}").unwrap();
        assert!(
            json.end().unwrap(),
            "only an event stream needs its terminal event"
        );
    }
}
