//! What a [`crate::FakeAnthropic`] accepts and answers.

/// Configuration of a [`crate::FakeAnthropic`].
#[derive(Clone)]
pub struct FakeAnthropicConfig {
    /// The only key accepted in `x-api-key`.
    pub api_key: String,
    /// Models that exist; any other model gets a 404 `not_found_error`.
    pub models: Vec<String>,
    /// Reply template (`{model}` is replaced by the requested model); `None` means
    /// [`crate::DEFAULT_REPLY`].
    pub reply: Option<String>,
    /// How many `text_delta`s (and `input_json_delta`s per tool call) a streamed answer is
    /// split into (0 is treated as 1).
    pub stream_chunks: usize,
}

impl Default for FakeAnthropicConfig {
    fn default() -> Self {
        FakeAnthropicConfig {
            api_key: "sk-ant-fake-upstream-key-0001".to_owned(),
            models: vec![
                "claude-sonnet-4-5".to_owned(),
                "claude-opus-4-1".to_owned(),
                "claude-3-5-haiku-latest".to_owned(),
            ],
            reply: None,
            stream_chunks: 4,
        }
    }
}

/// The key is a secret even in tests: Debug never shows it.
impl std::fmt::Debug for FakeAnthropicConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeAnthropicConfig")
            .field("api_key", &"<redacted>")
            .field("models", &self.models)
            .field("reply", &self.reply)
            .field("stream_chunks", &self.stream_chunks)
            .finish()
    }
}
