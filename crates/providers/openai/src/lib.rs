//! Sans-I/O adapter for OpenAI and every OpenAI-compatible host.
//!
//! It builds `UpstreamRequest`s and parses what comes back; the server owns the sockets.

pub mod adapter;
pub mod providers;
pub mod stream;

pub use adapter::{Endpoint, OpenAiAdapter};
pub use providers::{ProviderInfo, ProviderKind, lookup};
