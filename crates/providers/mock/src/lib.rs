//! The built-in `mock` provider: a provider key named `mock` needs no real key and reaches no
//! network. Its requests are built by the OpenAI adapter like any OpenAI-compatible host's,
//! addressed to [`BASE_URL`]; the server's transport hands them to [`answer`] instead of
//! sending them, and relays the answer exactly as it relays a real upstream's, so every client
//! dialect (translated or not), streaming, usage records and limits work as with a real
//! provider. New users try Forge with it before adding a real key; tests use it for
//! deterministic answers.
//!
//! Answers are deterministic functions of the request: the same request gets the same text,
//! vectors and token counts. `mock-only-fail-<status>` models answer that HTTP status (a
//! deployment to fail over from).

mod chat;
mod text;
mod vectors;

use bytes::Bytes;
use serde_json::{Value, json};

/// Where a `mock` provider key points; the transport answers this scheme itself.
pub const BASE_URL: &str = "mock://forge/v1";

/// The URL scheme the transport recognises.
pub const SCHEME: &str = "mock://";

/// The models the provider lists (`owned_by: "mock"` in `/v1/models`).
pub const MODELS: &[&str] = &[
    "mock-only-gpt-4o",
    "mock-only-gpt-4o-mini",
    "mock-only-o3-mini",
    "mock-only-text-embedding-3-small",
    "mock-only-dall-e-3",
];

/// A whole answer: status, content type and the body in the pieces it is delivered in (one
/// piece, or one per server-sent event for a stream).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub content_type: &'static str,
    pub chunks: Vec<Bytes>,
}

impl Answer {
    fn json(status: u16, body: &Value) -> Answer {
        Answer {
            status,
            content_type: "application/json",
            chunks: vec![Bytes::from(body.to_string())],
        }
    }

    /// An OpenAI-shaped error.
    fn error(status: u16, message: &str, code: &str) -> Answer {
        let kind = match status {
            400 | 404 | 422 => "invalid_request_error",
            401 => "authentication_error",
            429 => "rate_limit_exceeded",
            _ => "server_error",
        };
        Answer::json(
            status,
            &json!({ "error": { "message": message, "type": kind, "param": null, "code": code } }),
        )
    }

    /// The body in one piece (tests, and callers that do not stream).
    pub fn body(&self) -> Vec<u8> {
        self.chunks.concat()
    }
}

/// Answers one request: `method` and `url` as the adapter built them (`mock://forge/v1/...`),
/// `body` the JSON it would have sent.
pub fn answer(method: &str, url: &str, body: &[u8]) -> Answer {
    let path = url
        .strip_prefix(BASE_URL)
        .unwrap_or(url)
        .split('?')
        .next()
        .unwrap_or_default();
    match (method, path) {
        ("GET", "/models") => models(),
        (
            "POST",
            "/chat/completions"
            | "/completions"
            | "/embeddings"
            | "/images/generations"
            | "/moderations"
            | "/audio/speech",
        ) => {
            let Ok(request) = serde_json::from_slice::<Value>(body) else {
                return Answer::error(400, "the request body is not valid JSON", "invalid_json");
            };
            let model = request["model"].as_str().unwrap_or_default();
            if let Some(status) = failing(model) {
                return Answer::error(
                    status,
                    &format!("mock model {model} fails on purpose"),
                    "mock_failure",
                );
            }
            match path {
                "/chat/completions" => chat::answer(&request),
                "/completions" => text::completions(&request),
                "/embeddings" => vectors::embeddings(&request),
                "/moderations" => text::moderations(&request),
                "/audio/speech" => text::speech(&request),
                _ => text::images(&request),
            }
        }
        _ => Answer::error(
            404,
            &format!("the mock provider does not serve {method} {path}"),
            "unknown_url",
        ),
    }
}

/// `mock-only-fail-503` → 503.
fn failing(model: &str) -> Option<u16> {
    let status = model.strip_prefix("mock-only-fail-")?.parse::<u16>().ok()?;
    (400..=599).contains(&status).then_some(status)
}

fn models() -> Answer {
    let data: Vec<Value> = MODELS
        .iter()
        .map(|id| json!({ "id": id, "object": "model", "created": 0, "owned_by": "mock" }))
        .collect();
    Answer::json(200, &json!({ "object": "list", "data": data }))
}

/// Tokens of a text as the mock counts them: one per four bytes, at least one for any text.
fn tokens_of(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

/// A stable id for an answer: a hash of what it answers.
fn id_of(prefix: &str, body: &Value) -> String {
    format!(
        "{prefix}-mock{:016x}",
        vectors::fnv1a(body.to_string().as_bytes())
    )
}

#[cfg(test)]
mod tests;
