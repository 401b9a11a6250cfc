//! What the bench upstream answers, chosen by the request itself so that one upstream process
//! serves every scenario: the model name (after the last `/`, so `bench/sse.n20.i5` and
//! `sse.n20.i5` behave alike, whether or not a gateway stripped a provider prefix) holds
//! `.`-separated tokens `d<ms>` (delay before the answer), `n<count>` (stream chunks) and
//! `i<ms>` (pause between chunks); `"stream": true` in the body asks for SSE.

use std::time::Duration;

/// Chunks in a stream when the model does not say.
pub const DEFAULT_CHUNKS: u32 = 20;
/// Refuse absurd pacing so a typo cannot hold connections for hours.
const MAX_MS: u64 = 600_000;
const MAX_CHUNKS: u32 = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Behaviour {
    pub stream: bool,
    pub delay: Duration,
    pub chunks: u32,
    pub interval: Duration,
}

impl Behaviour {
    /// Reads the behaviour from a JSON request body without parsing all of it.
    pub fn from_body(body: &[u8]) -> Behaviour {
        let model = string_field(body, b"model").unwrap_or_default();
        let mut b = Behaviour {
            stream: bool_field(body, b"stream").unwrap_or(false),
            delay: Duration::ZERO,
            chunks: DEFAULT_CHUNKS,
            interval: Duration::ZERO,
        };
        let name = model.rsplit(|&c| c == b'/').next().unwrap_or_default();
        for token in name.split(|&c| c == b'.') {
            let Some((&kind, digits)) = token.split_first() else {
                continue;
            };
            let Some(n) = parse_u64(digits) else {
                continue;
            };
            match kind {
                b'd' => b.delay = Duration::from_millis(n.min(MAX_MS)),
                b'i' => b.interval = Duration::from_millis(n.min(MAX_MS)),
                b'n' => b.chunks = u32::try_from(n).unwrap_or(MAX_CHUNKS).clamp(1, MAX_CHUNKS),
                _ => {}
            }
        }
        b
    }
}

fn parse_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 12 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0')),
    )
}

/// The bytes after `"key"`, whitespace and `:` and whitespace, at the first place they occur.
fn value_after<'a>(body: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let mut quoted = Vec::with_capacity(key.len() + 2);
    quoted.push(b'"');
    quoted.extend_from_slice(key);
    quoted.push(b'"');
    let at = body
        .windows(quoted.len())
        .position(|w| w == quoted.as_slice())?;
    let rest = body[at + quoted.len()..].trim_ascii_start();
    Some(rest.strip_prefix(b":")?.trim_ascii_start())
}

fn string_field<'a>(body: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let rest = value_after(body, key)?.strip_prefix(b"\"")?;
    let end = rest.iter().position(|&c| c == b'"')?;
    Some(&rest[..end])
}

fn bool_field(body: &[u8], key: &[u8]) -> Option<bool> {
    let rest = value_after(body, key)?;
    if rest.starts_with(b"true") {
        Some(true)
    } else if rest.starts_with(b"false") {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_json_by_default() {
        let b = Behaviour::from_body(br#"{"model":"bench/instant","messages":[]}"#);
        assert_eq!(
            b,
            Behaviour {
                stream: false,
                delay: Duration::ZERO,
                chunks: DEFAULT_CHUNKS,
                interval: Duration::ZERO
            }
        );
    }

    #[test]
    fn tokens_after_the_last_slash() {
        let b = Behaviour::from_body(br#"{"stream": true, "model" : "bench/x/sse.n7.i5.d50"}"#);
        assert!(b.stream);
        assert_eq!(b.chunks, 7);
        assert_eq!(b.interval, Duration::from_millis(5));
        assert_eq!(b.delay, Duration::from_millis(50));
        let b = Behaviour::from_body(br#"{"model":"d50","stream":false}"#);
        assert!(!b.stream);
        assert_eq!(b.delay, Duration::from_millis(50));
    }

    #[test]
    fn junk_is_ignored_and_bounded() {
        let b = Behaviour::from_body(br#"{"model":"n0.ix.d99999999999.nq"}"#);
        assert_eq!(b.chunks, 1);
        assert_eq!(b.interval, Duration::ZERO);
        assert_eq!(b.delay, Duration::from_millis(MAX_MS));
        assert_eq!(Behaviour::from_body(b"not json").chunks, DEFAULT_CHUNKS);
    }
}
