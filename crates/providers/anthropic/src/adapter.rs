//! Builds upstream requests for Anthropic's Messages API and parses its answers.

use std::fmt;

use bytes::Bytes;
use forge_core::Error;
use forge_core::adapter::{ProviderAdapter, StreamDecoder, body_text, scrub, upstream_text};
use forge_core::anthropic::convert::{request_from_canonical, response_to_canonical};
use forge_core::anthropic::{
    API_VERSION, CountTokensRequest, MessagesRequest, MessagesResponse, status_for_error_type,
};
use forge_core::canonical::{ChatRequest, ChatResponse};
use forge_core::upstream::{Method, UpstreamRequest};
use serde_json::Value;

use crate::max_tokens::default_max_tokens;
use crate::stream::MessagesStream;

pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com/v1";

const PROVIDER: &str = "anthropic";

#[derive(Clone)]
pub struct AnthropicAdapter {
    base_url: String,
    api_key: String,
    version: String,
}

impl fmt::Debug for AnthropicAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnthropicAdapter")
            .field("base_url", &self.base_url)
            .field("api_key", &"<redacted>")
            .field("version", &self.version)
            .finish()
    }
}

impl AnthropicAdapter {
    /// `base_url` `None` or blank means `https://api.anthropic.com/v1`; a base without the
    /// `/v1` suffix gets it. `anthropic_version` defaults to `2023-06-01`.
    pub fn new(base_url: Option<&str>, api_key: &str, anthropic_version: Option<&str>) -> Self {
        let chosen = base_url
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .unwrap_or(DEFAULT_BASE_URL);
        let mut base = chosen.trim_end_matches('/').to_owned();
        if !base.ends_with("/v1") {
            base.push_str("/v1");
        }
        AnthropicAdapter {
            base_url: base,
            api_key: api_key.to_owned(),
            version: anthropic_version
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .unwrap_or(API_VERSION)
                .to_owned(),
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base_url)
    }

    fn headers(&self, with_body: bool, beta: Option<&str>) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            ("x-api-key", self.api_key.clone()),
            ("anthropic-version", self.version.clone()),
        ];
        if let Some(beta) = beta.map(str::trim).filter(|b| !b.is_empty()) {
            headers.push(("anthropic-beta", beta.to_owned()));
        }
        if with_body {
            headers.push(("content-type", "application/json".to_owned()));
        }
        headers.push(("accept", "application/json".to_owned()));
        headers
    }

    fn post(&self, path: &str, body: Bytes, beta: Option<&str>) -> UpstreamRequest {
        UpstreamRequest {
            method: Method::Post,
            url: self.url(path),
            headers: self.headers(true, beta),
            body,
        }
    }

    /// `POST {base}/messages` with a typed body; `beta` is the client's `anthropic-beta`.
    pub fn messages_request(
        &self,
        req: &MessagesRequest,
        beta: Option<&str>,
    ) -> Result<UpstreamRequest, Error> {
        Ok(self.post("messages", to_body(req)?, beta))
    }

    /// `POST {base}/messages` with an Anthropic client's body as it is (model rewritten by
    /// the caller).
    pub fn passthrough(&self, body: Bytes, beta: Option<&str>) -> UpstreamRequest {
        self.post("messages", body, beta)
    }

    /// `POST {base}/messages/count_tokens`.
    pub fn count_tokens_request(
        &self,
        req: &CountTokensRequest,
        beta: Option<&str>,
    ) -> Result<UpstreamRequest, Error> {
        Ok(self.post("messages/count_tokens", to_body(req)?, beta))
    }

    /// The typed response, for callers answering an Anthropic client.
    pub fn parse_messages_response(&self, body: &[u8]) -> Result<MessagesResponse, Error> {
        match serde_json::from_slice::<MessagesResponse>(body) {
            Ok(resp) => Ok(resp),
            Err(e) => {
                if let Ok(value) = serde_json::from_slice::<Value>(body)
                    && value.get("type").and_then(Value::as_str) == Some("error")
                {
                    let status = value
                        .pointer("/error/type")
                        .and_then(Value::as_str)
                        .map_or(502, status_for_error_type);
                    return Err(self.parse_error(status, None, body));
                }
                Err(self.upstream(
                    502,
                    format!("unexpected response: its message could not be read ({e})"),
                    None,
                    None,
                ))
            }
        }
    }

    fn upstream(
        &self,
        status: u16,
        message: String,
        retry_after: Option<u64>,
        error_type: Option<String>,
    ) -> Error {
        Error::Upstream {
            provider: PROVIDER.to_owned(),
            status,
            message: upstream_text(&message, &self.api_key),
            retry_after,
            error_type: error_type.map(|t| scrub(&t, &self.api_key)),
            code: None,
        }
    }
}

impl ProviderAdapter for AnthropicAdapter {
    fn dialect(&self) -> &'static str {
        "anthropic"
    }

    fn stream_decoder(&self, provider: &str, _: &str, created: u64) -> Box<dyn StreamDecoder> {
        Box::new(MessagesStream::new(provider, created))
    }

    /// Renders a canonical request (from any dialect) as a Messages request.
    fn chat_request(&self, req: &ChatRequest) -> Result<UpstreamRequest, Error> {
        let wire = request_from_canonical(req, default_max_tokens(&req.model));
        self.messages_request(&wire, None)
    }

    /// `GET {base}/models?limit=1000`.
    fn list_models(&self) -> UpstreamRequest {
        UpstreamRequest {
            method: Method::Get,
            url: self.url("models?limit=1000"),
            headers: self.headers(false, None),
            body: Bytes::new(),
        }
    }

    /// The ids of `{"data":[{"id":…}]}`; an unreadable body gives none.
    fn parse_models(&self, body: &[u8]) -> Result<Vec<String>, Error> {
        let Ok(value) = serde_json::from_slice::<Value>(body) else {
            return Ok(Vec::new());
        };
        Ok(value
            .get("data")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|m| m.get("id").and_then(Value::as_str))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The caller's path under the base URL; `anthropic-version` unless the caller sent one.
    fn forward(&self, path: &str) -> forge_core::upstream::Forward {
        forge_core::upstream::Forward {
            url: forge_core::upstream::join_path(&self.base_url, path),
            credentials: vec![("x-api-key", self.api_key.clone())],
            defaults: vec![("anthropic-version", self.version.clone())],
        }
    }

    fn parse_response(&self, body: &[u8]) -> Result<ChatResponse, Error> {
        self.parse_messages_response(body)
            .map(|r| response_to_canonical(&r))
    }

    /// An upstream error from a non-2xx answer, with Anthropic's own message and type.
    fn parse_error(&self, status: u16, retry_after: Option<&str>, body: &[u8]) -> Error {
        let retry_after = retry_after.and_then(|v| v.trim().parse::<u64>().ok());
        let value = serde_json::from_slice::<Value>(body).ok();
        let field = |pointer: &str| {
            value
                .as_ref()
                .and_then(|v| v.pointer(pointer))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let error_type = field("/error/type");
        let message = field("/error/message")
            .or_else(|| field("/message"))
            .unwrap_or_else(|| body_text(body));
        self.upstream(status, message, retry_after, error_type)
    }
}

fn to_body<T: serde::Serialize>(value: &T) -> Result<Bytes, Error> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|e| Error::Internal(format!("could not serialise an Anthropic request: {e}")))
}

#[cfg(test)]
#[path = "adapter_tests.rs"]
mod tests;
