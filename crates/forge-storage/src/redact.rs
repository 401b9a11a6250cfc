//! `Debug` helpers for records that hold secrets or secret-adjacent text (password hashes,
//! provider config such as cloud credentials), so a `{:?}` in a log line shows their shape only.

use std::collections::BTreeMap;
use std::fmt;

pub(crate) struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A string map shown by its keys, each value redacted.
pub(crate) struct KeysOnly<'a>(pub(crate) Option<&'a BTreeMap<String, String>>);

impl fmt::Debug for KeysOnly<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => f.write_str("None"),
            Some(map) => f
                .debug_map()
                .entries(map.keys().map(|k| (k, Redacted)))
                .finish(),
        }
    }
}
