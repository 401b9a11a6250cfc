//! Builds upstream requests for an OpenAI-compatible host and parses its answers.

use std::fmt;

use bytes::Bytes;
use forge_core::Error;
use forge_core::adapter::{ProviderAdapter, StreamDecoder, body_text, scrub, upstream_text};
use forge_core::canonical::{ChatRequest, ChatResponse, StreamEvent};
use forge_core::openai::convert::{
    chat_request_from_canonical, chat_response_to_canonical, chunk_to_events,
};
use forge_core::openai::{ChatCompletionChunk, ChatCompletionResponse};
use forge_core::sse::SseEvent;
use forge_core::upstream::{Method, UpstreamRequest};
use serde_json::Value;

use crate::providers::{ProviderInfo, ProviderKind};
use crate::stream::ChatStream;

/// `{base}/openai/deployments/{model}/{endpoint}?api-version=..`, with `model` taken out of the
/// body (Azure routes by deployment). A body without a model keeps its URL deployment-less and
/// Azure answers 404, as it would for a missing deployment.
fn azure_deployment_call(
    base: &str,
    version: &str,
    endpoint: Endpoint,
    body: Bytes,
) -> (String, Bytes) {
    let (deployment, body) = match forge_core::json::RawObject::parse(&body) {
        Ok(mut object) => match object.get_str("model").ok().flatten() {
            Some(model) => {
                object.remove("model");
                (model, Bytes::from(object.to_vec()))
            }
            None => (String::new(), body),
        },
        Err(_) => (String::new(), body),
    };
    let url = format!(
        "{base}/openai/deployments/{}/{}?api-version={}",
        encode_component(&deployment),
        endpoint.path(),
        encode_component(version)
    );
    (url, body)
}

/// Percent-encodes everything but unreserved characters, so a name cannot add path or query parts.
fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    ChatCompletions,
    Completions,
    Embeddings,
    Responses,
    ImagesGenerations,
    Moderations,
    AudioSpeech,
    /// Cohere/Jina-shaped reranking, for hosts that serve it.
    Rerank,
    /// Multipart uploads.
    ImagesEdits,
    ImagesVariations,
    AudioTranscriptions,
    AudioTranslations,
}

impl Endpoint {
    /// The path below the base URL, also the `endpoint` recorded for usage.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::ChatCompletions => "chat/completions",
            Endpoint::Completions => "completions",
            Endpoint::Embeddings => "embeddings",
            Endpoint::Responses => "responses",
            Endpoint::ImagesGenerations => "images/generations",
            Endpoint::Moderations => "moderations",
            Endpoint::AudioSpeech => "audio/speech",
            Endpoint::Rerank => "rerank",
            Endpoint::ImagesEdits => "images/edits",
            Endpoint::ImagesVariations => "images/variations",
            Endpoint::AudioTranscriptions => "audio/transcriptions",
            Endpoint::AudioTranslations => "audio/translations",
        }
    }
}

/// Used when an Azure key was stored without `api_version` (the server requires one on create).
pub const AZURE_DEFAULT_API_VERSION: &str = "2024-10-21";

#[derive(Clone)]
pub struct OpenAiAdapter {
    provider: String,
    base_url: String,
    api_key: String,
    /// `Some` for Azure OpenAI: the `api-version` query every call carries.
    azure_api_version: Option<String>,
    /// Whether `/responses` is sent as is (see `ProviderInfo::responses_native`).
    responses_native: bool,
    /// The operator chose (`with_responses_mode`): no fallback to translation.
    responses_pinned: bool,
}

impl fmt::Debug for OpenAiAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiAdapter")
            .field("provider", &self.provider)
            .field("base_url", &self.base_url)
            .field("api_key", &"<redacted>")
            .finish()
    }
}

impl OpenAiAdapter {
    /// `base_url` `None` or blank means the provider's default.
    pub fn new(info: &ProviderInfo, base_url: Option<&str>, api_key: &str) -> Result<Self, Error> {
        if info.kind == ProviderKind::Unsupported {
            return Err(Error::invalid(format!(
                "Provider {} is not supported by this Forge server yet.",
                info.name
            )));
        }
        let chosen = base_url
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .or(info.default_base_url);
        let Some(chosen) = chosen else {
            return Err(Error::InvalidRequest {
                message: format!("provider {} needs a base_url", info.name),
                param: Some("base_url".to_owned()),
            });
        };
        let mut base = chosen.trim_end_matches('/').to_owned();
        if let Some(suffix) = info.url_suffix
            && !base.ends_with(suffix)
        {
            base.push_str(suffix);
        }
        let azure_api_version =
            (info.kind == ProviderKind::Azure).then(|| AZURE_DEFAULT_API_VERSION.to_owned());
        Ok(OpenAiAdapter {
            provider: info.name.clone(),
            base_url: base,
            api_key: api_key.to_owned(),
            azure_api_version,
            responses_native: info.responses_native,
            responses_pinned: false,
        })
    }

