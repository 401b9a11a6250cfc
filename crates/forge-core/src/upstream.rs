//! What an adapter asks the server to send upstream.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

#[derive(Clone)]
pub struct UpstreamRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: bytes::Bytes,
}

/// Where a pass-through request goes: a path Forge does not model, under a provider key's
/// base URL, with that provider's own credentials. The server sends the caller's method,
/// query, headers (minus its own credential) and body unchanged.
#[derive(Clone)]
pub struct Forward {
    pub url: String,
    /// The provider's credential headers; they replace any the caller sent.
    pub credentials: Vec<(&'static str, String)>,
    /// Headers the provider requires, sent when the caller did not (Anthropic's version).
    pub defaults: Vec<(&'static str, String)>,
}

impl fmt::Debug for Forward {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Forward")
            .field("url", &self.url)
            .field("credentials", &"<redacted>")
            .field("defaults", &self.defaults)
            .finish()
    }
}

/// `path` (with any query) under `base`, one slash between them.
pub fn join_path(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// Headers that carry credentials; their values never reach logs.
const SECRET_HEADERS: [&str; 4] = ["authorization", "x-api-key", "api-key", "x-goog-api-key"];

pub fn is_secret_header(name: &str) -> bool {
    SECRET_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name))
}

impl fmt::Debug for UpstreamRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(name, value)| {
                let shown = if is_secret_header(name) {
                    "<redacted>"
                } else {
                    value.as_str()
                };
                (*name, shown)
            })
            .collect();
        f.debug_struct("UpstreamRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_credentials() {
        let req = UpstreamRequest {
            method: Method::Post,
            url: "https://api.example.com/v1/chat/completions".into(),
            headers: vec![
                ("authorization", "Bearer sk-secret-1".into()),
                ("x-api-key", "sk-secret-2".into()),
                ("api-key", "sk-secret-3".into()),
                ("X-Goog-Api-Key", "sk-secret-4".into()),
                ("content-type", "application/json".into()),
            ],
            body: bytes::Bytes::from_static(b"{}"),
        };
        let shown = format!("{req:?}");
        assert!(!shown.contains("sk-secret"), "{shown}");
        assert_eq!(shown.matches("<redacted>").count(), 4);
        assert!(shown.contains("application/json"));
        assert_eq!(req.method.as_str(), "POST");
    }
}
