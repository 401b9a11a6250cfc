//! Recognising the event that ends an upstream stream properly.
//!
//! A passed-through stream is relayed byte for byte, but the relay must still know whether it
//! ended cleanly: awc reports a connection cut mid-body as a normal end, so a stream is only
//! complete once its terminal event went by. The terminal event is read from the parsed SSE
//! event (its `event:` name and its `data:` JSON), never from the JSON's formatting: hosts
//! write compact, spaced or pretty-printed JSON, with LF, CR or CRLF line endings.
//!
//! Parsing every event's JSON would cost the relay a full parse per event, so a byte
//! prefilter runs first. It is exact, not a heuristic: JSON can spell a letter only literally
//! or as a `\uXXXX` escape, so an event whose bytes hold none of the dialect's needles and
//! no `\u` cannot name the terminal type; only the events that pass are parsed.

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::IgnoredAny;

/// The event that ends a stream properly, per upstream dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StreamEnd {
    /// OpenAI chat and completions: `data: [DONE]`.
    #[default]
    OpenAiDone,
    /// Anthropic: `message_stop` (as the `event:` name or the data's `type`).
    AnthropicStop,
    /// Gemini: a chunk whose candidate carries a `finishReason`, or a blocked prompt's
    /// `promptFeedback.blockReason`.
    GeminiFinish,
    /// OpenAI Responses: `response.completed`, `response.incomplete` or `response.failed`.
    ResponsesDone,
}

const RESPONSES_ENDS: [&str; 3] = [
    "response.completed",
    "response.incomplete",
    "response.failed",
];

impl StreamEnd {
    /// Whether one of the events in `bytes` (raw SSE; a last event without its blank line
    /// counts) is this dialect's terminal event.
    pub fn seen_in(self, bytes: &[u8]) -> bool {
        if !self.may_end(bytes) {
            return false;
        }
        events(bytes).any(|event| {
            let (name, data) = fields(event);
            self.is_end(name, data.as_deref())
        })
    }

    /// Whether one parsed event ends the stream.
    pub fn is_end(self, name: Option<&str>, data: Option<&str>) -> bool {
        let data = data.map(str::trim_ascii);
        match self {
            StreamEnd::OpenAiDone => data == Some("[DONE]"),
            StreamEnd::AnthropicStop => {
                name == Some("message_stop")
                    || data.and_then(type_of).as_deref() == Some("message_stop")
            }
            StreamEnd::ResponsesDone => {
                name.is_some_and(|n| RESPONSES_ENDS.contains(&n))
                    || data
                        .and_then(type_of)
                        .is_some_and(|t| RESPONSES_ENDS.contains(&t.as_ref()))
            }
            StreamEnd::GeminiFinish => data.is_some_and(gemini_finished),
        }
    }

    /// False only when no event in `bytes` can be terminal (see the module docs).
    fn may_end(self, bytes: &[u8]) -> bool {
        let needles: &[&[u8]] = match self {
            StreamEnd::OpenAiDone => return contains(bytes, b"[DONE]"),
            StreamEnd::AnthropicStop => &[b"message_stop"],
            StreamEnd::ResponsesDone => &[
                b"response.completed",
                b"response.incomplete",
                b"response.failed",
            ],
            StreamEnd::GeminiFinish => &[b"finishReason", b"blockReason"],
        };
        contains(bytes, b"\\u") || needles.iter().any(|n| contains(bytes, n))
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[derive(Deserialize)]
struct Typed<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
}

fn type_of(data: &str) -> Option<Cow<'_, str>> {
    serde_json::from_str::<Typed<'_>>(data).ok()?.kind
}

#[derive(Deserialize)]
struct GeminiChunk {
    #[serde(default)]
    candidates: Option<Vec<GeminiCandidate>>,
    #[serde(rename = "promptFeedback", default)]
    prompt_feedback: Option<GeminiFeedback>,
}

