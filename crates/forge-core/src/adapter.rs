//! The one trait every provider crate implements: what the server needs from an upstream to
//! send it a canonical request and read its answer, without knowing its wire format.
//!
//! Adapters are sans-I/O: they build [`UpstreamRequest`]s and parse bodies and parsed SSE
//! events; the server owns sockets, timeouts and retries. A new provider family is one crate
//! with one implementation of [`ProviderAdapter`] (and of [`StreamDecoder`] for its streams).
//! What only a same-dialect client uses (passing a body through unchanged, Anthropic's token
//! counting) stays on the concrete adapter: the client dialect that passes through knows which
//! adapter it talks to.

use crate::Error;
use crate::canonical::{ChatRequest, ChatResponse, StreamEvent};
use crate::sse::SseEvent;
use crate::upstream::UpstreamRequest;

/// A provider family's adapter, built per provider key (its base URL and credential).
pub trait ProviderAdapter {
    /// The canonical dialect name requests are rendered in (`ChatRequest::dropped_for`).
    fn dialect(&self) -> &'static str;

    /// A canonical request (from any client dialect) as this upstream's request.
    fn chat_request(&self, req: &ChatRequest) -> Result<UpstreamRequest, Error>;

    /// A whole (non-streamed) answer; an error the upstream embedded in a 200 is an error.
    fn parse_response(&self, body: &[u8]) -> Result<ChatResponse, Error>;

    /// A decoder for one streamed answer. `provider` names the upstream in errors, `model`
    /// names the answer until the stream says otherwise, `created` (Unix seconds) stamps it
    /// where the stream carries no time.
    fn stream_decoder(&self, provider: &str, model: &str, created: u64) -> Box<dyn StreamDecoder>;

    /// The upstream's error from a non-2xx answer: status kept, its own message, type and
    /// code where it sent them, credentials scrubbed.
    fn parse_error(&self, status: u16, retry_after: Option<&str>, body: &[u8]) -> Error;

    /// The request listing the models this key can use.
    fn list_models(&self) -> UpstreamRequest;

    /// The model ids of a listing.
    fn parse_models(&self, body: &[u8]) -> Result<Vec<String>, Error>;

    /// Where a pass-through request for `path` (below the base URL, query included) goes,
    /// and the credentials it carries.
    fn forward(&self, path: &str) -> crate::upstream::Forward;

    /// An embeddings request in this upstream's own API (Cohere's `/v2/embed`); `None` when
    /// Forge maps none (OpenAI-compatible hosts take OpenAI's body as it is).
    fn embeddings_request(
        &self,
        _req: &crate::embeddings::EmbeddingsRequest,
    ) -> Option<Result<UpstreamRequest, Error>> {
        None
    }

    /// The vectors of an answer to [`ProviderAdapter::embeddings_request`].
    fn parse_embeddings(&self, _body: &[u8]) -> Result<crate::embeddings::Embeddings, Error> {
        Err(Error::Internal(
            "this provider has no embeddings mapping".to_owned(),
        ))
    }

    /// A rerank request (Cohere's and Jina's shape, `model` already the upstream's) for this
    /// upstream's own rerank endpoint; `None` when it has none Forge knows.
    fn rerank_request(&self, _body: bytes::Bytes) -> Option<UpstreamRequest> {
        None
    }
}

/// Turns one upstream stream's parsed SSE events into canonical events.
pub trait StreamDecoder {
    /// The canonical events of one SSE event; an error the upstream sent in the stream is an
    /// error.
    fn decode(&mut self, ev: &SseEvent) -> Result<Vec<StreamEvent>, Error>;

    /// At the upstream's end of stream: what the decoder still holds.
    fn finish(&mut self) -> Vec<StreamEvent> {
        Vec::new()
    }

    /// Whether the upstream ended its stream properly (`[DONE]`, `message_stop`, a finish
    /// reason), as opposed to being cut off.
    fn complete(&self) -> bool;
}

/// Longest upstream text (an error message) passed on to a client, in characters.
pub const MAX_ERROR_TEXT: usize = 500;

/// Text an upstream sent, made safe to show a client: the credential removed (an upstream
/// may echo it), cut to [`MAX_ERROR_TEXT`] characters.
pub fn upstream_text(text: &str, secret: &str) -> String {
    let text = scrub(text, secret);
    match text.char_indices().nth(MAX_ERROR_TEXT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// `text` without `secret` in it. Secrets of under 4 characters are left alone: masking
/// them would mangle ordinary text.
pub fn scrub(text: &str, secret: &str) -> String {
    if secret.len() < 4 {
        return text.to_owned();
    }
    text.replace(secret, "<redacted>")
}

/// An error body that carried no message of its own, as text.
pub fn body_text(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        "empty response body".to_owned()
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_text_is_scrubbed_and_clipped() {
        assert_eq!(
            upstream_text("bad key sk-secret-1", "sk-secret-1"),
            "bad key <redacted>"
        );
        assert_eq!(scrub("a b", "b"), "a b", "a short secret is left alone");
        let long = "é".repeat(MAX_ERROR_TEXT + 10);
        let clipped = upstream_text(&long, "");
        assert_eq!(clipped.chars().count(), MAX_ERROR_TEXT + 1);
        assert!(clipped.ends_with('…'));
        assert_eq!(body_text(b"  \n"), "empty response body");
        assert_eq!(body_text(b" <html> "), "<html>");
    }
}
