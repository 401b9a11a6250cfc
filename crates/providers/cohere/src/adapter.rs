//! Builds requests for Cohere's v2 Chat API and reads its answers.

use std::fmt;

use bytes::Bytes;
use forge_core::Error;
use forge_core::adapter::{ProviderAdapter, StreamDecoder, body_text, upstream_text};
use forge_core::canonical::{ChatRequest, ChatResponse};
use forge_core::embeddings::{Embeddings, EmbeddingsRequest};
use forge_core::upstream::{Forward, Method, UpstreamRequest, join_path};
use serde_json::{Value, json};

use crate::convert::{request_from_canonical, response_to_canonical};
use crate::stream::ChatStream;
use crate::wire;

/// Cohere's API host; paths carry their version (`/v2/chat`, `/v1/models`).
pub const DEFAULT_BASE_URL: &str = "https://api.cohere.com";

/// The provider name in errors and usage records.
pub const PROVIDER: &str = "cohere";

#[derive(Clone)]
pub struct CohereAdapter {
    base_url: String,
    api_key: String,
}

impl fmt::Debug for CohereAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CohereAdapter")
            .field("base_url", &self.base_url)
            .field("api_key", &"<redacted>")
            .finish()
    }
}

impl CohereAdapter {
    /// `base_url` `None` or blank means Cohere's own host; a base URL ending in `/v2` (as
    /// OpenAI-style configurations write it) is accepted too.
    pub fn new(base_url: Option<&str>, api_key: &str) -> Self {
        let base = base_url
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .unwrap_or(DEFAULT_BASE_URL)
            .trim_end_matches('/');
        let base = base
            .strip_suffix("/v2")
            .or_else(|| base.strip_suffix("/v1"))
            .unwrap_or(base);
        CohereAdapter {
            base_url: base.to_owned(),
            api_key: api_key.to_owned(),
        }
    }

    fn headers(&self, accept: &str) -> Vec<(&'static str, String)> {
        vec![
            ("authorization", format!("Bearer {}", self.api_key)),
            ("content-type", "application/json".to_owned()),
            ("accept", accept.to_owned()),
        ]
    }