#[derive(Deserialize)]
struct GeminiCandidate {
    #[serde(rename = "finishReason", default)]
    finish_reason: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct GeminiFeedback {
    #[serde(rename = "blockReason", default)]
    block_reason: Option<IgnoredAny>,
}

fn gemini_finished(data: &str) -> bool {
    let Ok(chunk) = serde_json::from_str::<GeminiChunk>(data) else {
        return false;
    };
    chunk
        .candidates
        .iter()
        .flatten()
        .any(|c| c.finish_reason.is_some())
        || chunk
            .prompt_feedback
            .is_some_and(|f| f.block_reason.is_some())
}

/// The events in `bytes`, each without its blank line; a last event lacking one included.
pub fn events(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    let mut ends = event_ends(bytes);
    std::iter::from_fn(move || {
        while start < bytes.len() {
            let end = ends.next().unwrap_or(bytes.len());
            let event = &bytes[start..end];
            start = end;
            let body = event
                .iter()
                .rposition(|b| !matches!(b, b'\r' | b'\n'))
                .map_or(0, |i| i + 1);
            if body > 0 {
                return Some(&event[..body]);
            }
        }
        None
    })
}

/// End offsets of the complete events in `bytes`, each just after its blank line.
pub fn event_ends(bytes: &[u8]) -> impl Iterator<Item = usize> {
    let mut from = 0;
    std::iter::from_fn(move || {
        let (_, end) = blank_line(&bytes[from..])?;
        from += end;
        Some(from)
    })
}

/// The first blank line in `bytes`: (where the terminator before it starts, where it ends).
fn blank_line(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    let mut line_start = 0;
    while i < bytes.len() {
        let len = match bytes[i] {
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => 2,
            b'\r' | b'\n' => 1,
            _ => {
                i += 1;
                continue;
            }
        };
        if i == line_start && i > 0 {
            // An empty line: it ends the event that precedes it.
            return Some((i, i + len));
        }
        i += len;
        line_start = i;
    }
    None
}

/// One event's `event:` name and its `data:` lines joined with `\n` (per the SSE spec: one
/// space after the colon is dropped; comments and other fields are ignored).
pub fn fields(event: &[u8]) -> (Option<&str>, Option<Cow<'_, str>>) {
    let mut name = None;
    let mut data: Option<Cow<'_, str>> = None;
    for line in event.split(|&b| b == b'\n' || b == b'\r') {
        let Ok(line) = std::str::from_utf8(line) else {
            continue;
        };
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => name = Some(value),
            "data" => {
                data = Some(match data {
                    None => Cow::Borrowed(value),
                    Some(prev) => Cow::Owned(format!("{prev}\n{value}")),
                });
            }
            _ => {}
        }
    }
    (name, data)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The same event written as real hosts write it.
    fn formattings(event: Option<&str>, json: &serde_json::Value) -> Vec<String> {
        let compact = serde_json::to_string(json).unwrap();
        let spaced = compact.replace("\":", "\": ").replace(",\"", ", \"");
        let pretty = serde_json::to_string_pretty(json).unwrap();
        let head = event.map(|e| format!("event: {e}\n")).unwrap_or_default();
        let mut out = Vec::new();
        let lines: String = pretty.lines().map(|l| format!("data: {l}\n")).collect();
        let lf = [
            format!("{head}data: {compact}\n\n"),
            format!("{head}data:{spaced}\n\n"),
            format!("{head}{lines}\n"),
        ];
        for wire in lf {
            out.push(wire.replace('\n', "\r\n"));
            out.push(wire.replace('\n', "\r"));
            out.push(wire);
        }
        out
    }

    fn preceded(event: &str) -> String {
        format!("data: {{\"type\": \"ping\"}}\n\n{event}")
    }

