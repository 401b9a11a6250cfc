//! Fake upstream providers for Forge's tests.
//!
//! [`FakeOpenAi`] is a real HTTP server on 127.0.0.1 that speaks the OpenAI wire format
//! (`/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`, `/v1/models`), validates what
//! it receives the way OpenAI does, records every request, and fails on demand ([`Fault`]).
//! The answers are deterministic so tests can assert them exactly:
//!
//! * reply text: [`FakeOpenAiConfig::reply`] (a template where `{model}` is replaced by the
//!   requested model), default [`DEFAULT_REPLY`];
//! * streams split the reply with [`split_reply`] into `stream_chunks` content chunks;
//! * token counts come from [`chat_prompt_tokens`] and [`text_tokens`].

mod auth;
mod config;
mod embedding_vec;
mod fault;
mod openai_error;
mod pipeline;
mod record;
mod routes;
mod server;
mod sse;
mod state;
mod tokens;
mod validate;

pub use config::{DEFAULT_REPLY, FakeOpenAiConfig};
pub use embedding_vec::fake_embedding;
pub use fault::{FAULT_HEADER, Fault, FaultMode};
pub use record::RecordedRequest;
pub use server::FakeOpenAi;
pub use tokens::{chat_prompt_tokens, split_reply, text_tokens};
