//! Where a Gemini request carried its API key: Google accepts `x-goog-api-key` and `?key=`,
//! but a key in a URL ends up in access logs, so tests assert which one the gateway used.

use crate::record::RecordedRequest;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// Only in the `x-goog-api-key` header.
    Header,
    /// Only in the `key` query parameter.
    Query,
    /// In both (the header wins).
    Both,
    /// Nowhere.
    Missing,
}

/// The `key` query parameter (not percent-decoded: keys are URL-safe).
pub(crate) fn query_key(query: &str) -> Option<&str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "key")
        .map(|(_, v)| v)
}

impl KeySource {
    pub fn of(req: &RecordedRequest) -> KeySource {
        match (
            req.header("x-goog-api-key").is_some(),
            query_key(&req.query).is_some(),
        ) {
            (true, false) => KeySource::Header,
            (false, true) => KeySource::Query,
            (true, true) => KeySource::Both,
            (false, false) => KeySource::Missing,
        }
    }
}
