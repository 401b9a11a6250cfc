//! Fake upstream providers for Forge's tests: real HTTP servers on 127.0.0.1 that speak a
//! provider's wire format, validate what they receive the way the provider does, record every
//! request, and fail on demand ([`Fault`]).
//!
//! * [`FakeOpenAi`]: `/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`, `/v1/models`,
//!   and the same as Azure OpenAI serves them:
//!   `/openai/deployments/{deployment}/chat/completions|completions|embeddings` and
//!   `/openai/models`, with `?api-version=` and an `api-key` header.
//! * [`FakeAnthropic`]: `/v1/messages`, `/v1/messages/count_tokens`, `/v1/models`.
//! * [`FakeGemini`]: `/v1beta/models/{model}:generateContent`, `:streamGenerateContent`,
//!   `:countTokens`, `/v1beta/models` (also under `/v1`).
//! * [`FakeCohere`]: `/v2/chat` (whole and streamed), `/v1/models`.
//!
//! They share one core (server thread, recording, faults, SSE writer), so a fault or an
//! assertion works the same on all three. The answers are deterministic so tests can assert
//! them exactly:
//!
//! * reply text: the config's `reply` (a template where `{model}` is replaced by the requested
//!   model), default [`DEFAULT_REPLY`];
//! * streams split the reply with [`split_reply`] into `stream_chunks` pieces;
//! * token counts come from [`chat_prompt_tokens`] and [`text_tokens`];
//! * tool calls and reasoning are triggered by words in the prompt and by request options, as
//!   [`triggers`] documents.

mod anthropic;
mod auth;
mod azure;
mod azure_error;
mod cohere;
mod config;
mod dialect;
mod embedding_vec;
mod fault;
mod gemini;
mod openai;
mod openai_error;
mod pipeline;
mod record;
mod routes;
mod server;
mod sse;
mod state;
mod text_answer;
mod tokens;
pub mod triggers;
mod validate;

pub use anthropic::FakeAnthropic;
pub use anthropic::config::FakeAnthropicConfig;
pub use cohere::{FakeCohere, FakeCohereConfig};
pub use config::{DEFAULT_REPLY, FakeOpenAiConfig};
pub use embedding_vec::fake_embedding;
pub use fault::{FAULT_HEADER, Fault, FaultMode};
pub use gemini::FakeGemini;
pub use gemini::answer::CACHED_TOKENS as GEMINI_CACHED_TOKENS;
pub use gemini::config::FakeGeminiConfig;
pub use gemini::key::KeySource;
pub use openai::FakeOpenAi;
pub use record::RecordedRequest;
pub use tokens::{chat_prompt_tokens, split_reply, text_tokens};
pub use triggers::{FAKE_SIGNATURE, FAKE_THINKING, PARALLEL_TRIGGER, TOOL_TRIGGER};
