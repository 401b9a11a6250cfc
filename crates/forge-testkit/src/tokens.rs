//! Deterministic token counts and stream splitting, public so tests can compute expectations.
//!
//! These are not real tokenizers: one token per four characters (Unicode scalar values),
//! rounded down, plus one per message or text.

use serde_json::Value;

/// Tokens of one text: `chars / 4 + 1`. Used for completion tokens, legacy prompts and
/// embedding inputs.
pub fn text_tokens(text: &str) -> u64 {
    count(text.chars().count()) / 4 + 1
}

/// Prompt tokens of a chat request's `messages`: the total characters of every message's
/// text content (a string, or the `text` of each content part) divided by four, plus one per
/// message. Other fields (names, tool calls) are not counted.
pub fn chat_prompt_tokens(messages: &Value) -> u64 {
    let Some(messages) = messages.as_array() else {
        return 0;
    };
    let chars: usize = messages
        .iter()
        .map(|m| content_chars(m.get("content")))
        .sum();
    count(chars) / 4 + count(messages.len())
}

fn content_chars(content: Option<&Value>) -> usize {
    match content {
        Some(Value::String(s)) => s.chars().count(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .map(|t| t.chars().count())
            .sum(),
        _ => 0,
    }
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Splits a reply into at most `chunks` non-empty pieces of near-equal length (in characters,
/// longer pieces first); concatenated they give the reply back. An empty reply gives no pieces.
pub fn split_reply(text: &str, chunks: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let n = chunks.max(1).min(chars.len());
    if n == 0 {
        return Vec::new();
    }
    let base = chars.len() / n;
    let extra = chars.len() % n;
    let mut out = Vec::with_capacity(n);
    let mut start = 0;
    for i in 0..n {
        let len = base + usize::from(i < extra);
        out.push(chars[start..start + len].iter().collect());
        start += len;
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_tokens() {
        assert_eq!(text_tokens(""), 1);
        assert_eq!(text_tokens("abcdefgh"), 3);
        let msgs = json!([
            {"role": "system", "content": "abcd"},
            {"role": "user", "content": [{"type": "text", "text": "abcd"}]},
            {"role": "assistant", "content": null}
        ]);
        assert_eq!(chat_prompt_tokens(&msgs), 2 + 3);
    }

    #[test]
    fn splits_replies() {
        assert_eq!(split_reply("abcdefghij", 4), ["abc", "def", "gh", "ij"]);
        assert_eq!(split_reply("ab", 4), ["a", "b"]);
        assert_eq!(split_reply("héllo", 1), ["héllo"]);
        assert!(split_reply("", 3).is_empty());
        assert_eq!(split_reply("abc", 0), ["abc"]);
    }
}
