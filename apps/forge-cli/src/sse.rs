//! Incremental server-sent-events parser. Network chunks split events, lines and even UTF-8
//! characters anywhere, and servers end lines with CRLF, LF or CR, so bytes are collected into
//! whole lines before anything is decoded.

/// One dispatched event: its `event:` name (if any) and its `data:` lines joined with `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
}

#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    /// The previous chunk ended in CR: an LF at the start of the next one belongs to it.
    after_cr: bool,
    data: Option<String>,
    event: Option<String>,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; returns the events completed by them, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        for &byte in bytes {
            if self.after_cr {
                self.after_cr = false;
                if byte == b'\n' {
                    continue;
                }
            }
            match byte {
                b'\r' => {
                    self.after_cr = true;
                    self.end_line(&mut events);
                }
                b'\n' => self.end_line(&mut events),
                other => self.line.push(other),
            }
        }
        events
    }

    /// The stream ended: an event still open (data with no blank line after it) is dispatched
    /// rather than lost, so a server that closes right after `data: [DONE]\n` is understood.
    pub fn finish(&mut self) -> Option<SseEvent> {
        let mut events = Vec::new();
        if !self.line.is_empty() {
            self.end_line(&mut events);
        }
        self.end_line(&mut events);
        events.pop()
    }

    fn end_line(&mut self, events: &mut Vec<SseEvent>) {
        let line = String::from_utf8_lossy(&self.line).into_owned();
        self.line.clear();
        if line.is_empty() {
            if let Some(data) = self.data.take() {
                events.push(SseEvent {
                    event: self.event.take(),
                    data,
                });
            }
            self.event = None;
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line.as_str(), ""),
        };
        match field {
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            },
            "event" => self.event = Some(value.to_string()),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8]) -> Vec<SseEvent> {
        let mut parser = SseParser::new();
        let mut events = parser.push(input);
        events.extend(parser.finish());
        events
    }

    fn data(events: &[SseEvent]) -> Vec<&str> {
        events.iter().map(|e| e.data.as_str()).collect()
    }

    #[test]
    fn lf_crlf_and_cr_line_endings() {
        for sep in ["\n", "\r\n", "\r"] {
            let text = format!("data: a{sep}{sep}data: b{sep}{sep}data: [DONE]{sep}{sep}");
            assert_eq!(
                data(&all(text.as_bytes())),
                ["a", "b", "[DONE]"],
                "sep {sep:?}"
            );
        }
    }

    #[test]
    fn split_at_every_byte_gives_the_same_events() {
        let text = "data: {\"x\":\"h\u{e9}llo\"}\r\n\r\n: keep-alive\r\ndata: two\r\n\r\ndata: [DONE]\r\n\r\n";
        let whole = all(text.as_bytes());
        assert_eq!(whole.len(), 3);
        let mut parser = SseParser::new();
        let mut events = Vec::new();
        for byte in text.as_bytes() {
            events.extend(parser.push(std::slice::from_ref(byte)));
        }
        events.extend(parser.finish());
        assert_eq!(events, whole);
        assert_eq!(events[0].data, "{\"x\":\"h\u{e9}llo\"}");
    }

    #[test]
    fn multi_line_data_comments_and_event_names() {
        let events = all(b": comment\nevent: error\ndata: line1\ndata:line2\n\ndata: x\n\n");
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].event.as_deref(), Some("error"));
        assert_eq!(events[0].data, "line1\nline2");
        assert_eq!(events[1].event, None);
    }

    #[test]
    fn blank_lines_without_data_dispatch_nothing() {
        assert!(all(b"\n\n: only a comment\n\nid: 3\n\n").is_empty());
    }

    #[test]
    fn open_event_at_end_of_stream_is_dispatched() {
        assert_eq!(data(&all(b"data: [DONE]\n")), ["[DONE]"]);
        assert_eq!(data(&all(b"data: [DONE]")), ["[DONE]"]);
    }
}
