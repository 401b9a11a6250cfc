//! What a logged body may keep. Bodies are scanned as text, so a JSON body keeps its exact
//! bytes apart from what is masked, and a body cut short or not JSON at all is handled the
//! same way: values of sensitive fields become `"[REDACTED]"` (at any depth), and every
//! credential the caller presented, and anything shaped like a provider or Forge key,
//! becomes `[REDACTED]` wherever it appears. Redaction runs before truncation, so a secret is
//! never kept half.

use forge_router::config::LoggingConfig;
use zeroize::Zeroizing;

pub const REDACTED: &str = "[REDACTED]";

/// Credential fields masked whatever the configuration says (compared case-insensitively).
const ALWAYS: &[&str] = &[
    "api_key",
    "apikey",
    "api-key",
    "x-api-key",
    "x-goog-api-key",
    "authorization",
    "password",
    "client_secret",
    "access_token",
    "refresh_token",
];

/// Work past the size limit: enough that a secret straddling the cut is still seen whole.
const MARGIN: usize = 4096;

/// Shaped like a key: a prefix at a word start, then at least `min` key characters, and
/// (`digit`) at least one digit among them, which keeps ordinary hyphenated words out.
struct Shape {
    prefix: &'static str,
    min: usize,
    hex_only: bool,
    digit: bool,
}

const SHAPES: &[Shape] = &[
    // OpenAI (`sk-`, `sk-proj-`), Anthropic (`sk-ant-`) and most OpenAI-compatible vendors.
    Shape {
        prefix: "sk-",
        min: 20,
        hex_only: false,
        digit: true,
    },
    // Forge keys: `forge-` and 64 hex digits.
    Shape {
        prefix: "forge-",
        min: 32,
        hex_only: true,
        digit: false,
    },
    // Google API keys.
    Shape {
        prefix: "AIza",
        min: 30,
        hex_only: false,
        digit: false,
    },
];

/// How one request's bodies are redacted: fixed when the request is admitted.
#[derive(Debug)]
pub struct Policy {
    /// Lowercase field names.
    fields: Vec<String>,
    pub max_body_bytes: usize,
}

impl Policy {
    pub fn new(config: &LoggingConfig) -> Policy {
        let mut fields: Vec<String> = ALWAYS.iter().map(|f| (*f).to_owned()).collect();
        for field in &config.redact_fields {
            let field = field.trim().to_lowercase();
            if !field.is_empty() && !fields.contains(&field) {
                fields.push(field);
            }
        }
        Policy {
            fields,
            max_body_bytes: config.max_body_bytes,
        }
    }

    /// The stored form of `raw`, and whether it was cut to `max_body_bytes`.
    pub fn apply(&self, raw: &[u8], secrets: &[Zeroizing<String>]) -> (String, bool) {
        let text = String::from_utf8_lossy(raw);
        let window = self.max_body_bytes.saturating_add(MARGIN);
        let (masked, cut_early) = self.mask_fields(&text, window);
        let mut out = mask_secrets(&masked, secrets);
        if out.contains('\0') {
            // PostgreSQL text cannot hold NUL.
            out = out.replace('\0', "\u{FFFD}");
        }
        let over = out.len() > self.max_body_bytes;
        if over {
            let mut cut = self.max_body_bytes;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
        }
        (out, cut_early || over)
    }

    fn sensitive(&self, key: &str) -> bool {
        let key = key.to_lowercase();
        self.fields.contains(&key)
    }

    /// Replaces the values of sensitive keys; stops once the output reaches `window` bytes
    /// (true when input was left unread).
    fn mask_fields(&self, text: &str, window: usize) -> (String, bool) {
        let bytes = text.as_bytes();
        let mut out = String::with_capacity(text.len().min(window + 64));
        let mut copied = 0;
        let mut i = 0;
        while i < bytes.len() {
            if out.len() + (i - copied) >= window {
                while !text.is_char_boundary(i) {
                    i += 1;
                }
                out.push_str(&text[copied..i]);
                return (out, true);
            }
            if bytes[i] != b'"' {
                i += 1;
                continue;
            }
            let end = string_end(bytes, i);
            let after = skip_ws(bytes, end);
            if bytes.get(after) != Some(&b':') || !self.sensitive(&key_text(&text[i..end])) {
                i = end;
                continue;
            }
            let value = skip_ws(bytes, after + 1);
            out.push_str(&text[copied..value]);
            out.push('"');
            out.push_str(REDACTED);
            out.push('"');
            i = value_end(bytes, value);
            copied = i;
        }
        out.push_str(&text[copied..]);
        (out, false)
    }
}

