//! Sans-I/O adapter for Anthropic's Messages API.
//!
//! It builds `UpstreamRequest`s and parses what comes back; the server owns the sockets.
//! Stream events are decoded with `forge_core::anthropic::StreamDecoder`.

pub mod adapter;
pub mod max_tokens;
pub mod stream;

pub use adapter::{AnthropicAdapter, DEFAULT_BASE_URL};
pub use max_tokens::default_max_tokens;
