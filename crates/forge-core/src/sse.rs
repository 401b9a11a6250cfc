//! Incremental Server-Sent Events parsing and encoding (WHATWG HTML, "event stream").
//!
//! Upstream chunk boundaries fall anywhere: inside a line, between CR and LF, or inside a
//! UTF-8 sequence. Bytes are buffered until a line ending and each line is decoded whole.

use bytes::Bytes;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field; `None` means the default type `message`.
    pub event: Option<String>,
    pub data: String,
    /// The `id:` field set within this event, if any.
    pub id: Option<String>,
    pub retry: Option<u64>,
}

impl SseEvent {
    /// OpenAI's end-of-stream sentinel.
    pub fn is_done(&self) -> bool {
        self.data == "[DONE]"
    }
}

#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    /// The previous chunk ended in CR: a leading LF in the next one belongs to that ending.
    skip_lf: bool,
    /// No line seen yet; a leading BOM is dropped.
    at_start: bool,
    data: String,
    has_data: bool,
    event: Option<String>,
    id: Option<String>,
    retry: Option<u64>,
}

impl SseParser {
    pub fn new() -> Self {
        SseParser {
            at_start: true,
            ..SseParser::default()
        }
    }

    /// Feeds bytes; complete events are appended to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<SseEvent>) {
        let mut rest = chunk;
        if self.skip_lf && !rest.is_empty() {
            self.skip_lf = false;
            if rest[0] == b'\n' {
                rest = &rest[1..];
            }
        }
        while let Some(pos) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.line.extend_from_slice(&rest[..pos]);
            self.end_line(out);
            let is_cr = rest[pos] == b'\r';
            rest = &rest[pos + 1..];
            if is_cr {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    Some(_) => {}
                    None => self.skip_lf = true,
                }
            }
        }
        self.line.extend_from_slice(rest);
    }

    /// Ends the stream: a last event not followed by a blank line is still delivered.
    /// Bytes held for the event being assembled (its unfinished line and data so far); callers
    /// cap it so an upstream that never ends an event cannot grow memory without bound.
    pub fn buffered_len(&self) -> usize {
        self.line.len() + self.data.len()
    }

    pub fn finish(&mut self, out: &mut Vec<SseEvent>) {
        if !self.line.is_empty() {
            self.end_line(out);
        }
        self.dispatch(out);
        self.skip_lf = false;
    }

    fn end_line(&mut self, out: &mut Vec<SseEvent>) {
        let bytes = std::mem::take(&mut self.line);
        let decoded = String::from_utf8_lossy(&bytes);
        let mut line: &str = &decoded;
        if self.at_start {
            self.at_start = false;
            line = line.strip_prefix('\u{feff}').unwrap_or(line);
        }
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "id" if !value.contains('\0') => self.id = Some(value.to_owned()),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                self.retry = value.parse().ok();
            }
            _ => {}
        }
        self.line = bytes;
        self.line.clear();
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        let event = self.event.take().filter(|e| !e.is_empty());
        let id = self.id.take();
        let retry = self.retry.take();
        if !self.has_data {
            return;
        }
        self.has_data = false;
        out.push(SseEvent {
            event,
            data: std::mem::take(&mut self.data),
            id,
            retry,
        });
    }
}

