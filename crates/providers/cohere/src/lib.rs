//! Cohere's v2 Chat API (`POST /v2/chat`) behind Forge's one provider trait: canonical
//! requests rendered in Cohere's shape, its answers and stream events read back.

mod adapter;
mod convert;
mod stream;
mod wire;

pub use adapter::{CohereAdapter, DEFAULT_BASE_URL, PROVIDER};
