//! Config errors that point at the offending line and field.
//!
//! Syntax and type errors come located from the TOML parser; validation errors carry a
//! field path, which is looked up in the parsed document to find its line.

use std::fmt;

/// One problem in a config file, located as precisely as the parser allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// Dotted field path, e.g. `models.chat.deployments[1].provider`; empty for syntax errors.
    pub path: String,
    /// 1-based line and column, when known.
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(f, "line {line}, column {column}: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// A rejected config file: every problem found, so one edit can fix them all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub issues: Vec<ConfigIssue>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid forge config")?;
        for issue in &self.issues {
            write!(f, "\n  {issue}")?;
        }
        Ok(())
    }
}

pub(crate) fn syntax_error(text: &str, path: &str, error: &toml::de::Error) -> ConfigError {
    let (line, column) = match error.span() {
        Some(span) => {
            let (line, column) = line_column(text, span.start);
            (Some(line), Some(column))
        }
        None => (None, None),
    };
    ConfigError {
        issues: vec![ConfigIssue {
            path: path.to_owned(),
            line,
            column,
            message: error.message().to_owned(),
        }],
    }
}

pub(crate) fn issue(path: impl Into<String>, message: impl Into<String>) -> ConfigIssue {
    ConfigIssue {
        path: path.into(),
        line: None,
        column: None,
        message: message.into(),
    }
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, column)
}

/// Finds where a validation issue's path sits in the source, so semantic errors carry a
/// line as syntax errors do.
pub(crate) fn locate(text: &str, issue: &mut ConfigIssue) {
    let Ok(root) = toml::de::DeTable::parse(text) else {
        return;
    };
    let mut found = None;
    let mut value: Option<&toml::de::DeValue<'_>> = None;
    let mut table = Some(root.get_ref());
    for segment in path_segments(&issue.path) {
        let next = match (&segment, table, value) {
            (Segment::Key(key), Some(t), _) => t.get(key.as_str()),
            (Segment::Index(i), _, Some(toml::de::DeValue::Array(items))) => items.get(*i),
            _ => None,
        };
        let Some(next) = next else { break };
        found = Some(next.span());
        value = Some(next.get_ref());
        table = match next.get_ref() {
            toml::de::DeValue::Table(t) => Some(t),
            _ => None,
        };
    }
    if let Some(span) = found {
        let (line, column) = line_column(text, span.start);
        issue.line = Some(line);
        issue.column = Some(column);
    }
}

/// A path segment key, quoted when it would not read back as one segment.
pub(crate) fn quote_key(key: &str) -> String {
    if key.contains(['.', '[', '"']) {
        format!("\"{}\"", key.replace('"', "'"))
    } else {
        key.to_owned()
    }
}

enum Segment {
    Key(String),
    Index(usize),
}

/// `models.chat.deployments[1].provider` → `models`, `chat`, `deployments`, 1, `provider`;
/// `aliases."gpt-4.1"` keeps the quoted key whole.
fn path_segments(path: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            out.push(Segment::Key(quoted[..end].to_owned()));
            rest = quoted.get(end + 1..).unwrap_or("");
        } else if let Some(indexed) = rest.strip_prefix('[') {
            let end = indexed.find(']').unwrap_or(indexed.len());
            if let Ok(i) = indexed[..end].parse() {
                out.push(Segment::Index(i));
            }
            rest = indexed.get(end + 1..).unwrap_or("");
        } else if let Some(after) = rest.strip_prefix('.') {
            rest = after;
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            out.push(Segment::Key(rest[..end].to_owned()));
            rest = &rest[end..];
        }
    }
    out
}
