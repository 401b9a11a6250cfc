//! Builds upstream requests for the Gemini API and parses its answers.

use std::fmt;

use bytes::Bytes;
use forge_core::Error;
use forge_core::adapter::{ProviderAdapter, StreamDecoder, body_text, scrub, upstream_text};
use forge_core::canonical::{ChatRequest, ChatResponse, StreamEvent};
use forge_core::gemini::convert::{request_from_canonical, response_to_canonical};
use forge_core::gemini::stream_decode;
use forge_core::gemini::{
    GeminiErrorBody, GenerateContentRequest, GenerateContentResponse, ModelList,
};
use forge_core::sse::SseEvent;
use forge_core::upstream::{Method, UpstreamRequest};
use serde_json::Value;

use crate::stream::GenerateStream;

pub const DEFAULT_BASE_URL: &str = "https://generativelanguage.googleapis.com/v1beta";

/// The provider name in errors and usage records.
pub const PROVIDER: &str = "gemini";

#[derive(Clone)]
pub struct GeminiAdapter {
    base_url: String,
    api_key: String,
}

impl fmt::Debug for GeminiAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeminiAdapter")
            .field("base_url", &self.base_url)
            .field("api_key", &"<redacted>")
            .finish()
    }
}

impl GeminiAdapter {
    /// `base_url` `None` or blank means Google's `v1beta` endpoint.
    pub fn new(base_url: Option<&str>, api_key: &str) -> Self {
        let base = base_url
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .unwrap_or(DEFAULT_BASE_URL);
        GeminiAdapter {
            base_url: base.trim_end_matches('/').to_owned(),
            api_key: api_key.to_owned(),
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    fn headers(&self, with_body: bool) -> Vec<(&'static str, String)> {
        let mut headers = vec![("x-goog-api-key", self.api_key.clone())];
        if with_body {
            headers.push(("content-type", "application/json".to_owned()));
        }
        headers.push(("accept", "application/json".to_owned()));
        headers
    }

    /// `{base}/models/{model}:generateContent` or `:streamGenerateContent?alt=sse`; the
    /// model may come with or without its `models/` prefix.
    fn generate_url(&self, model: &str, stream: bool) -> String {
        let model = model.trim().trim_start_matches('/');
        // Tuned models live under their own collection; everything else under `models/`.
        let resource = if model.starts_with("tunedModels/") {
            escape_path(model)
        } else {
            let id = model.strip_prefix("models/").unwrap_or(model);
            format!("models/{}", escape_path(id))
        };
        let method = if stream {
            "streamGenerateContent?alt=sse"
        } else {
            "generateContent"
        };
        format!("{}/{resource}:{method}", self.base_url)
    }

    /// Sends a client body (already in Gemini's dialect) as it is.
    pub fn passthrough(&self, model: &str, body: Bytes, stream: bool) -> UpstreamRequest {
        let mut headers = self.headers(true);
        if stream && let Some(h) = headers.iter_mut().find(|(n, _)| *n == "accept") {
            h.1 = "text/event-stream".to_owned();
        }
        UpstreamRequest {
            method: Method::Post,
            url: self.generate_url(model, stream),
            headers,
            body,
        }
    }

    pub fn generate_request(
        &self,
        model: &str,
        req: &GenerateContentRequest,
        stream: bool,
    ) -> Result<UpstreamRequest, Error> {
        let body = serde_json::to_vec(req)
            .map_err(|e| Error::Internal(format!("could not serialise a Gemini request: {e}")))?;
        Ok(self.passthrough(model, Bytes::from(body), stream))
    }

    /// Events of one SSE event of a stream; an in-stream `{"error":…}` is an upstream error.
    pub fn parse_stream_event(
        &self,
        decoder: &mut stream_decode::StreamDecoder,
        ev: &SseEvent,
    ) -> Result<Vec<StreamEvent>, Error> {
        if ev.data.trim().is_empty() {
            return Ok(Vec::new());
        }
        if let Some(err) = self.embedded_error(ev.data.as_bytes()) {
            return Err(err);
        }
        decoder
            .push_data(&ev.data)
            .map_err(|e| self.bad_body(e.to_string()))
    }

    /// Google sends errors inside 200 answers and streams as `{"error":{…}}` (or a
    /// one-element array of it).
    fn embedded_error(&self, body: &[u8]) -> Option<Error> {
        let parsed = parse_google_error(body)?;
        let status = Some(parsed.error.code)
            .filter(|s| (400..=599).contains(s))
            .unwrap_or(502);
        Some(self.parse_error(status, None, body))
    }

    fn bad_body(&self, what: String) -> Error {
        Error::Upstream {
            provider: PROVIDER.to_owned(),
            status: 502,
            message: upstream_text(&format!("unexpected response: {what}"), &self.api_key),
            retry_after: None,
            error_type: None,
            code: None,
        }
    }
}

impl ProviderAdapter for GeminiAdapter {
    fn dialect(&self) -> &'static str {
        "gemini"
    }

    /// Renders a canonical request in Gemini's dialect; `stream` picks the endpoint.
    fn chat_request(&self, req: &ChatRequest) -> Result<UpstreamRequest, Error> {
        self.generate_request(&req.model, &request_from_canonical(req), req.stream)
    }

    fn list_models(&self) -> UpstreamRequest {
        UpstreamRequest {
            method: Method::Get,
            url: format!("{}/models?pageSize=1000", self.base_url),
            headers: self.headers(false),
            body: Bytes::new(),
        }
    }

    /// Model ids without their `models/` prefix.
    fn parse_models(&self, body: &[u8]) -> Result<Vec<String>, Error> {
        let list: ModelList = serde_json::from_slice(body)
            .map_err(|e| self.bad_body(format!("its model list could not be read ({e})")))?;
        Ok(list.models.iter().map(|m| m.id().to_owned()).collect())
    }

    /// The caller's path under the base URL (`/v1beta` by default).
    fn forward(&self, path: &str) -> forge_core::upstream::Forward {
        forge_core::upstream::Forward {
            url: forge_core::upstream::join_path(&self.base_url, path),
            credentials: vec![("x-goog-api-key", self.api_key.clone())],
            defaults: Vec::new(),
        }
    }

    fn parse_response(&self, body: &[u8]) -> Result<ChatResponse, Error> {
        if let Some(err) = self.embedded_error(body) {
            return Err(err);
        }
        match serde_json::from_slice::<GenerateContentResponse>(body) {
            Ok(resp) => Ok(response_to_canonical(&resp)),
            Err(e) => Err(self.bad_body(format!("its response could not be read ({e})"))),
        }
    }

    /// `model` names the answer until a chunk says otherwise.
    fn stream_decoder(&self, _: &str, model: &str, created: u64) -> Box<dyn StreamDecoder> {
        Box::new(GenerateStream::new(self.clone(), model, created))
    }

    /// An upstream error from a non-2xx answer, with Google's message and status name;
    /// without a `Retry-After` header, a `google.rpc.RetryInfo` detail gives the delay.
    fn parse_error(&self, status: u16, retry_after: Option<&str>, body: &[u8]) -> Error {
        let header_retry = retry_after.and_then(|v| v.trim().parse::<u64>().ok());
        let parsed = parse_google_error(body);
        let message = match &parsed {
            Some(p) if !p.error.message.is_empty() => p.error.message.clone(),
            _ => body_text(body),
        };
        let error_type = parsed
            .as_ref()
            .map(|p| p.error.status.clone())
            .filter(|s| !s.is_empty());
        Error::Upstream {
            provider: PROVIDER.to_owned(),
            status,
            message: upstream_text(&message, &self.api_key),
            retry_after: header_retry.or_else(|| parsed.as_ref().and_then(retry_delay)),
            error_type: error_type.map(|t| scrub(&t, &self.api_key)),
            code: None,
        }
    }
}

fn parse_google_error(body: &[u8]) -> Option<GeminiErrorBody> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let value = match value {
        Value::Array(mut items) if !items.is_empty() => items.swap_remove(0),
        other => other,
    };
    let err = value.get("error")?;
    if !err.is_object() {
        return None;
    }
    // Lenient: a missing `status` or `details` still counts.
    let code = err
        .get("code")
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok())
        .unwrap_or(0);
    let text = |k: &str| {
        err.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    Some(GeminiErrorBody {
        error: forge_core::gemini::GeminiError {
            code,
            message: text("message"),
            status: text("status"),
            details: err
                .get("details")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            extra: serde_json::Map::new(),
        },
    })
}

/// Seconds of a `RetryInfo` detail's `retryDelay` (`"38s"`, `"1.5s"` rounds up).
fn retry_delay(body: &GeminiErrorBody) -> Option<u64> {
    body.error.details.iter().find_map(|d| {
        let is_retry = d
            .get("@type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.ends_with("google.rpc.RetryInfo"));
        let delay = d.get("retryDelay").and_then(Value::as_str)?;
        let secs: f64 = delay.strip_suffix('s')?.parse().ok()?;
        (is_retry && secs.is_finite() && secs >= 0.0).then(|| secs.ceil() as u64)
    })
}

/// Percent-encodes what could end the path or start a query (`?`, `#`, `:`, spaces, …),
/// so a model name can never add parameters to the URL.
fn escape_path(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/' | b'@') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
#[path = "adapter_tests.rs"]
mod tests;
