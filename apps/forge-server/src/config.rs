//! Command line and environment settings. Every flag has a `FORGE_*` twin so a container can be
//! configured without arguments; nothing here is required, so `forge-server` starts bare.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "forge-server",
    version,
    about = "Forge: one endpoint and one key for every model provider"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Run database migrations and exit.
    Migrate,
    /// Re-encrypt every stored provider key under the current encryption key, opening each
    /// with it or the previous one (FORGE_ENCRYPTION_KEY_PREVIOUS or encryption.key.previous).
    RotateEncryptionKey,
    /// Validate a forge.toml (default: the --config / FORGE_CONFIG file) and exit.
    CheckConfig {
        /// The file to check.
        path: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Registration {
    /// Anyone may register (as Forge does).
    Open,
    /// Only the first user (the admin) may register.
    Closed,
}

#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// A forge.toml declaring providers, logical models, aliases and static keys; watched and
    /// reloaded on change. Its `[server]` table overrides the matching settings here.
    #[arg(long, env = "FORGE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "FORGE_BIND", default_value = "127.0.0.1:8000")]
    pub bind: SocketAddr,
    /// Directory for the SQLite database and generated secrets.
    #[arg(long, env = "FORGE_DATA_DIR", default_value = "./forge-data")]
    pub data_dir: PathBuf,
    /// `postgres://...` for PostgreSQL, or a SQLite path; default `<data-dir>/forge.db`.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Allow provider base URLs that point at loopback, private or link-local addresses.
    #[arg(long, env = "FORGE_ALLOW_PRIVATE_UPSTREAMS", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub allow_private_upstreams: bool,
    #[arg(long, env = "FORGE_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    #[arg(long, env = "FORGE_REGISTRATION", value_enum, default_value = "open")]
    pub registration: Registration,
    /// Lifetime of the JWTs issued by `POST /v1/auth/token`.
    #[arg(long, env = "FORGE_JWT_LIFETIME_MINUTES", default_value_t = 60)]
    pub jwt_lifetime_minutes: u32,
    /// Largest accepted request body; larger bodies are answered 413.
    #[arg(long, env = "FORGE_MAX_BODY_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Time allowed to open a connection to an upstream.
    #[arg(long, env = "FORGE_CONNECT_TIMEOUT_SECS", default_value_t = 10)]
    pub connect_timeout_secs: u64,
    /// Time allowed until the upstream sends its response head and first body bytes.
    /// Generous by default: a reasoning model may think for minutes before it answers.
    #[arg(long, env = "FORGE_FIRST_BYTE_TIMEOUT_SECS", default_value_t = 600)]
    pub first_byte_timeout_secs: u64,
    /// Longest silence allowed between two chunks of an upstream body.
    #[arg(long, env = "FORGE_IDLE_TIMEOUT_SECS", default_value_t = 300)]
    pub idle_timeout_secs: u64,
    /// How long a provider's model list is cached by `GET /v1/models`.
    #[arg(long, env = "FORGE_MODELS_CACHE_SECS", default_value_t = 300)]
    pub models_cache_secs: u64,
    /// Stored Responses API turns (for `previous_response_id`) are deleted after this many days.
    #[arg(long, env = "FORGE_RESPONSES_RETENTION_DAYS", default_value_t = 30)]
    pub responses_retention_days: u32,
    /// Redis, shared by the instances behind one load balancer: limits, concurrency and budget
    /// counters, and cache invalidation. Without it each instance counts on its own.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Largest size of the local usage journal (records held while the database is down).
    #[arg(long, env = "FORGE_USAGE_JOURNAL_MAX_BYTES", default_value_t = 256 * 1024 * 1024)]
    pub usage_journal_max_bytes: u64,
    /// HTTP worker threads; default: one per core.
    #[arg(long, env = "FORGE_WORKERS")]
    pub workers: Option<usize>,
    /// Bearer token `GET /metrics` asks for; without it the metrics are open to anyone who
    /// reaches the listener.
    #[arg(long, env = "FORGE_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// A second listener that serves only `/metrics` and the health routes (to keep metrics
    /// off the public address).
    #[arg(long, env = "FORGE_METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,
    /// After SIGTERM/SIGINT: how long in-flight requests and streams may run on before the
    /// streams still open are closed with an error event.
    #[arg(long, env = "FORGE_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    pub shutdown_grace_secs: u64,
}

