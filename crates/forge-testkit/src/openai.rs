//! [`FakeOpenAi`]: the OpenAI-compatible fake (`/v1/chat/completions` and friends, and Azure
//! OpenAI's `/openai/deployments/...` routes).

use std::io;

use crate::config::FakeOpenAiConfig;
use crate::routes;
use crate::server::{ServerCore, fake_handle_methods};
use crate::state::Shared;

/// A running fake OpenAI upstream on 127.0.0.1. Dropping it stops the server: hung requests
/// are cut and its thread exits.
pub struct FakeOpenAi {
    core: ServerCore,
}

impl FakeOpenAi {
    /// Starts on an ephemeral port and returns once the socket is listening. Needs no runtime
    /// from the caller (it runs its own actix `System` on its own thread, one worker).
    ///
    /// # Panics
    /// When 127.0.0.1 cannot be bound or a thread cannot be spawned: a broken test machine,
    /// which a test should report loudly. Use [`FakeOpenAi::try_start`] to handle it.
    #[allow(
        clippy::expect_used,
        reason = "test fixture; failure means a broken machine"
    )]
    pub fn start(cfg: FakeOpenAiConfig) -> FakeOpenAi {
        FakeOpenAi::try_start(cfg, 0).expect("fake OpenAI upstream could not start on 127.0.0.1")
    }

    /// Like [`FakeOpenAi::start`] on a chosen port (0 for an ephemeral one).
    pub fn try_start(cfg: FakeOpenAiConfig, port: u16) -> io::Result<FakeOpenAi> {
        let shared = Shared::new(cfg.api_key, cfg.models, cfg.reply, cfg.stream_chunks);
        let core = ServerCore::try_start(shared, port, "fake-openai-upstream", routes::configure)?;
        Ok(FakeOpenAi { core })
    }

    /// `http://127.0.0.1:PORT/v1`, what an OpenAI client takes as its base URL. An Azure
    /// OpenAI client takes the root, `http://{addr}` (see [`FakeOpenAi::addr`]).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.core.addr)
    }

    fake_handle_methods!();
}