/// The index just past the string starting with the quote at `start` (or the end).
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// A quoted key's text with its escapes decoded (as written when it is not valid JSON).
fn key_text(quoted: &str) -> String {
    serde_json::from_str::<String>(quoted).unwrap_or_else(|_| quoted.trim_matches('"').to_owned())
}

/// The index just past the JSON value starting at `start`: a string, a whole object or
/// array, or a scalar up to the next delimiter.
fn value_end(bytes: &[u8], start: usize) -> usize {
    match bytes.get(start) {
        None => start,
        Some(b'"') => string_end(bytes, start),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut i = start;
            while i < bytes.len() {
                match bytes[i] {
                    b'"' => {
                        i = string_end(bytes, i);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            bytes.len()
        }
        Some(_) => {
            let mut i = start;
            while i < bytes.len() && !matches!(bytes[i], b',' | b'}' | b']') {
                if bytes[i].is_ascii_whitespace() {
                    break;
                }
                i += 1;
            }
            i
        }
    }
}

/// Masks the caller's own credentials and anything shaped like a key.
pub fn mask_secrets(text: &str, secrets: &[Zeroizing<String>]) -> String {
    let mut out = text.to_owned();
    for secret in secrets {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), REDACTED);
        }
        // The same credential inside a JSON string, if it has characters JSON escapes.
        if let Ok(quoted) = serde_json::to_string(secret.as_str()) {
            let inner = &quoted[1..quoted.len() - 1];
            if inner != secret.as_str() && out.contains(inner) {
                out = out.replace(inner, REDACTED);
            }
        }
    }
    mask_shapes(&out)
}

fn mask_shapes(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let at_word_start = i == 0 || !is_key_char(bytes[i - 1]);
        let matched = at_word_start
            .then(|| SHAPES.iter().find_map(|shape| shape_len(bytes, i, shape)))
            .flatten();
        match matched {
            Some(len) => {
                out.push_str(&text[copied..i]);
                out.push_str(REDACTED);
                i += len;
                copied = i;
            }
            None => i += 1,
        }
    }
    out.push_str(&text[copied..]);
    out
}

