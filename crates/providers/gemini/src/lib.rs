//! Sans-I/O adapter for Google's Gemini `generateContent` API.
//!
//! It builds `UpstreamRequest`s and parses what comes back; the server owns the sockets.
//! The API key travels only in the `x-goog-api-key` header, never in a URL, so it cannot
//! leak through access logs or error messages that quote the URL.

pub mod adapter;
pub mod stream;

pub use adapter::{DEFAULT_BASE_URL, GeminiAdapter, PROVIDER};
