//! [`FakeCohere`]: a fake Cohere API (`POST /v2/chat`, `/v2/embed`, `/v2/rerank`,
//! `GET /v1/models`) that validates v2
//! chat bodies as Cohere does (known fields only, roles, tool call ids, `tool_choice`, `p`/`k`
//! ranges) and answers like the other fakes (deterministic reply, tool calls on trigger words,
//! streams as Cohere's typed events).

pub(crate) mod answer;
pub(crate) mod error;
pub(crate) mod retrieval;
pub(crate) mod routes;

use std::io;

use crate::server::{ServerCore, fake_handle_methods};
use crate::state::Shared;

/// What a [`FakeCohere`] accepts and answers (the same four settings as every fake).
#[derive(Clone)]
pub struct FakeCohereConfig {
    /// The only key accepted as `Authorization: Bearer`.
    pub api_key: String,
    /// Models that exist; any other is a 404.
    pub models: Vec<String>,
    /// Reply template (`{model}` replaced); `None` means [`crate::DEFAULT_REPLY`].
    pub reply: Option<String>,
    /// How many `content-delta` events a streamed text is split into.
    pub stream_chunks: usize,
}

impl Default for FakeCohereConfig {
    fn default() -> Self {
        FakeCohereConfig {
            api_key: "co-fake-upstream-key-0001".to_owned(),
            models: vec![
                "command-a-03-2025".to_owned(),
                "command-r-plus-08-2024".to_owned(),
                "embed-v4.0".to_owned(),
                "rerank-v3.5".to_owned(),
            ],
            reply: None,
            stream_chunks: 4,
        }
    }
}

impl std::fmt::Debug for FakeCohereConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeCohereConfig")
            .field("api_key", &"<redacted>")
            .field("models", &self.models)
            .finish_non_exhaustive()
    }
}

/// A running fake Cohere upstream on 127.0.0.1. Dropping it stops the server.
pub struct FakeCohere {
    core: ServerCore,
}

impl FakeCohere {
    /// # Panics
    /// When 127.0.0.1 cannot be bound (a broken test machine); see [`FakeCohere::try_start`].
    #[allow(
        clippy::expect_used,
        reason = "test fixture; failure means a broken machine"
    )]
    pub fn start(cfg: FakeCohereConfig) -> FakeCohere {
        FakeCohere::try_start(cfg, 0).expect("fake Cohere upstream could not start on 127.0.0.1")
    }

    pub fn try_start(cfg: FakeCohereConfig, port: u16) -> io::Result<FakeCohere> {
        let shared = Shared::new(cfg.api_key, cfg.models, cfg.reply, cfg.stream_chunks);
        let core = ServerCore::try_start(shared, port, "fake-cohere-upstream", routes::configure)?;
        Ok(FakeCohere { core })
    }

    /// `http://127.0.0.1:PORT`: chat is `{base_url}/v2/chat`, as on `api.cohere.com`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.core.addr)
    }

    fake_handle_methods!();
}
