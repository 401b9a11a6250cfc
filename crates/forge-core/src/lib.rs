//! Wire types, the canonical form and errors of the Forge gateway.
//!
//! This crate does no I/O: adapters and the server build on these pure types so every
//! translation can be unit-tested without sockets.

pub mod adapter;
pub mod anthropic;
pub mod canonical;
pub mod embeddings;
pub mod error;
pub mod gemini;
pub mod json;
pub mod mask;
pub mod multipart;
pub mod openai;
pub mod responses;
pub mod sse;
pub mod stream_end;
pub mod upstream;
pub mod usage_record;
pub mod usage_sniff;

pub use error::{Error, Fault, TimeoutPhase};
