//! [`FakeAnthropic`]: a fake Anthropic Messages API (`/v1/messages`,
//! `/v1/messages/count_tokens`, `/v1/models`).

pub(crate) mod answer;
pub(crate) mod config;
pub(crate) mod error;
pub(crate) mod render;
pub(crate) mod request;
pub(crate) mod routes;
pub(crate) mod validate;

use std::io;

use crate::server::{ServerCore, fake_handle_methods};
use crate::state::Shared;
use config::FakeAnthropicConfig;

/// A running fake Anthropic upstream on 127.0.0.1. Dropping it stops the server.
pub struct FakeAnthropic {
    core: ServerCore,
}

impl FakeAnthropic {
    /// Starts on an ephemeral port and returns once the socket is listening; needs no runtime
    /// from the caller.
    ///
    /// # Panics
    /// When 127.0.0.1 cannot be bound or a thread cannot be spawned (a broken test machine).
    /// Use [`FakeAnthropic::try_start`] to handle it.
    #[allow(
        clippy::expect_used,
        reason = "test fixture; failure means a broken machine"
    )]
    pub fn start(cfg: FakeAnthropicConfig) -> FakeAnthropic {
        FakeAnthropic::try_start(cfg, 0)
            .expect("fake Anthropic upstream could not start on 127.0.0.1")
    }

    /// Like [`FakeAnthropic::start`] on a chosen port (0 for an ephemeral one).
    pub fn try_start(cfg: FakeAnthropicConfig, port: u16) -> io::Result<FakeAnthropic> {
        let shared = Shared::new(cfg.api_key, cfg.models, cfg.reply, cfg.stream_chunks);
        let core =
            ServerCore::try_start(shared, port, "fake-anthropic-upstream", routes::configure)?;
        Ok(FakeAnthropic { core })
    }

    /// `http://127.0.0.1:PORT/v1`; requests go to `{base_url}/messages`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.core.addr)
    }

    fake_handle_methods!();
}
