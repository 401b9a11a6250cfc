//! The `max_tokens` sent when a client set none: Anthropic requires one, and a too-small
//! default truncates answers while a too-large one is rejected.

/// Used for models this table does not know.
pub const FALLBACK_MAX_TOKENS: u64 = 4096;

/// The default output limit for a model, by name prefix (dated and `-latest` ids alike).
pub fn default_max_tokens(model: &str) -> u64 {
    let m = model.to_ascii_lowercase();
    // Bedrock / Vertex style names carry a vendor prefix.
    let m = m
        .rsplit(['/', '.'])
        .find(|s| s.starts_with("claude"))
        .unwrap_or(&m);
    const TABLE: [(&str, u64); 11] = [
        ("claude-opus-4-1", 32000),
        ("claude-opus-4", 32000),
        ("claude-sonnet-4", 64000),
        ("claude-haiku-4", 64000),
        ("claude-3-7-sonnet", 64000),
        ("claude-3-5-sonnet", 8192),
        ("claude-3-5-haiku", 8192),
        ("claude-3-opus", 4096),
        ("claude-3-sonnet", 4096),
        ("claude-3-haiku", 4096),
        ("claude-2", 4096),
    ];
    TABLE
        .iter()
        .find(|(prefix, _)| m.starts_with(prefix))
        .map_or(FALLBACK_MAX_TOKENS, |(_, max)| *max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        assert_eq!(default_max_tokens("claude-opus-4-20250514"), 32000);
        assert_eq!(default_max_tokens("claude-opus-4-1-20250805"), 32000);
        assert_eq!(default_max_tokens("claude-sonnet-4-20250514"), 64000);
        assert_eq!(default_max_tokens("claude-3-7-sonnet-latest"), 64000);
        assert_eq!(default_max_tokens("claude-3-5-sonnet-20241022"), 8192);
        assert_eq!(default_max_tokens("claude-3-5-haiku-20241022"), 8192);
        assert_eq!(default_max_tokens("claude-3-haiku-20240307"), 4096);
        assert_eq!(
            default_max_tokens("anthropic.claude-3-5-sonnet-20240620-v1:0"),
            8192
        );
        assert_eq!(default_max_tokens("mystery-model"), FALLBACK_MAX_TOKENS);
    }
}
