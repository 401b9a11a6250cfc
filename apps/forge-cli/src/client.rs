//! HTTP to forge-server with awc. Every call has its own timeout (awc's 5 s default would cut a long
//! chat generation short), every non-2xx answer becomes `CliError::Server` with the server's own
//! message, and a server that cannot be reached is named with its URL.

use std::time::Duration;

use awc::error::{PayloadError, SendRequestError};
use awc::http::{Method, StatusCode, header};
use futures_util::StreamExt;
use serde_json::Value;

use crate::error::CliError;
use crate::sse::{SseEvent, SseParser};

/// Admin calls are quick database work on the server.
pub const ADMIN_TIMEOUT: Duration = Duration::from_secs(30);
/// `/v1/models` may ask every upstream for its live list.
pub const MODELS_TIMEOUT: Duration = Duration::from_secs(120);
/// A chat completion may generate for minutes.
pub const CHAT_TIMEOUT: Duration = Duration::from_secs(600);
/// Largest response body read whole (model lists can be long).
const BODY_LIMIT: usize = 32 * 1024 * 1024;

/// Which credential a request carries.
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    None,
    /// The login JWT, as `Authorization: Bearer`.
    Jwt(&'a str),
    /// A Forge API key, as `X-API-KEY` (what Forge's own CLI sends).
    ForgeKey(&'a str),
}

/// What the stream callback wants next.
pub enum Flow {
    Continue,
    Stop,
}

pub struct ForgeClient {
    /// `scheme://host[:port]`, no trailing slash and no `/v1`.
    base: String,
    http: awc::Client,
}

impl ForgeClient {
    pub fn new(base: String) -> Self {
        let http = awc::Client::builder()
            .timeout(ADMIN_TIMEOUT)
            .add_default_header((
                header::USER_AGENT,
                concat!("forge-cli/", env!("CARGO_PKG_VERSION")),
            ))
            .finish();
        Self { base, http }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn request(
        &self,
        method: Method,
        path: &str,
        auth: Auth<'_>,
        timeout: Duration,
    ) -> awc::ClientRequest {
        let req = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .timeout(timeout);
        match auth {
            Auth::None => req,
            Auth::Jwt(token) => {
                req.insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
            }
            Auth::ForgeKey(key) => req.insert_header(("X-API-KEY", key)),
        }
    }

    /// A request with an optional JSON body; returns the JSON answer of a 2xx (`null` for a 204).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        auth: Auth<'_>,
        body: Option<&Value>,
        timeout: Duration,
    ) -> Result<Value, CliError> {
        let req = self.request(method, path, auth, timeout);
        let sent = match body {
            Some(body) => req.send_json(body).await,
            None => req.send().await,
        };
        let res = sent.map_err(|err| self.send_error(err, timeout))?;
        self.read_json(res, timeout).await
    }

    /// A form-urlencoded POST (`/v1/auth/token` is an OAuth2 password form, not JSON).
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Result<Value, CliError> {
        let res = self
            .request(Method::POST, path, Auth::None, ADMIN_TIMEOUT)
            .send_form(&form)
            .await
            .map_err(|err| self.send_error(err, ADMIN_TIMEOUT))?;
        self.read_json(res, ADMIN_TIMEOUT).await
    }

    /// POSTs a JSON body and hands each server-sent event to `on_event` as it arrives.
    pub async fn post_sse(
        &self,
        path: &str,
        auth: Auth<'_>,
        body: &Value,
        mut on_event: impl FnMut(SseEvent) -> Result<Flow, CliError>,
    ) -> Result<(), CliError> {
        let res = self
            .request(Method::POST, path, auth, CHAT_TIMEOUT)
            .insert_header((header::ACCEPT, "text/event-stream"))
            .send_json(body)
            .await
            .map_err(|err| self.send_error(err, CHAT_TIMEOUT))?;
        let is_sse = res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if !res.status().is_success() || !is_sse {
            // An error answer, or a JSON body where a stream was asked for: both are read whole.
            let value = self.read_json(res, CHAT_TIMEOUT).await?;
            return Err(CliError::BadResponse(format!(
                "expected an event stream, got JSON: {}",
                preview(&value.to_string())
            )));
        }
        let mut res = res.timeout(CHAT_TIMEOUT);
        let mut parser = SseParser::new();
        while let Some(chunk) = res.next().await {
            let chunk = chunk.map_err(|err| self.payload_error(err))?;
            for event in parser.push(&chunk) {
                if let Flow::Stop = on_event(event)? {
                    return Ok(());
                }
            }
        }
        if let Some(event) = parser.finish() {
            on_event(event)?;
        }
        Ok(())
    }

    async fn read_json<S>(
        &self,
        res: awc::ClientResponse<S>,
        timeout: Duration,
    ) -> Result<Value, CliError>
    where
        S: futures_util::Stream<Item = Result<bytes::Bytes, PayloadError>> + Unpin,
    {
        let status = res.status();
        let mut res = res.timeout(timeout);
        let bytes = res
            .body()
            .limit(BODY_LIMIT)
            .await
            .map_err(|err| self.payload_error(err))?;
        // A 204 (e.g. dropping a session) has no body to parse.
        if status == StatusCode::NO_CONTENT {
            return Ok(Value::Null);
        }
        let parsed = serde_json::from_slice::<Value>(&bytes);
        if status.is_success() {
            return parsed.map_err(|_| {
                CliError::BadResponse(format!(
                    "{} is not JSON: {}",
                    describe(status),
                    preview(&String::from_utf8_lossy(&bytes))
                ))
            });
        }
        let message = match &parsed {
            Ok(value) => error_message(value),
            Err(_) => None,
        }
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(&bytes);
            if text.trim().is_empty() {
                "(no message)".to_string()
            } else {
                preview(text.trim())
            }
        });
        Err(CliError::Server {
            status: describe(status),
            message,
        })
    }

    fn send_error(&self, err: SendRequestError, timeout: Duration) -> CliError {
        let url = self.base.clone();
        match err {
            SendRequestError::Connect(err) => CliError::Unreachable {
                url,
                reason: err.to_string(),
            },
            SendRequestError::Timeout => CliError::TimedOut {
                url,
                secs: timeout.as_secs(),
            },
            other => CliError::Transport {
                url,
                reason: other.to_string(),
            },
        }
    }

    fn payload_error(&self, err: PayloadError) -> CliError {
        CliError::Transport {
            url: self.base.clone(),
            reason: format!("reading the answer: {err}"),
        }
    }
}

