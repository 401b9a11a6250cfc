//! The proxy routes. Every inbound dialect is one implementation of [`client::ClientDialect`]
//! (`openai.rs`, `responses.rs`, `messages.rs`, `gemini.rs`) served by the one generic handler
//! in `client.rs`; `dispatch/` chooses upstreams and runs the attempts; `pipeline.rs` sends
//! one attempt, passed through or translated; `relay.rs` streams its answer, shaped by
//! `framer.rs` (bytes untouched) or `translate.rs` (decoded and re-encoded).

pub mod as_sent;
pub mod client;
pub mod dialect;
pub mod dispatch;
pub mod family;
pub mod forward;
pub mod framer;
pub mod gemini;
pub mod handle;
pub mod local;
pub mod messages;
pub mod model_lists;
pub mod models;
pub mod models_cache;
pub mod objects;
pub mod openai;
pub mod own_apis;
pub mod pipeline;
pub mod relay;
pub mod resolve;
pub mod resolve_dns;
pub mod responses;
pub mod translate;
pub mod transport;
pub mod units;
pub mod upload;
pub mod upstream;

use bytes::Bytes;
use forge_core::json::RawObject;

/// The body with `model` set to what the upstream expects; nothing else is re-serialised.
pub fn with_model(object: &RawObject<'_>, model: &str) -> Bytes {
    let mut object = object.clone();
    object.set_str("model", model);
    Bytes::from(object.to_vec())
}

/// The first of `fields` holding a non-negative integer: the request's output cap.
pub fn max_tokens_of(object: &RawObject<'_>, fields: &[&str]) -> Option<u64> {
    fields.iter().find_map(|f| {
        object
            .get(f)
            .and_then(|raw| raw.get().trim().parse::<u64>().ok())
    })
}