    /// Azure's `api-version` (from the provider key's config); ignored for other hosts.
    pub fn with_api_version(mut self, version: Option<&str>) -> Self {
        if let (Some(current), Some(version)) = (&mut self.azure_api_version, version) {
            let version = version.trim();
            if !version.is_empty() {
                *current = version.to_owned();
            }
        }
        self
    }

    /// Overrides the provider table on whether the host serves the Responses API:
    /// `native` or `translate` (a provider key's `config.responses`, forge.toml's
    /// `responses`); anything else keeps the table's answer.
    pub fn with_responses_mode(mut self, mode: Option<&str>) -> Self {
        match mode.map(|m| m.trim().to_ascii_lowercase()).as_deref() {
            Some("native") => (self.responses_native, self.responses_pinned) = (true, true),
            Some("translate") => (self.responses_native, self.responses_pinned) = (false, true),
            _ => {}
        }
        self
    }

    /// Whether Responses API requests go to this host's own `/responses`.
    pub fn serves_responses(&self) -> bool {
        self.responses_native
    }

    /// Whether the operator set the Responses mode, so a missing route is not second-guessed.
    pub fn responses_pinned(&self) -> bool {
        self.responses_pinned
    }

    pub fn provider(&self) -> &str {
        &self.provider
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base_url)
    }

    fn headers(&self, with_body: bool) -> Vec<(&'static str, String)> {
        let mut headers = if self.azure_api_version.is_some() {
            vec![("api-key", self.api_key.clone())]
        } else {
            vec![("authorization", format!("Bearer {}", self.api_key))]
        };
        if with_body {
            headers.push(("content-type", "application/json".to_owned()));
        }
        headers.push(("accept", "application/json".to_owned()));
        headers
    }

    /// Sends a client body (with `model` already rewritten) as it is. For Azure the model
    /// names the deployment in the URL and leaves the body.
    pub fn passthrough(&self, endpoint: Endpoint, body: Bytes) -> UpstreamRequest {
        let (url, body) = match &self.azure_api_version {
            Some(version) => azure_deployment_call(&self.base_url, version, endpoint, body),
            None => (self.url(endpoint.path()), body),
        };
        UpstreamRequest {
            method: Method::Post,
            url,
            headers: self.headers(true),
            body,
        }
    }

    /// A multipart upload (images edits, audio transcriptions, ...) as the client sent it,
    /// its `model` field already `model`, under its own `content_type` (the boundary is the
    /// client's). For Azure the model names the deployment in the URL.
    pub fn upload(
        &self,
        endpoint: Endpoint,
        model: &str,
        body: Bytes,
        content_type: &str,
    ) -> UpstreamRequest {
        let url = match &self.azure_api_version {
            Some(version) => format!(
                "{}/openai/deployments/{}/{}?api-version={}",
                self.base_url,
                encode_component(model),
                endpoint.path(),
                encode_component(version)
            ),
            None => self.url(endpoint.path()),
        };
        let mut headers = self.headers(false);
        headers.push(("content-type", content_type.to_owned()));
        UpstreamRequest {
            method: Method::Post,
            url,
            headers,
            body,
        }
    }

    /// Events of one SSE event of a chat stream; `[DONE]` gives none, an in-stream
    /// `{"error":…}` is an upstream error.
    pub fn parse_stream_event(&self, ev: &SseEvent) -> Result<Vec<StreamEvent>, Error> {
        if ev.is_done() || ev.data.trim().is_empty() {
            return Ok(Vec::new());
        }
        if ev.event.as_deref() == Some("error")
            && let Some(err) = self.embedded_error(ev.data.as_bytes())
        {
            return Err(err);
        }
        match serde_json::from_str::<ChatCompletionChunk>(&ev.data) {
            Ok(chunk) => Ok(chunk_to_events(&chunk)),
            Err(e) => {
                if let Some(err) = self.embedded_error(ev.data.as_bytes()) {
                    return Err(err);
                }
                Err(self.bad_body(format!("a stream chunk could not be read ({e})")))
            }
        }
    }

    /// Some hosts answer 200 with an error object, or send one inside a stream.
    fn embedded_error(&self, body: &[u8]) -> Option<Error> {
        let value: Value = serde_json::from_slice(body).ok()?;
        let err = value.get("error")?;
        if err.is_null() {
            return None;
        }
        let status = err
            .get("code")
            .or_else(|| err.get("status"))
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok())
            .filter(|s| (400..=599).contains(s))
            .unwrap_or(502);
        Some(self.parse_error(status, None, body))
    }

    /// `what` may quote the body (serde's messages cite the offending string), so it is
    /// scrubbed like any upstream text.
    fn bad_body(&self, what: String) -> Error {
        Error::Upstream {
            provider: self.provider.clone(),
            status: 502,
            message: upstream_text(&format!("unexpected response: {what}"), &self.api_key),
            retry_after: None,
            error_type: None,
            code: None,
        }
    }
}