impl Settings {
    /// Settings for tests and embedding: every default, on the given address and data directory.
    pub fn for_data_dir(data_dir: PathBuf, bind: SocketAddr) -> Self {
        Settings {
            config: None,
            bind,
            data_dir,
            database_url: None,
            allow_private_upstreams: false,
            log_format: LogFormat::Text,
            registration: Registration::Open,
            jwt_lifetime_minutes: 60,
            max_body_bytes: 8 * 1024 * 1024,
            connect_timeout_secs: 10,
            first_byte_timeout_secs: 600,
            idle_timeout_secs: 300,
            models_cache_secs: 300,
            responses_retention_days: 30,
            usage_journal_max_bytes: 256 * 1024 * 1024,
            redis_url: None,
            workers: None,
            metrics_token: None,
            metrics_bind: None,
            shutdown_grace_secs: 30,
        }
    }

    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) if !url.trim().is_empty() => url.clone(),
            _ => format!("sqlite://{}", self.data_dir.join("forge.db").display()),
        }
    }

    pub fn timeouts(&self) -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(self.connect_timeout_secs.max(1)),
            first_byte: Duration::from_secs(self.first_byte_timeout_secs.max(1)),
            idle: Duration::from_secs(self.idle_timeout_secs.max(1)),
            total: None,
        }
    }

    /// Applies a forge.toml `[server]` table: a field it sets wins over flags and environment.
    pub fn apply_file(&mut self, server: &forge_router::config::ServerConfig) {
        if let Some(bind) = server.bind {
            self.bind = bind;
        }
        if let Some(limit) = server.max_body_bytes {
            self.max_body_bytes = limit;
        }
        if let Some(allow) = server.allow_private_upstreams {
            self.allow_private_upstreams = allow;
        }
        if let Some(registration) = server.registration {
            self.registration = match registration {
                forge_router::config::Registration::Open => Registration::Open,
                forge_router::config::Registration::Closed => Registration::Closed,
            };
        }
        if let Some(token) = &server.metrics_token {
            self.metrics_token = Some(token.expose().to_owned());
        }
        if let Some(bind) = server.metrics_bind {
            self.metrics_bind = Some(bind);
        }
        if let Some(secs) = server.shutdown_grace_secs {
            self.shutdown_grace_secs = secs;
        }
        let secs = |ms: u64| ms.div_ceil(1000).max(1);
        if let Some(ms) = server.timeouts.connect_ms {
            self.connect_timeout_secs = secs(ms);
        }
        if let Some(ms) = server.timeouts.first_byte_ms {
            self.first_byte_timeout_secs = secs(ms);
        }
        if let Some(ms) = server.timeouts.idle_ms {
            self.idle_timeout_secs = secs(ms);
        }
    }
}

/// Upstream timeouts of one attempt: the server's, or a route's where it sets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub first_byte: Duration,
    pub idle: Duration,
    /// The whole exchange, streaming included; none by default.
    pub total: Option<Duration>,
}

impl Timeouts {
    /// These timeouts with a route's overrides applied.
    pub fn with(self, route: &forge_router::config::ModelTimeouts) -> Timeouts {
        let ms =
            |v: Option<u64>, base: Duration| v.map_or(base, |ms| Duration::from_millis(ms.max(1)));
        Timeouts {
            connect: ms(route.connect_ms, self.connect),
            first_byte: ms(route.first_token_ms, self.first_byte),
            idle: ms(route.idle_ms, self.idle),
            total: route
                .total_ms
                .map(|ms| Duration::from_millis(ms.max(1)))
                .or(self.total),
        }
    }
}
