//! Google's Gemini `generateContent` dialect: wire types, converters through the canonical
//! form, and the stream state machines for `streamGenerateContent?alt=sse`.
//!
//! Every wire struct keeps fields it does not know in `extra` and skips absent optionals when
//! serialising, so a parse/serialise round trip re-emits what the client sent.

pub mod convert;
pub mod error;
pub mod request;
pub mod response;
pub mod schema;
pub mod stream_decode;
pub mod stream_encode;

pub use error::*;
pub use request::*;
pub use response::*;

/// Unknown fields, kept verbatim.
pub type Extra = serde_json::Map<String, serde_json::Value>;

/// The key of Gemini's entry in `ChatRequest::dialect_extra`.
pub const DIALECT: &str = "gemini";