impl ProviderAdapter for OpenAiAdapter {
    fn dialect(&self) -> &'static str {
        "openai"
    }

    fn stream_decoder(&self, _: &str, _: &str, _: u64) -> Box<dyn StreamDecoder> {
        Box::new(ChatStream::new(self.clone()))
    }

    /// Renders a canonical request as an OpenAI chat request.
    fn chat_request(&self, req: &ChatRequest) -> Result<UpstreamRequest, Error> {
        let mut wire = chat_request_from_canonical(req);
        // OpenAI's reasoning models reject `max_tokens`; other hosts may not know the new name.
        if self.provider == "openai"
            && wire.max_completion_tokens.is_none()
            && let Some(max) = wire.max_tokens.take()
        {
            wire.max_completion_tokens = Some(max);
        }
        let body = serde_json::to_vec(&wire)
            .map_err(|e| Error::Internal(format!("could not serialise a chat request: {e}")))?;
        Ok(self.passthrough(Endpoint::ChatCompletions, Bytes::from(body)))
    }

    fn list_models(&self) -> UpstreamRequest {
        let url = match &self.azure_api_version {
            Some(version) => format!(
                "{}/openai/models?api-version={}",
                self.base_url,
                encode_component(version)
            ),
            None => self.url("models"),
        };
        UpstreamRequest {
            method: Method::Get,
            url,
            headers: self.headers(false),
            body: Bytes::new(),
        }
    }

    /// The ids of a `{"data":[{"id":…}]}` model list, or of a bare `[{"id":…}]` array as
    /// Together answers.
    fn parse_models(&self, body: &[u8]) -> Result<Vec<String>, Error> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| self.bad_body(format!("its model list is not JSON ({e})")))?;
        let data = match &value {
            Value::Array(items) => items,
            other => match other.get("data").and_then(Value::as_array) {
                Some(items) => items,
                None => {
                    return Err(self.bad_body("its model list has no `data` array".to_owned()));
                }
            },
        };
        Ok(data
            .iter()
            .filter_map(|m| m.get("id").and_then(Value::as_str))
            .map(str::to_owned)
            .collect())
    }

    /// The caller's path under the base URL (Azure's `api-version` is the caller's to send).
    fn forward(&self, path: &str) -> forge_core::upstream::Forward {
        let mut credentials = self.headers(false);
        credentials.retain(|(name, _)| *name != "accept");
        forge_core::upstream::Forward {
            url: forge_core::upstream::join_path(&self.base_url, path),
            credentials,
            defaults: Vec::new(),
        }
    }

    fn parse_response(&self, body: &[u8]) -> Result<ChatResponse, Error> {
        match serde_json::from_slice::<ChatCompletionResponse>(body) {
            Ok(resp) => Ok(chat_response_to_canonical(&resp)),
            Err(e) => {
                if let Some(err) = self.embedded_error(body) {
                    return Err(err);
                }
                Err(self.bad_body(format!("its chat response could not be read ({e})")))
            }
        }
    }

    /// An upstream error from a non-2xx answer, with the upstream's own message, type and
    /// code when it sent OpenAI-style JSON.
    fn parse_error(&self, status: u16, retry_after: Option<&str>, body: &[u8]) -> Error {
        let retry_after = retry_after.and_then(|v| v.trim().parse::<u64>().ok());
        let (message, error_type, code) = match serde_json::from_slice::<Value>(body) {
            Ok(value) => describe_json_error(&value),
            Err(_) => (None, None, None),
        };
        let message = message.unwrap_or_else(|| body_text(body));
        Error::Upstream {
            provider: self.provider.clone(),
            status,
            message: upstream_text(&message, &self.api_key),
            retry_after,
            error_type: error_type.map(|t| scrub(&t, &self.api_key)),
            code: code.map(|c| scrub(&c, &self.api_key)),
        }
    }
}

/// (message, type, code) of `{"error":{…}}`, `{"error":"…"}`, `{"message":…}`, `{"detail":…}`
/// or a one-element array of those (Gemini).
fn describe_json_error(value: &Value) -> (Option<String>, Option<String>, Option<String>) {
    let value = match value {
        Value::Array(items) if !items.is_empty() => &items[0],
        other => other,
    };
    let as_text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    };
    match value.get("error") {
        Some(Value::String(message)) => (Some(message.clone()), None, None),
        Some(err @ Value::Object(_)) => (
            err.get("message").and_then(as_text),
            err.get("type")
                .or_else(|| err.get("status"))
                .and_then(as_text),
            err.get("code").and_then(as_text),
        ),
        _ => (
            value
                .get("message")
                .or_else(|| value.get("detail"))
                .and_then(as_text),
            value.get("type").and_then(as_text),
            value.get("code").and_then(as_text),
        ),
    }
}

#[cfg(test)]
#[path = "adapter_tests.rs"]
mod tests;
