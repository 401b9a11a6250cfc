//! One server and the four fake upstreams a matrix cell talks to, wired by provider-key name:
//! `openai` (OpenAI-compatible), `anthropic` (native Messages), `gemini` (native
//! generateContent), `cohere` (native v2 chat). SQLite only: storage is not what the matrix
//! tests.

use crate::harness::{
    Backend, TestServer, add_provider, client, create_forge_key, register_and_login,
};
use awc::Client;
use forge_testkit::{
    FakeAnthropic, FakeAnthropicConfig, FakeCohere, FakeCohereConfig, FakeGemini, FakeGeminiConfig,
    FakeOpenAi, FakeOpenAiConfig, Fault, FaultMode, RecordedRequest,
};

/// The upstream kinds a provider key can select.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Up {
    OpenAi,
    Anthropic,
    Gemini,
    Cohere,
}

impl Up {
    /// The model a client names (provider prefix included).
    pub fn client_model(self) -> &'static str {
        match self {
            Up::OpenAi => "openai/gpt-4o-mini",
            Up::Anthropic => "anthropic/claude-sonnet-4-5",
            Up::Gemini => "gemini/gemini-2.5-flash",
            Up::Cohere => "cohere/command-a-03-2025",
        }
    }

    /// The model the upstream must receive.
    pub fn upstream_model(self) -> &'static str {
        match self {
            Up::OpenAi => "gpt-4o-mini",
            Up::Anthropic => "claude-sonnet-4-5",
            Up::Gemini => "gemini-2.5-flash",
            Up::Cohere => "command-a-03-2025",
        }
    }
}

pub struct Fixture {
    pub server: TestServer,
    pub openai: FakeOpenAi,
    pub anthropic: FakeAnthropic,
    pub gemini: FakeGemini,
    pub cohere: FakeCohere,
    pub client: Client,
    pub key: String,
}

impl Fixture {
    pub async fn start() -> Fixture {
        let openai = FakeOpenAi::start(FakeOpenAiConfig::default());
        let anthropic = FakeAnthropic::start(FakeAnthropicConfig::default());
        let gemini = FakeGemini::start(FakeGeminiConfig::default());
        let cohere = FakeCohere::start(FakeCohereConfig::default());
        let server = TestServer::start(Backend::Sqlite).await;
        let client = client();
        let jwt = register_and_login(&client, &server, "matrix").await;
        for (name, key, base) in [
            ("openai", openai.api_key().to_owned(), openai.base_url()),
            (
                "anthropic",
                anthropic.api_key().to_owned(),
                anthropic.base_url(),
            ),
            ("gemini", gemini.api_key().to_owned(), gemini.base_url()),
            ("cohere", cohere.api_key().to_owned(), cohere.base_url()),
        ] {
            add_provider(&client, &server, &jwt, name, &key, &base).await;
        }
        let (_, key) = create_forge_key(&client, &server, &jwt, None).await;
        Fixture {
            server,
            openai,
            anthropic,
            gemini,
            cohere,
            client,
            key,
        }
    }

    pub fn upstream_key(&self, up: Up) -> &str {
        match up {
            Up::OpenAi => self.openai.api_key(),
            Up::Anthropic => self.anthropic.api_key(),
            Up::Gemini => self.gemini.api_key(),
            Up::Cohere => self.cohere.api_key(),
        }
    }

    pub fn arm(&self, up: Up, fault: Fault) {
        match up {
            Up::OpenAi => self.openai.set_fault(fault, FaultMode::Once),
            Up::Anthropic => self.anthropic.set_fault(fault, FaultMode::Once),
            Up::Gemini => self.gemini.set_fault(fault, FaultMode::Once),
            Up::Cohere => self.cohere.set_fault(fault, FaultMode::Once),
        }
    }

    /// Every request the upstream received so far, oldest first.
    pub fn received(&self, up: Up) -> Vec<RecordedRequest> {
        match up {
            Up::OpenAi => self.openai.requests(),
            Up::Anthropic => self.anthropic.requests(),
            Up::Gemini => self.gemini.requests(),
            Up::Cohere => self.cohere.requests(),
        }
    }

    pub fn last_received(&self, up: Up) -> RecordedRequest {
        self.received(up)
            .pop()
            .unwrap_or_else(|| panic!("{up:?} received nothing"))
    }

    pub fn clear(&self) {
        self.openai.clear_requests();
        self.anthropic.clear_requests();
        self.gemini.clear_requests();
        self.cohere.clear_requests();
    }
}