    #[test]
    fn responses_end_in_every_formatting() {
        for kind in RESPONSES_ENDS {
            let json = serde_json::json!({"type": kind, "sequence_number": 9, "response": {"id": "r", "status": "x"}});
            for named in [Some(kind), None] {
                for wire in formattings(named, &json) {
                    assert!(
                        StreamEnd::ResponsesDone.seen_in(preceded(&wire).as_bytes()),
                        "{wire:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn responses_non_terminal_events() {
        let json = serde_json::json!({"type": "response.output_text.delta", "delta": "response.completed"});
        for wire in formattings(Some("response.output_text.delta"), &json) {
            assert!(
                !StreamEnd::ResponsesDone.seen_in(wire.as_bytes()),
                "{wire:?}"
            );
        }
        // The type spelled with a unicode escape is still the type.
        let escaped = "data: {\"type\": \"response.\\u0063ompleted\"}\n\n";
        assert!(StreamEnd::ResponsesDone.seen_in(escaped.as_bytes()));
    }

    #[test]
    fn anthropic_stop_in_every_formatting() {
        let json = serde_json::json!({"type": "message_stop"});
        for named in [Some("message_stop"), None] {
            for wire in formattings(named, &json) {
                assert!(
                    StreamEnd::AnthropicStop.seen_in(wire.as_bytes()),
                    "{wire:?}"
                );
            }
        }
        let delta = serde_json::json!({"type": "content_block_delta", "delta": {"type": "text_delta", "text": "message_stop"}});
        for wire in formattings(Some("content_block_delta"), &delta) {
            assert!(
                !StreamEnd::AnthropicStop.seen_in(wire.as_bytes()),
                "{wire:?}"
            );
        }
    }

    #[test]
    fn gemini_finish_in_every_formatting() {
        let done = serde_json::json!({"candidates": [{"content": {"parts": [{"text": "hi"}]}, "finishReason": "STOP"}]});
        let blocked = serde_json::json!({"promptFeedback": {"blockReason": "SAFETY"}});
        for json in [done, blocked] {
            for wire in formattings(None, &json) {
                assert!(StreamEnd::GeminiFinish.seen_in(wire.as_bytes()), "{wire:?}");
            }
        }
        let text =
            serde_json::json!({"candidates": [{"content": {"parts": [{"text": "finishReason"}]}}]});
        for wire in formattings(None, &text) {
            assert!(
                !StreamEnd::GeminiFinish.seen_in(wire.as_bytes()),
                "{wire:?}"
            );
        }
    }

    #[test]
    fn openai_done() {
        for wire in [
            "data: [DONE]\n\n",
            "data:[DONE]",
            "data: [DONE]\r\n\r\n",
            "data: [DONE]\r\r",
        ] {
            assert!(
                StreamEnd::OpenAiDone.seen_in(preceded(wire).as_bytes()),
                "{wire:?}"
            );
        }
        assert!(!StreamEnd::OpenAiDone.seen_in(b"data: {\"text\": \"[DONE]\"}\n\n"));
    }

    #[test]
    fn events_split_at_blank_lines() {
        let bytes = b"data: 1\n\ndata: 2\r\n\r\n: c\n\nevent: e\ndata: 3\r\rdata: 4";
        let got: Vec<_> = events(bytes).collect();
        assert_eq!(
            got,
            vec![
                &b"data: 1"[..],
                b"data: 2",
                b": c",
                b"event: e\ndata: 3",
                b"data: 4"
            ]
        );
        assert_eq!(fields(b"event: e\ndata: a\ndata:b").0, Some("e"));
        assert_eq!(fields(b"event: e\ndata: a\ndata:b").1.unwrap(), "a\nb");
    }

    #[test]
    fn event_ends_follow_blank_lines() {
        let bytes = b"data: 1\n\ndata: 2\r\n\r\n: c\n\ndata: [DONE]\n\n";
        let ends: Vec<_> = event_ends(bytes).collect();
        assert_eq!(ends.len(), 4);
        assert_eq!(&bytes[..ends[0]], b"data: 1\n\n");
        assert_eq!(&bytes[ends[0]..ends[1]], b"data: 2\r\n\r\n");
        assert_eq!(fields(&bytes[ends[1]..ends[2]]).1, None);
    }
}
