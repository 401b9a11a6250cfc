//! Writes to stdout without panicking: `println!` panics when stdout is a closed pipe, and a CLI
//! whose output goes into `head` must not.

use std::fmt;
use std::io::{self, Write};

use serde_json::Value;

use crate::error::CliError;

fn map_err(err: io::Error) -> CliError {
    if err.kind() == io::ErrorKind::BrokenPipe {
        CliError::BrokenPipe
    } else {
        CliError::Terminal(format!("cannot write to stdout: {err}"))
    }
}

/// One line on stdout.
pub fn line(args: fmt::Arguments<'_>) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    out.write_fmt(args).map_err(map_err)?;
    out.write_all(b"\n").map_err(map_err)
}

/// A piece of streamed text, flushed at once so the reader sees it as it arrives.
pub fn chunk(text: &str) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes()).map_err(map_err)?;
    out.flush().map_err(map_err)
}

/// A JSON value for scripts (`--json`), pretty-printed.
pub fn json(value: &Value) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|err| CliError::BadResponse(format!("cannot render JSON: {err}")))?;
    line(format_args!("{text}"))
}

/// A message on stderr (errors, prompts). Failing to write it is not worth failing the command.
pub fn note(args: fmt::Arguments<'_>) {
    let mut err = io::stderr().lock();
    let _ = err.write_fmt(args);
    let _ = err.write_all(b"\n");
}

/// Prints rows as left-aligned columns under a header.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> Result<(), CliError> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let render = |cells: Vec<&str>| -> String {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let width = widths.get(i).copied().unwrap_or(0);
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  "));
            }
        }
        out.trim_end().to_string()
    };
    line(format_args!("{}", render(header.to_vec())))?;
    for row in rows {
        line(format_args!(
            "{}",
            render(row.iter().map(String::as_str).collect())
        ))?;
    }
    Ok(())
}

/// Shorthand for `output::line(format_args!(...))?`.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))?
    };
}