/// The server's message from an error body: `{"detail": "..."}`, a 422 `{"detail": [...]}` list,
/// or an OpenAI `{"error": {"message": ...}}`.
pub fn error_message(value: &Value) -> Option<String> {
    match value.get("detail") {
        Some(Value::String(text)) => return Some(text.clone()),
        Some(Value::Array(items)) => {
            let parts: Vec<String> = items.iter().map(validation_item).collect();
            return Some(parts.join("; "));
        }
        Some(other @ Value::Object(_)) => return Some(other.to_string()),
        _ => {}
    }
    match value.get("error") {
        Some(Value::Object(err)) => err
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| Some(Value::Object(err.clone()).to_string())),
        Some(Value::String(text)) => Some(text.clone()),
        _ => value
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string),
    }
}

/// One pydantic-style validation entry as `body.email: value is not a valid email address`. The
/// entry's `input` is left out: it echoes what was sent, which may be a password.
fn validation_item(item: &Value) -> String {
    let msg = item
        .get("msg")
        .and_then(Value::as_str)
        .unwrap_or("invalid value");
    let loc: Vec<String> = item
        .get("loc")
        .and_then(Value::as_array)
        .map(|parts| {
            parts
                .iter()
                .map(|p| match p {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    if loc.is_empty() {
        msg.to_string()
    } else {
        format!("{}: {msg}", loc.join("."))
    }
}

fn describe(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

fn preview(text: &str) -> String {
    const MAX: usize = 300;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}...")
    }
}

/// Percent-encodes one path segment (provider names are user text; deployment ids carry `/` and
/// `#`).
pub fn path_segment(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Accepts `http://host:8000`, `http://host:8000/` and `http://host:8000/v1` alike.
pub fn normalize_server(raw: &str) -> Result<String, CliError> {
    let trimmed = raw.trim().trim_end_matches('/');
    let trimmed = trimmed.strip_suffix("/v1").unwrap_or(trimmed);
    let valid = ["http://", "https://"].iter().any(|scheme| {
        trimmed
            .strip_prefix(scheme)
            .is_some_and(|rest| !rest.is_empty())
    });
    if !valid {
        return Err(CliError::Usage(format!(
            "server URL must look like http://host:port, got {raw:?}"
        )));
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_urls_are_normalized() {
        for raw in [
            "http://h:1",
            "http://h:1/",
            "http://h:1/v1",
            "http://h:1/v1/",
            " http://h:1 ",
        ] {
            assert_eq!(
                normalize_server(raw).ok().as_deref(),
                Some("http://h:1"),
                "{raw}"
            );
        }
        assert!(normalize_server("h:1").is_err());
        assert!(normalize_server("http://").is_err());
        assert!(normalize_server("ftp://h").is_err());
    }

    #[test]
    fn error_messages_from_every_error_shape() {
        assert_eq!(
            error_message(&json!({"detail": "API key not found"})).as_deref(),
            Some("API key not found")
        );
        let list = json!({"detail": [
            {"type": "value_error", "loc": ["body", "email"], "msg": "bad email", "input": "secret"},
            {"loc": ["body", 0], "msg": "x"}
        ]});
        let text = error_message(&list).unwrap_or_default();
        assert_eq!(text, "body.email: bad email; body.0: x");
        assert!(!text.contains("secret"));
        assert_eq!(
            error_message(&json!({"error": {"message": "no such model", "type": "x"}})).as_deref(),
            Some("no such model")
        );
        assert_eq!(error_message(&json!({"other": 1})), None);
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(path_segment("openai"), "openai");
        assert_eq!(path_segment("z.ai"), "z.ai");
        assert_eq!(path_segment("a b/c?"), "a%20b%2Fc%3F");
        assert_eq!(path_segment("openai/gpt-4o#0"), "openai%2Fgpt-4o%230");
        assert_eq!(path_segment("100%"), "100%25");
    }
}
