//! The accounting unit: one upstream attempt that reached a provider, settled exactly once.
//! The server fills it, storage persists it (idempotently, by `id`), statistics read it back.

use serde::{Deserialize, Serialize};

/// Cost is kept in billionths of the currency unit: integer sums do not drift, and the
/// cheapest token prices (a few cents per million tokens) stay exact.
pub const NANOS_PER_UNIT: i64 = 1_000_000_000;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRecord {
    /// Unique per attempt (32 lowercase hex); replaying a journal with the same ids is a no-op.
    pub id: String,
    /// The client request this attempt served (attempts of one request share it).
    pub request_id: String,
    /// When the attempt was sent, Unix milliseconds (UTC).
    pub started_at_ms: i64,
    /// The registered user and Forge key, when the caller is one (not a static key).
    pub user_id: Option<i64>,
    pub forge_key_id: Option<i64>,
    /// The name of a static forge.toml key, when the caller used one.
    pub gateway_key: Option<String>,
    /// The user's provider key (admin API) or the forge.toml deployment id that served it.
    pub provider_key_id: Option<i64>,
    pub deployment: Option<String>,
    pub provider: String,
    /// What the client asked for, and what the upstream was asked for.
    pub requested_model: String,
    pub upstream_model: String,
    /// `chat/completions`, `completions`, `embeddings`, `responses`, `messages`,
    /// `generateContent`.
    pub endpoint: String,
    /// The client's dialect: `openai`, `anthropic`, `gemini`.
    pub dialect: String,
    /// All input tokens, cached ones included.
    pub input_tokens: i64,
    pub cached_read_tokens: i64,
    pub cache_write_tokens: i64,
    pub output_tokens: i64,
    pub reasoning_tokens: i64,
    /// `None` when the model has no price: never a silent zero.
    pub cost_nanos: Option<i64>,
    pub currency: String,
    /// `table:<version>`, `config`, `deployment`, or `unknown`.
    pub price_source: String,
    /// The HTTP status of the attempt (the upstream's, or Forge's for transport failures).
    pub status: u16,
    /// `None` on success; else a short class: `upstream_4xx`, `upstream_5xx`, `rate_limited`,
    /// `timeout`, `unreachable`, `stream_broken`, `client_disconnected`.
    pub error_class: Option<String>,
    pub streamed: bool,
    /// Token counts were computed by Forge (the upstream reported none).
    pub estimated: bool,
    pub ttft_ms: Option<i64>,
    pub duration_ms: i64,
    pub client_disconnected: bool,
}

impl UsageRecord {
    pub fn total_tokens(&self) -> i64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }
}