    /// An error Cohere sent inside a stream.
    pub(crate) fn stream_error(&self, data: &[u8]) -> Error {
        let message = serde_json::from_slice::<Value>(data)
            .ok()
            .and_then(|v| {
                v.get("message")
                    .or_else(|| v.pointer("/delta/error"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| body_text(data));
        Error::Upstream {
            provider: PROVIDER.to_owned(),
            status: 502,
            message: upstream_text(&message, &self.api_key),
            retry_after: None,
            error_type: None,
            code: None,
        }
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

impl ProviderAdapter for CohereAdapter {
    fn dialect(&self) -> &'static str {
        crate::convert::DIALECT
    }

    fn chat_request(&self, req: &ChatRequest) -> Result<UpstreamRequest, Error> {
        let body = serde_json::to_vec(&request_from_canonical(req))
            .map_err(|e| Error::Internal(format!("could not serialise a Cohere request: {e}")))?;
        let accept = if req.stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        Ok(UpstreamRequest {
            method: Method::Post,
            url: format!("{}/v2/chat", self.base_url),
            headers: self.headers(accept),
            body: Bytes::from(body),
        })
    }

    fn parse_response(&self, body: &[u8]) -> Result<ChatResponse, Error> {
        let resp: wire::ChatResponse = serde_json::from_slice(body)
            .map_err(|e| self.bad_body(format!("its response could not be read ({e})")))?;
        if resp.message.is_none() && resp.finish_reason.is_none() {
            return Err(self.stream_error(body));
        }
        Ok(response_to_canonical(
            resp,
            forge_core::gemini::convert::now_unix(),
        ))
    }

    fn stream_decoder(&self, _: &str, model: &str, created: u64) -> Box<dyn StreamDecoder> {
        Box::new(ChatStream::new(self.clone(), model, created))
    }

    /// Cohere's errors are `{"id", "message"}`; 429 is its rate limit, 498/499 its invalid
    /// or cancelled token/request codes (kept as sent).
    fn parse_error(&self, status: u16, retry_after: Option<&str>, body: &[u8]) -> Error {
        let message = serde_json::from_slice::<wire::ErrorBody>(body)
            .ok()
            .and_then(|e| e.message)
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| body_text(body));
        Error::Upstream {
            provider: PROVIDER.to_owned(),
            status,
            message: upstream_text(&message, &self.api_key),
            retry_after: retry_after.and_then(|v| v.trim().parse::<u64>().ok()),
            error_type: None,
            code: None,
        }
    }

    fn list_models(&self) -> UpstreamRequest {
        let mut headers = self.headers("application/json");
        headers.retain(|(n, _)| *n != "content-type");
        UpstreamRequest {
            method: Method::Get,
            url: format!("{}/v1/models?endpoint=chat&page_size=1000", self.base_url),
            headers,
            body: Bytes::new(),
        }
    }

    /// `{"models": [{"name": ...}]}`.
    fn parse_models(&self, body: &[u8]) -> Result<Vec<String>, Error> {
        let list: Value = serde_json::from_slice(body)
            .map_err(|e| self.bad_body(format!("its model list could not be read ({e})")))?;
        let models = list
            .get("models")
            .and_then(Value::as_array)
            .ok_or_else(|| self.bad_body("its model list has no `models`".to_owned()))?;
        Ok(models
            .iter()
            .filter_map(|m| m.get("name").and_then(Value::as_str))
            .map(str::to_owned)
            .collect())
    }

    /// `/v2/embed` with float vectors; `input_type` (required by Cohere's v3+ models) is the
    /// client's when it sent one, else `search_document`.
    fn embeddings_request(
        &self,
        req: &EmbeddingsRequest,
    ) -> Option<Result<UpstreamRequest, Error>> {
        let mut body = serde_json::Map::new();
        body.insert("model".into(), json!(req.model));
        body.insert("texts".into(), json!(req.texts));
        body.insert("embedding_types".into(), json!(["float"]));
        body.insert(
            "input_type".into(),
            req.extra
                .get("input_type")
                .cloned()
                .unwrap_or_else(|| json!("search_document")),
        );
        if let Some(dimensions) = req.dimensions {
            body.insert("output_dimension".into(), json!(dimensions));
        }
        if let Some(truncate) = req.extra.get("truncate") {
            body.insert("truncate".into(), truncate.clone());
        }
        Some(
            serde_json::to_vec(&body)
                .map_err(|e| Error::Internal(format!("could not serialise a Cohere request: {e}")))
                .map(|body| UpstreamRequest {
                    method: Method::Post,
                    url: format!("{}/v2/embed", self.base_url),
                    headers: self.headers("application/json"),
                    body: Bytes::from(body),
                }),
        )
    }

    /// `{"embeddings": {"float": [[...]]}, "meta": {"billed_units": {"input_tokens"}}}`.
    fn parse_embeddings(&self, body: &[u8]) -> Result<Embeddings, Error> {
        let answer: wire::EmbedResponse = serde_json::from_slice(body)
            .map_err(|e| self.bad_body(format!("its embeddings could not be read ({e})")))?;
        Ok(Embeddings {
            vectors: answer.embeddings.float,
            input_tokens: answer
                .meta
                .and_then(|m| m.billed_units)
                .and_then(|b| b.input_tokens)
                .filter(|n| n.is_finite() && *n > 0.0)
                .map_or(0, |n| n as u64),
        })
    }

    /// `/v2/rerank` takes the Cohere shape Forge's `/v1/rerank` accepts.
    fn rerank_request(&self, body: Bytes) -> Option<UpstreamRequest> {
        Some(UpstreamRequest {
            method: Method::Post,
            url: format!("{}/v2/rerank", self.base_url),
            headers: self.headers("application/json"),
            body,
        })
    }

    /// The caller's path under the host (`v2/rerank`, `v1/datasets`, ...).
    fn forward(&self, path: &str) -> Forward {
        Forward {
            url: join_path(&self.base_url, path),
            credentials: vec![("authorization", format!("Bearer {}", self.api_key))],
            defaults: Vec::new(),
        }
    }
}

#[cfg(test)]
#[path = "adapter_tests.rs"]
mod tests;
