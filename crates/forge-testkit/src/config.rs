//! What a fake upstream accepts and answers.

/// Reply template used when [`FakeOpenAiConfig::reply`] is `None`; `{model}` is replaced by the
/// model named in the request.
pub const DEFAULT_REPLY: &str = "Hello from fake upstream (model {model})";

/// Configuration of a [`crate::FakeOpenAi`].
#[derive(Clone)]
pub struct FakeOpenAiConfig {
    /// The only key accepted in `Authorization: Bearer <key>`.
    pub api_key: String,
    /// Models that exist; any other model gets a 404 `model_not_found`.
    pub models: Vec<String>,
    /// Reply template (`{model}` is replaced by the requested model); `None` means [`DEFAULT_REPLY`].
    pub reply: Option<String>,
    /// How many content chunks a streamed reply is split into (0 is treated as 1).
    pub stream_chunks: usize,
}

impl Default for FakeOpenAiConfig {
    fn default() -> Self {
        FakeOpenAiConfig {
            api_key: "sk-fake-upstream-key-0001".to_owned(),
            models: vec![
                "gpt-4o-mini".to_owned(),
                "gpt-4o".to_owned(),
                "text-embedding-3-small".to_owned(),
            ],
            reply: None,
            stream_chunks: 4,
        }
    }
}

/// The key is a secret even in tests: Debug never shows it.
impl std::fmt::Debug for FakeOpenAiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeOpenAiConfig")
            .field("api_key", &"<redacted>")
            .field("models", &self.models)
            .field("reply", &self.reply)
            .field("stream_chunks", &self.stream_chunks)
            .finish()
    }
}

/// Renders the reply template for one model.
pub(crate) fn render_reply(template: Option<&str>, model: &str) -> String {
    template.unwrap_or(DEFAULT_REPLY).replace("{model}", model)
}
