//! The delivered output text, kept for estimating tokens when an upstream reports none.

/// At most this many bytes of output text are kept; the rest is only counted. An
/// estimate from the first MiB and the overflow byte count is close enough, and a
/// runaway stream cannot grow the gateway's memory.
pub const OUTPUT_TEXT_CAP: usize = 1 << 20;

#[derive(Debug, Default, Clone)]
pub(super) struct OutputText {
    text: String,
    overflow: usize,
    saw_content: bool,
}

impl OutputText {
    /// Appends a fragment, cut at a character boundary once the cap is reached.
    pub fn push(&mut self, fragment: &str) {
        if fragment.is_empty() {
            return;
        }
        self.saw_content = true;
        let room = OUTPUT_TEXT_CAP.saturating_sub(self.text.len());
        if fragment.len() <= room {
            self.text.push_str(fragment);
            return;
        }
        let mut cut = room;
        while !fragment.is_char_boundary(cut) {
            cut -= 1;
        }
        if let Some(head) = fragment.get(..cut) {
            self.text.push_str(head);
        }
        self.overflow = self
            .overflow
            .saturating_add(fragment.len().saturating_sub(cut));
    }

    /// Records output that has no text of its own (a tool call without arguments).
    pub fn mark_content(&mut self) {
        self.saw_content = true;
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn overflow(&self) -> usize {
        self.overflow
    }

    pub fn saw_content(&self) -> bool {
        self.saw_content
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_at_a_char_boundary_and_counts_the_rest() {
        let mut out = OutputText::default();
        out.push("");
        assert!(!out.saw_content());
        out.push(&"a".repeat(OUTPUT_TEXT_CAP - 1));
        // "é" is two bytes: only one byte of room is left, so it goes to the overflow.
        out.push("é!");
        assert_eq!(out.text().len(), OUTPUT_TEXT_CAP - 1);
        assert_eq!(out.overflow(), 3);
        out.push("x");
        assert_eq!(out.text().len(), OUTPUT_TEXT_CAP);
        out.push("yz");
        assert_eq!(out.text().len(), OUTPUT_TEXT_CAP);
        assert_eq!(out.overflow(), 5);
        assert!(out.saw_content());
    }
}
