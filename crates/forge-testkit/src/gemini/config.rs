//! What a [`crate::FakeGemini`] accepts and answers.

/// Configuration of a [`crate::FakeGemini`].
#[derive(Clone)]
pub struct FakeGeminiConfig {
    /// The only key accepted (in `x-goog-api-key`, or `?key=`).
    pub api_key: String,
    /// Models that exist (bare ids such as `gemini-2.5-flash`); others get a 404 `NOT_FOUND`.
    pub models: Vec<String>,
    /// Reply template (`{model}` is replaced by the requested model); `None` means
    /// [`crate::DEFAULT_REPLY`].
    pub reply: Option<String>,
    /// How many text chunks a streamed answer is split into (0 is treated as 1).
    pub stream_chunks: usize,
}

impl Default for FakeGeminiConfig {
    fn default() -> Self {
        FakeGeminiConfig {
            api_key: "AIzaFakeUpstreamKey0001".to_owned(),
            models: vec!["gemini-2.5-flash".to_owned(), "gemini-2.5-pro".to_owned()],
            reply: None,
            stream_chunks: 4,
        }
    }
}

/// The key is a secret even in tests: Debug never shows it.
impl std::fmt::Debug for FakeGeminiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeGeminiConfig")
            .field("api_key", &"<redacted>")
            .field("models", &self.models)
            .field("reply", &self.reply)
            .field("stream_chunks", &self.stream_chunks)
            .finish()
    }
}
