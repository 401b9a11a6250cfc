//! `logs export`: the server's request logs (`GET /v1/logs/export`, JWT) as JSON Lines, one
//! object per upstream attempt, written as they arrive (an export may be large) to stdout
//! or a file. Users get their own logs; admins may ask for a user's, a static key's or all.

use std::io::Write;
use std::time::Duration;

use awc::http::header;
use clap::{Args, Subcommand};
use futures_util::StreamExt;

use super::Ctx;
use crate::client::{error_message, path_segment};
use crate::error::CliError;
use crate::output;

/// An export streams for as long as it has lines to send.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(3600);
/// Largest error body read (errors are short).
const ERROR_LIMIT: usize = 64 * 1024;

#[derive(Subcommand)]
pub enum LogsCommand {
    /// Write request logs as JSON Lines (stdout unless --output).
    Export(ExportArgs),
}

#[derive(Args, Clone, Default)]
pub struct ExportArgs {
    /// Start, inclusive: RFC 3339 (2025-06-01T12:00:00Z) or a date (2025-06-01, UTC).
    #[arg(long)]
    pub from: Option<String>,
    /// End, exclusive: RFC 3339, or a date, which includes that whole day.
    #[arg(long)]
    pub to: Option<String>,
    /// Only this Forge key's logs (ids from `keys list`).
    #[arg(long, value_name = "ID")]
    pub key_id: Option<i64>,
    /// Only this user's logs (admins only).
    #[arg(long, value_name = "ID")]
    pub user_id: Option<i64>,
    /// Only this static forge.toml key's logs (admins only).
    #[arg(long, value_name = "NAME")]
    pub gateway_key: Option<String>,
    /// Everyone's logs (admins only).
    #[arg(long)]
    pub all: bool,
    /// Write to this file (created or replaced) instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
}

/// `/v1/logs/export` with the given filters, values percent-encoded.
pub fn request_path(args: &ExportArgs) -> String {
    let mut params: Vec<(&str, String)> = Vec::new();
    for (name, value) in [
        ("from", &args.from),
        ("to", &args.to),
        ("gateway_key", &args.gateway_key),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            params.push((name, v.to_string()));
        }
    }
    for (name, value) in [("key_id", args.key_id), ("user_id", args.user_id)] {
        if let Some(v) = value {
            params.push((name, v.to_string()));
        }
    }
    if args.all {
        params.push(("all", "true".to_string()));
    }
    let query: Vec<String> = params
        .iter()
        .map(|(name, value)| format!("{name}={}", path_segment(value)))
        .collect();
    if query.is_empty() {
        "/v1/logs/export".to_string()
    } else {
        format!("/v1/logs/export?{}", query.join("&"))
    }
}

pub async fn run(ctx: &mut Ctx, command: LogsCommand) -> Result<(), CliError> {
    match command {
        LogsCommand::Export(args) => export(ctx, args).await,
    }
}

async fn export(ctx: &mut Ctx, args: ExportArgs) -> Result<(), CliError> {
    let jwt = ctx.jwt()?;
    let server = ctx.server();
    let http = awc::Client::builder()
        .timeout(EXPORT_TIMEOUT)
        .add_default_header((
            header::USER_AGENT,
            concat!("forge-cli/", env!("CARGO_PKG_VERSION")),
        ))
        .finish();
    let mut res = http
        .get(format!("{server}{}", request_path(&args)))
        .insert_header((header::AUTHORIZATION, format!("Bearer {jwt}")))
        .send()
        .await
        .map_err(|err| match err {
            awc::error::SendRequestError::Connect(err) => CliError::Unreachable {
                url: server.clone(),
                reason: err.to_string(),
            },
            other => CliError::Transport {
                url: server.clone(),
                reason: other.to_string(),
            },
        })?;
    let status = res.status();
    if !status.is_success() {
        let body = res.body().limit(ERROR_LIMIT).await.unwrap_or_default();
        let message = serde_json::from_slice(&body)
            .ok()
            .and_then(|value| error_message(&value))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_string());
        return Err(CliError::Server {
            status: match status.canonical_reason() {
                Some(reason) => format!("{} {reason}", status.as_u16()),
                None => status.as_u16().to_string(),
            },
            message,
        });
    }
    let mut sink = Sink::open(args.output.as_deref())?;
    let mut res = res.timeout(EXPORT_TIMEOUT);
    let mut lines = 0usize;
    while let Some(chunk) = res.next().await {
        let chunk = chunk.map_err(|err| CliError::Transport {
            url: server.clone(),
            reason: format!("reading the export: {err}"),
        })?;
        lines += chunk.iter().filter(|b| **b == b'\n').count();
        sink.write(&chunk)?;
    }
    sink.finish()?;
    if let Some(path) = &args.output {
        output::note(format_args!(
            "wrote {lines} log{} to {}",
            if lines == 1 { "" } else { "s" },
            path.display()
        ));
    }
    Ok(())
}

/// Where the lines go: a file, or stdout (a closed pipe ends the command quietly).
enum Sink {
    File(std::io::BufWriter<std::fs::File>, std::path::PathBuf),
    Stdout,
}

impl Sink {
    fn open(path: Option<&std::path::Path>) -> Result<Sink, CliError> {
        match path {
            None => Ok(Sink::Stdout),
            Some(path) => std::fs::File::create(path)
                .map(|f| Sink::File(std::io::BufWriter::new(f), path.to_path_buf()))
                .map_err(|err| file_error(path, &err)),
        }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), CliError> {
        match self {
            Sink::File(file, path) => file.write_all(bytes).map_err(|err| file_error(path, &err)),
            // Raw bytes: a chunk may end inside a character.
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(bytes)
                    .and_then(|()| out.flush())
                    .map_err(stdout_error)
            }
        }
    }

    fn finish(self) -> Result<(), CliError> {
        match self {
            Sink::File(mut file, path) => file.flush().map_err(|err| file_error(&path, &err)),
            Sink::Stdout => Ok(()),
        }
    }
}

fn stdout_error(err: std::io::Error) -> CliError {
    if err.kind() == std::io::ErrorKind::BrokenPipe {
        CliError::BrokenPipe
    } else {
        CliError::Terminal(format!("cannot write to stdout: {err}"))
    }
}

fn file_error(path: &std::path::Path, err: &std::io::Error) -> CliError {
    CliError::Usage(format!("cannot write {}: {err}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_carries_only_given_filters_encoded() {
        assert_eq!(request_path(&ExportArgs::default()), "/v1/logs/export");
        let args = ExportArgs {
            from: Some("2025-06-01T12:00:00+02:00".into()),
            to: Some(String::new()),
            key_id: Some(7),
            gateway_key: Some("team a".into()),
            all: true,
            ..ExportArgs::default()
        };
        assert_eq!(
            request_path(&args),
            "/v1/logs/export?from=2025-06-01T12%3A00%3A00%2B02%3A00&gateway_key=team%20a&key_id=7&all=true"
        );
    }
}
