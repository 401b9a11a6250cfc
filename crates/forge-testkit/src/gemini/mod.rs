//! [`FakeGemini`]: a fake Gemini API (`/v1beta/models/{model}:generateContent`,
//! `:streamGenerateContent`, `:countTokens`, `GET /v1beta/models`; the same under `/v1`).

pub(crate) mod answer;
pub(crate) mod config;
pub(crate) mod error;
pub(crate) mod fields;
pub(crate) mod key;
pub(crate) mod routes;
pub(crate) mod validate;

use std::io;

use crate::server::{ServerCore, fake_handle_methods};
use crate::state::Shared;
use config::FakeGeminiConfig;
use key::KeySource;

/// A running fake Gemini upstream on 127.0.0.1. Dropping it stops the server.
pub struct FakeGemini {
    core: ServerCore,
}

impl FakeGemini {
    /// Starts on an ephemeral port and returns once the socket is listening; needs no runtime
    /// from the caller.
    ///
    /// # Panics
    /// When 127.0.0.1 cannot be bound or a thread cannot be spawned (a broken test machine).
    /// Use [`FakeGemini::try_start`] to handle it.
    #[allow(
        clippy::expect_used,
        reason = "test fixture; failure means a broken machine"
    )]
    pub fn start(cfg: FakeGeminiConfig) -> FakeGemini {
        FakeGemini::try_start(cfg, 0).expect("fake Gemini upstream could not start on 127.0.0.1")
    }

    /// Like [`FakeGemini::start`] on a chosen port (0 for an ephemeral one).
    pub fn try_start(cfg: FakeGeminiConfig, port: u16) -> io::Result<FakeGemini> {
        let shared = Shared::new(cfg.api_key, cfg.models, cfg.reply, cfg.stream_chunks);
        let core = ServerCore::try_start(shared, port, "fake-gemini-upstream", routes::configure)?;
        Ok(FakeGemini { core })
    }

    /// `http://127.0.0.1:PORT/v1beta`; requests go to `{base_url}/models/{model}:generateContent`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1beta", self.core.addr)
    }

    /// Where each recorded request carried its key, oldest first, so a test can assert that
    /// the gateway never put a key in a URL ([`KeySource::Query`] or [`KeySource::Both`]).
    pub fn key_sources(&self) -> Vec<KeySource> {
        self.requests().iter().map(KeySource::of).collect()
    }

    fake_handle_methods!();
}