/// One event on the wire: `event: x\n`, one `data:` line per line of `data`, a blank line.
pub fn encode_event(event: Option<&str>, data: &str) -> Bytes {
    let mut out = String::with_capacity(data.len() + 16);
    if let Some(event) = event {
        out.push_str("event: ");
        out.push_str(event);
        out.push('\n');
    }
    for line in split_lines(data) {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    Bytes::from(out)
}

/// Splits at CRLF, LF or CR, the same endings the parser honours.
fn split_lines(s: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut rest = s;
    while let Some(pos) = rest.find(['\r', '\n']) {
        lines.push(&rest[..pos]);
        let skip = if rest[pos..].starts_with("\r\n") {
            2
        } else {
            1
        };
        rest = &rest[pos + skip..];
    }
    lines.push(rest);
    lines
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn parse_all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for c in chunks {
            p.push(c, &mut out);
        }
        p.finish(&mut out);
        out
    }

    fn data(d: &str) -> SseEvent {
        SseEvent {
            data: d.into(),
            ..SseEvent::default()
        }
    }

    #[test]
    fn line_endings() {
        for input in [
            &b"data: a\n\ndata: b\n\n"[..],
            b"data: a\r\n\r\ndata: b\r\n\r\n",
            b"data: a\r\rdata: b\r\r",
            b"data: a\r\n\ndata: b\n\r\n",
        ] {
            assert_eq!(parse_all(&[input]), vec![data("a"), data("b")], "{input:?}");
        }
    }

    #[test]
    fn cr_then_lf_across_chunks_is_one_ending() {
        // If the LF were its own line ending, the blank line would dispatch "a" early and
        // "b" would be a separate event.
        let events = parse_all(&[b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]);
        assert_eq!(events, vec![data("a\nb")]);
    }

    #[test]
    fn fields_comments_and_multiline() {
        let input = b"\xEF\xBB\xBF: comment\nevent: delta\nid: 7\nretry: 1500\ndata: one\ndata:two\ndata:  three\nunknown: x\n\n";
        let events = parse_all(&[input]);
        assert_eq!(
            events,
            vec![SseEvent {
                event: Some("delta".into()),
                data: "one\ntwo\n three".into(),
                id: Some("7".into()),
                retry: Some(1500),
            }]
        );
    }

    #[test]
    fn no_data_no_event_and_field_without_colon() {
        assert_eq!(parse_all(&[b"event: ping\n\n: keepalive\n\n"]), vec![]);
        assert_eq!(parse_all(&[b"data\n\n"]), vec![data("")]);
        assert_eq!(parse_all(&[b"data:\ndata:\n\n"]), vec![data("\n")]);
        assert!(parse_all(&[b"data: [DONE]\n\n"])[0].is_done());
    }

    #[test]
    fn finish_flushes_trailing_event() {
        assert_eq!(parse_all(&[b"data: {\"a\":1}"]), vec![data("{\"a\":1}")]);
        assert_eq!(parse_all(&[b"data: x\n"]), vec![data("x")]);
        assert_eq!(parse_all(&[b"data: x\r"]), vec![data("x")]);
    }

    #[test]
    fn split_utf8() {
        let text = "data: héllo 😀\n\n".as_bytes();
        let split = text.iter().position(|&b| b == 0xF0).unwrap() + 2;
        let events = parse_all(&[&text[..split], &text[split..]]);
        assert_eq!(events, vec![data("héllo 😀")]);
        assert_eq!(parse_all(&[b"data: \xFF\n\n"]), vec![data("\u{FFFD}")]);
    }

    #[test]
    fn encode() {
        assert_eq!(&encode_event(None, "x")[..], b"data: x\n\n");
        assert_eq!(
            &encode_event(Some("message_start"), "a\nb\r\nc")[..],
            b"event: message_start\ndata: a\ndata: b\ndata: c\n\n"
        );
        let events = parse_all(&[&encode_event(Some("e"), "a\n\nb")]);
        assert_eq!(events[0].data, "a\n\nb");
        assert_eq!(events[0].event.as_deref(), Some("e"));
    }

    fn stream_strategy() -> impl Strategy<Value = Vec<u8>> {
        let line = prop_oneof![
            "data:[ a-zé😀{}\":,]{0,12}",
            "data: [DONE]",
            "event: [a-z_]{1,8}",
            ": [a-z ]{0,6}",
            "id: [0-9]{1,3}",
            "retry: [0-9]{1,4}",
            Just(String::new()),
        ];
        let ending = prop_oneof![Just("\n"), Just("\r\n"), Just("\r")];
        prop::collection::vec((line, ending), 0..20).prop_map(|lines| {
            lines
                .into_iter()
                .flat_map(|(l, e)| format!("{l}{e}").into_bytes())
                .collect()
        })
    }

    proptest! {
        #[test]
        fn every_split_gives_the_same_events(stream in stream_strategy()) {
            let whole = parse_all(&[&stream]);
            for cut in 0..=stream.len() {
                prop_assert_eq!(&parse_all(&[&stream[..cut], &stream[cut..]]), &whole);
            }
            let bytes: Vec<&[u8]> = stream.chunks(1).collect();
            prop_assert_eq!(&parse_all(&bytes), &whole);
        }

        #[test]
        fn random_splits_give_the_same_events(
            stream in stream_strategy(),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
        ) {
            let whole = parse_all(&[&stream]);
            let mut points: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
            points.sort_unstable();
            let mut chunks = Vec::new();
            let mut start = 0;
            for p in points {
                chunks.push(&stream[start..p]);
                start = p;
            }
            chunks.push(&stream[start..]);
            prop_assert_eq!(parse_all(&chunks), whole);
        }

        #[test]
        fn encode_round_trips(event in "[a-z_]{1,10}", data in "[ a-z\n\r\u{e9}]{0,30}") {
            let expected = split_lines(&data).join("\n");
            let events = parse_all(&[&encode_event(Some(&event), &data)]);
            prop_assert_eq!(events.len(), 1);
            prop_assert_eq!(&events[0].data, &expected);
        }
    }
}
