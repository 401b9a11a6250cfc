//! `--name value` and `--flag` command-line arguments, for the two small bench binaries.

use std::collections::HashMap;
use std::str::FromStr;

pub struct Args {
    /// Arguments that are not options, in order (the sub-command).
    pub positional: Vec<String>,
    options: HashMap<String, String>,
}

impl Args {
    /// Parses `std::env::args()`; an option followed by another option (or nothing) is a flag.
    pub fn from_env() -> Args {
        Args::parse(std::env::args().skip(1))
    }

    pub fn parse(args: impl IntoIterator<Item = String>) -> Args {
        let mut positional = Vec::new();
        let mut options = HashMap::new();
        let mut iter = args.into_iter().peekable();
        while let Some(arg) = iter.next() {
            match arg.strip_prefix("--") {
                Some(name) => {
                    let value = match iter.peek() {
                        Some(next) if !next.starts_with("--") => iter.next().unwrap_or_default(),
                        _ => String::new(),
                    };
                    options.insert(name.to_owned(), value);
                }
                None => positional.push(arg),
            }
        }
        Args {
            positional,
            options,
        }
    }

    pub fn flag(&self, name: &str) -> bool {
        self.options.contains_key(name)
    }

    pub fn text(&self, name: &str, default: &str) -> String {
        self.options
            .get(name)
            .cloned()
            .unwrap_or_else(|| default.to_owned())
    }

    /// A typed option, or an error naming it.
    pub fn get<T: FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.options.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| format!("--{name}: cannot read {v:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_flags_and_positionals() {
        let a = Args::parse(
            ["probe", "--n", "5", "--stream", "--model", "m"]
                .iter()
                .map(|s| s.to_string()),
        );
        assert_eq!(a.positional, vec!["probe"]);
        assert_eq!(a.get("n", 1u32), Ok(5));
        assert!(a.flag("stream"));
        assert_eq!(a.text("model", "x"), "m");
        assert_eq!(a.get("missing", 7u32), Ok(7));
        assert!(a.get::<u32>("model", 0).is_err());
    }
}
