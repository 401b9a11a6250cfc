//! The one error type of the CLI. Every variant renders as a sentence a person can act on, and none
//! of them carries a password, a JWT or a provider key (server messages are shown as the server
//! wrote them; the server never puts secrets in them).

use thiserror::Error;

#[derive(Debug, Error)]
pub enum CliError {
    #[error("cannot reach Forge at {url}: {reason}")]
    Unreachable { url: String, reason: String },

    #[error("Forge at {url} did not answer within {secs} s")]
    TimedOut { url: String, secs: u64 },

    #[error("request to Forge at {url} failed: {reason}")]
    Transport { url: String, reason: String },

    #[error("Forge answered {status}: {message}")]
    Server { status: String, message: String },

    #[error("unexpected answer from Forge: {0}")]
    BadResponse(String),

    #[error("the stream failed: {0}")]
    Stream(String),

    #[error("not logged in to {0}: run `forge-cli login` first")]
    NotLoggedIn(String),

    #[error(
        "no Forge API key for {0}: pass --forge-key, set FORGE_API_KEY, or run `forge-cli keys create`"
    )]
    NoForgeKey(String),

    #[error("{0}")]
    Usage(String),

    #[error("config: {0}")]
    Config(String),

    #[error("input closed")]
    Eof,

    #[error("terminal: {0}")]
    Terminal(String),

    /// stdout went away (for example `forge-cli keys list | head -1`): stop quietly.
    #[error("output closed")]
    BrokenPipe,
}

impl CliError {
    pub fn config(what: &str, err: impl std::fmt::Display) -> Self {
        Self::Config(format!("{what}: {err}"))
    }
}
