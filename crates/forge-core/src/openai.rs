//! Serde types for the OpenAI wire format.
//!
//! Every struct keeps fields it does not know in `extra` and skips absent optionals when
//! serialising, so a parse/serialise round trip re-emits what the client sent.

pub mod chat;
pub mod chunk;
pub mod completions;
pub mod convert;
pub mod embeddings;
pub mod error;
pub mod models;

pub use chat::*;
pub use chunk::*;
pub use completions::*;
pub use embeddings::*;
pub use error::*;
pub use models::*;

/// Unknown fields, kept verbatim.
pub type Extra = serde_json::Map<String, serde_json::Value>;
