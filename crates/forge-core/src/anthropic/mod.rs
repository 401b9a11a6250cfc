//! Serde types for Anthropic's Messages API (`POST /v1/messages`) and the converters
//! between it and the canonical form.
//!
//! Every struct keeps unknown fields in `extra`, and block types this crate does not model
//! (server tool calls and results, future types) are kept raw, so a request parsed here and
//! rendered again says what the client said.

pub mod convert;
pub mod error;
pub mod request;
pub mod response;
pub mod stream;
pub mod stream_decode;
pub mod stream_encode;

pub use error::*;
pub use request::*;
pub use response::*;
pub use stream::*;
pub use stream_decode::StreamDecoder;
pub use stream_encode::StreamEncoder;

/// Unknown fields, kept verbatim.
pub type Extra = serde_json::Map<String, serde_json::Value>;

/// The API version this crate's types follow, sent as `anthropic-version`.
pub const API_VERSION: &str = "2023-06-01";
