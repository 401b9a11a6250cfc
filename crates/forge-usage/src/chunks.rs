//! Cuts long text into pieces the BPE can encode in bounded time and stack.
//!
//! tiktoken's byte-pair merge is quadratic in the length of one pre-tokenised piece, and
//! its regex can fail (and tiktoken-rs then panics) on very long runs, so a hostile prompt
//! such as a megabyte of one letter must never reach it whole. Text is cut only where the
//! pre-tokeniser of cl100k and o200k would cut anyway, before a space that precedes a
//! letter (`" word"` is always a piece of its own), so the sum of the pieces' counts equals
//! the count of the whole. Only when no such place exists within `max` bytes is the text
//! cut anywhere, and the count is then reported as an estimate.

pub(crate) struct Chunks<'a> {
    rest: &'a str,
    target: usize,
    max: usize,
}

pub(crate) const TARGET: usize = 1024;
pub(crate) const MAX: usize = 2048;

impl<'a> Chunks<'a> {
    pub(crate) fn new(text: &'a str, target: usize, max: usize) -> Chunks<'a> {
        Chunks {
            rest: text,
            target: target.max(1),
            max: max.max(target.max(1)),
        }
    }
}

impl<'a> Iterator for Chunks<'a> {
    /// A piece, and whether it ends at a boundary the tokenizer would also cut at.
    type Item = (&'a str, bool);

    fn next(&mut self) -> Option<(&'a str, bool)> {
        if self.rest.is_empty() {
            return None;
        }
        if self.rest.len() <= self.max {
            let all = self.rest;
            self.rest = "";
            return Some((all, true));
        }
        let (cut, clean) = match safe_cut(self.rest, self.target, self.max) {
            Some(at) => (at, true),
            None => (floor_char_boundary(self.rest, self.max), false),
        };
        // Always make progress, even if `max` is shorter than the first character.
        let cut = if cut == 0 {
            self.rest
                .chars()
                .next()
                .map_or(self.rest.len(), char::len_utf8)
        } else {
            cut
        };
        let (head, tail) = self.rest.split_at(cut);
        self.rest = tail;
        Some((head, clean))
    }
}

/// The first byte offset in `target..=max` holding a space followed by a letter.
fn safe_cut(text: &str, target: usize, max: usize) -> Option<usize> {
    let start = floor_char_boundary(text, target);
    let window = text.get(start..)?;
    let mut chars = window.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let at = start + i;
        if at > max {
            return None;
        }
        if at > 0 && c == ' ' && chars.peek().is_some_and(|(_, next)| next.is_alphabetic()) {
            return Some(at);
        }
    }
    None
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_one_chunk() {
        assert_eq!(
            Chunks::new("hello", 4, 8).collect::<Vec<_>>(),
            vec![("hello", true)]
        );
        assert_eq!(Chunks::new("", 4, 8).count(), 0);
    }

    #[test]
    fn cuts_before_a_spaced_word() {
        let chunks: Vec<_> = Chunks::new("aaaa bbbb cccc dddd", 4, 8).collect();
        assert_eq!(
            chunks,
            vec![
                ("aaaa", true),
                (" bbbb", true),
                (" cccc", true),
                (" dddd", true)
            ]
        );
        assert_eq!(
            chunks.iter().map(|c| c.0).collect::<String>(),
            "aaaa bbbb cccc dddd"
        );
    }

    #[test]
    fn long_runs_are_cut_on_char_boundaries() {
        let text = "é".repeat(10);
        let chunks: Vec<_> = Chunks::new(&text, 4, 7).collect();
        assert!(chunks.iter().all(|(c, _)| c.len() <= 7));
        assert!(!chunks[0].1);
        assert_eq!(chunks.iter().map(|c| c.0).collect::<String>(), text);
    }
}
