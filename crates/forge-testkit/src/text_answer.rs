//! The plain-text answer both chat fakes give: the reply template cut at the first stop
//! sequence or at the token limit.
//!
//! The limit is counted with [`crate::text_tokens`]: when the reply has more tokens than
//! allowed, it is cut to its first `3 * limit` characters and reported as exactly `limit`
//! output tokens.

use crate::tokens::text_tokens;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TextStop {
    /// Finished on its own.
    End,
    /// Cut before this stop sequence (the earliest one found in the reply).
    StopSequence(String),
    /// Cut at the token limit.
    MaxTokens,
}

#[derive(Debug, Clone)]
pub(crate) struct TextAnswer {
    pub(crate) text: String,
    pub(crate) stop: TextStop,
    pub(crate) tokens: u64,
}

pub(crate) fn text_answer(
    reply: &str,
    stop_sequences: &[String],
    limit: Option<u64>,
) -> TextAnswer {
    let mut text = reply.to_owned();
    let mut stop = TextStop::End;
    let earliest = stop_sequences
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| reply.find(s.as_str()).map(|at| (at, s)))
        .min_by_key(|(at, _)| *at);
    if let Some((at, seq)) = earliest {
        text.truncate(at);
        stop = TextStop::StopSequence(seq.clone());
    }
    let mut tokens = text_tokens(&text);
    if let Some(limit) = limit
        && tokens > limit
    {
        let keep = usize::try_from(limit.saturating_mul(3)).unwrap_or(usize::MAX);
        text = text.chars().take(keep).collect();
        stop = TextStop::MaxTokens;
        tokens = limit;
    }
    TextAnswer { text, stop, tokens }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cuts_at_stop_sequences_and_limits() {
        let a = text_answer("Hello world, bye", &[], None);
        assert_eq!(
            (a.text.as_str(), a.stop),
            ("Hello world, bye", TextStop::End)
        );
        let stops = vec!["bye".to_owned(), "world".to_owned()];
        let a = text_answer("Hello world, bye", &stops, Some(100));
        assert_eq!(a.text, "Hello ");
        assert_eq!(a.stop, TextStop::StopSequence("world".to_owned()));
        let a = text_answer("Hello world, bye", &[], Some(2));
        assert_eq!(
            (a.text.as_str(), a.stop, a.tokens),
            ("Hello ", TextStop::MaxTokens, 2)
        );
    }
}