fn is_key_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// The length of the key of `shape` starting at `i`, if there is one.
fn shape_len(bytes: &[u8], i: usize, shape: &Shape) -> Option<usize> {
    let prefix = shape.prefix.as_bytes();
    if !bytes[i..].starts_with(prefix) {
        return None;
    }
    let body = &bytes[i + prefix.len()..];
    let accept = |b: u8| {
        if shape.hex_only {
            b.is_ascii_hexdigit()
        } else {
            is_key_char(b)
        }
    };
    let n = body.iter().take_while(|b| accept(**b)).count();
    let digit = !shape.digit || body[..n].iter().any(u8::is_ascii_digit);
    (n >= shape.min && digit).then_some(prefix.len() + n)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn policy(fields: &[&str], max: usize) -> Policy {
        Policy::new(&LoggingConfig {
            redact_fields: fields.iter().map(|f| (*f).to_owned()).collect(),
            max_body_bytes: max,
            ..LoggingConfig::default()
        })
    }

    fn secrets(list: &[&str]) -> Vec<Zeroizing<String>> {
        list.iter()
            .map(|s| Zeroizing::new((*s).to_owned()))
            .collect()
    }

    #[test]
    fn sensitive_fields_are_masked_at_any_depth_and_the_rest_kept() {
        let p = policy(&["SSN"], 1 << 20);
        let body = r#"{"model": "m", "password":"hunter2", "user": {"ssn" : 123456789, "Api_Key": {"a": [1, "}"]}}, "n": [true]}"#;
        let (out, truncated) = p.apply(body.as_bytes(), &[]);
        assert_eq!(
            out,
            r#"{"model": "m", "password":"[REDACTED]", "user": {"ssn" : "[REDACTED]", "Api_Key": "[REDACTED]"}, "n": [true]}"#
        );
        assert!(!truncated);
        let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed["user"]["ssn"], REDACTED);
        // A value that merely equals a field name is not a key.
        let (out, _) = p.apply(br#"{"text": "password", "list": ["ssn", 1]}"#, &[]);
        assert_eq!(out, r#"{"text": "password", "list": ["ssn", 1]}"#);
        // An escaped key is still recognised.
        let (out, _) = p.apply(br#"{"pass\u0077ord": "x"}"#, &[]);
        assert_eq!(out, r#"{"pass\u0077ord": "[REDACTED]"}"#);
    }

    #[test]
    fn broken_json_is_masked_too() {
        let p = policy(&[], 1 << 20);
        let (out, _) = p.apply(br#"{"password": "abc\"def"#, &[]);
        assert_eq!(out, r#"{"password": "[REDACTED]""#);
        let (out, _) = p.apply(b"plain text, no json", &[]);
        assert_eq!(out, "plain text, no json");
    }

    #[test]
    fn presented_keys_and_key_shapes_never_survive() {
        let p = policy(&[], 1 << 20);
        let caller = "gw-test-key-5f0c1d2e3a4b";
        let forge = format!("forge-{}", "ab12".repeat(16));
        let body = format!(
            "{{\"content\": \"my key {caller} and sk-proj-abcDEF0123456789xyz, {forge}; task-list sk-short\", \"q\": \"a\\\"b\"}}"
        );
        let (out, _) = p.apply(body.as_bytes(), &secrets(&[caller, "a\"b-long-secret"]));
        assert!(!out.contains(caller) && !out.contains("sk-proj") && !out.contains(&forge));
        assert!(out.contains("task-list sk-short"), "{out}");
        assert_eq!(out.matches(REDACTED).count(), 3, "{out}");
        let quoted = r#"{"x": "a\"b-long-secret"}"#;
        assert_eq!(
            p.apply(quoted.as_bytes(), &secrets(&["a\"b-long-secret"]))
                .0,
            r#"{"x": "[REDACTED]"}"#
        );
        // Hyphenated words are not keys.
        let (out, _) = p.apply(b"sk-learn-and-scikit-learn-docs forge-server-settings", &[]);
        assert_eq!(out, "sk-learn-and-scikit-learn-docs forge-server-settings");
    }

    #[test]
    fn truncation_follows_redaction_and_keeps_characters_whole() {
        let p = policy(&[], 256);
        let body = format!(
            "{{\"password\": \"{}\", \"t\": \"ok\"}}",
            "x".repeat(10_000)
        );
        let (out, truncated) = p.apply(body.as_bytes(), &[]);
        assert_eq!(out, r#"{"password": "[REDACTED]", "t": "ok"}"#);
        assert!(!truncated);
        let long = "é".repeat(1000);
        let (out, truncated) = p.apply(long.as_bytes(), &[]);
        assert!(truncated);
        assert_eq!(out.len(), 256);
        assert!(out.chars().all(|c| c == 'é'));
        // A huge body is read only as far as needed, and still ends truncated.
        let huge = format!("{{\"t\": \"{}\"}}", "y".repeat(5 << 20));
        let (out, truncated) = p.apply(huge.as_bytes(), &[]);
        assert!(truncated && out.len() == 256);
        // A key straddling the cut is masked before the cut.
        let near = format!("{} sk-ant-api03-{}", "z".repeat(249), "k1".repeat(30));
        let (out, _) = p.apply(near.as_bytes(), &[]);
        assert!(!out.contains("sk-ant") && !out.contains("k1k1"), "{out}");
        let (out, _) = p.apply(b"a\0b", &[]);
        assert_eq!(out, "a\u{FFFD}b");
    }
}
