//! forge-server: the actix-web application that wires the sans-I/O crates (core, providers,
//! storage) to HTTP. `build` prepares everything (secrets, migrations, pool, socket) and returns
//! a [`Forge`] whose `run` serves until shutdown, then flushes what is still buffered.

pub mod admin;
pub mod auth;
pub mod config;
pub mod cors;
pub mod error;
pub mod extract_errors;
pub mod limits;
pub mod logs;
pub mod metrics;
pub mod openapi;
pub mod proxy;
pub mod routes;
pub mod routing;
pub mod secrets;
pub mod shutdown;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod traces;
pub mod trim_path;
pub mod usage;
pub mod validate;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::middleware::ErrorHandlers;
use actix_web::{App, HttpServer, web};
use forge_storage::crypto::SecretBox;
use forge_storage::{StorageError, Store};

use crate::auth::forge_key::Authenticator;
use crate::auth::jwt::JwtKeys;
use crate::auth::key_cache::KeyCache;
use crate::auth::last_used::LastUsed;
use crate::config::Settings;
use crate::proxy::handle::Proxy;
use crate::proxy::models_cache::ModelsCache;
use crate::proxy::transport::Transport;
use crate::routing::Routing;
use crate::state::AppState;

/// How often buffered `last_used_at` stamps are written.
const FLUSH_EVERY: Duration = Duration::from_secs(5);
/// How often stored Responses API turns past their retention are deleted.
const PURGE_EVERY: Duration = Duration::from_secs(3600);
/// Admin JSON bodies are small; proxy bodies have their own (configurable) limit.
const ADMIN_JSON_LIMIT: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Secrets(#[from] secrets::SecretError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
    #[error("start-up task failed: {0}")]
    Task(String),
    #[error("invalid configuration file: {0}")]
    Config(String),
    #[error(
        "the encryption key does not match the one the stored provider keys are encrypted with; \
         restore the data directory's original encryption.key, or set FORGE_ENCRYPTION_KEY to \
         the key in use (to change keys, see `forge-server rotate-encryption-key`)"
    )]
    EncryptionKeyMismatch,
}

/// awc builds its TLS config lazily and panics without a process-wide rustls provider.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Runs the embedded migrations for the configured database (blocking work off the runtime).
pub async fn migrate(settings: &Settings) -> Result<(), StartError> {
    secrets::ensure_private_dir(&settings.data_dir)?;
    secrets::warn_if_shared_dir(&settings.data_dir);
    let url = settings.database_url();
    if let Some(path) = url.strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap_or(path);
        if !path.is_empty() && !path.contains(":memory:") {
            secrets::private_sqlite_file(std::path::Path::new(path))?;
        }
    }
    tokio::task::spawn_blocking(move || Store::run_migrations(&url))
        .await
        .map_err(|e| StartError::Task(e.to_string()))??;
    Ok(())
}

/// A bound, ready-to-run server.
pub struct Forge {
    pub addr: SocketAddr,
    server: actix_web::dev::Server,
    state: web::Data<AppState>,
    flusher: usage::Flusher,
    log_flusher: logs::LogFlusher,
    lifecycle: Arc<shutdown::Lifecycle>,
    /// The `--metrics-bind` listener, when metrics are served apart.
    metrics_server: Option<actix_web::dev::Server>,
    pub metrics_addr: Option<SocketAddr>,
    traces: Arc<traces::Traces>,
}

/// Reads the forge.toml named by the settings (if any) and applies its `[server]` table.
pub fn load_config(settings: &mut Settings) -> Result<Routing, StartError> {
    let Some(path) = settings.config.clone() else {
        return Routing::new(forge_router::Config::default(), None).map_err(StartError::Config);
    };
    let config = routing::reload::load(&path).map_err(StartError::Config)?;
    settings.apply_file(&config.server);
    Routing::new(config, Some(path)).map_err(StartError::Config)
}

fn secret_box(secrets: &secrets::ServerSecrets) -> SecretBox {
    SecretBox::with_previous(
        *secrets.encryption_key,
        secrets.previous_encryption_key.as_deref().copied(),
    )
}

/// Refuses to start with a key that cannot open the stored provider keys: the database keeps
/// the key's fingerprint (recorded on the first start that finds none, after checking a stored
/// secret against the key). A previous key given for a rotation counts as well.
pub async fn check_encryption_key(store: &Store, secrets: &SecretBox) -> Result<(), StartError> {
    match store.encryption_fingerprint().await? {
        Some(stored) if stored == secrets.fingerprint() => Ok(()),
        Some(stored) if Some(stored.as_str()) == secrets.previous_fingerprint() => {
            tracing::warn!(
                "stored provider keys are under the previous encryption key; run `forge-server rotate-encryption-key`"
            );
            Ok(())
        }
        Some(_) => Err(StartError::EncryptionKeyMismatch),
        None => {
            if let Some((user_id, name, blob)) = store.sample_provider_secret().await? {
                let aad = forge_storage::crypto::provider_key_aad(user_id, &name);
                if secrets.decrypt(&blob, &aad).is_err() {
                    return Err(StartError::EncryptionKeyMismatch);
                }
                if !secrets.opens_with_current(&blob, &aad) {
                    // Under the previous key: the rotation will record the new fingerprint.
                    return Ok(());
                }
            }
            store
                .set_encryption_fingerprint(secrets.fingerprint())
                .await?;
            Ok(())
        }
    }
}

/// `forge-server rotate-encryption-key`: every stored provider secret is re-encrypted under
/// the current key (`FORGE_ENCRYPTION_KEY` or `encryption.key`), opening each with it or the
/// previous key (`FORGE_ENCRYPTION_KEY_PREVIOUS` or `encryption.key.previous`), in one
/// transaction. Instances that hold both keys serve throughout. Returns how many were
/// rewritten.
pub async fn rotate_encryption_key(settings: &Settings) -> Result<usize, StartError> {
    let secrets = secrets::load(&settings.data_dir)?;
    migrate(settings).await?;
    let store = Store::connect(&settings.database_url()).await?;
    let secret_box = secret_box(&secrets);
    Ok(store.reencrypt_provider_secrets(&secret_box).await?)
}

pub async fn build(mut settings: Settings) -> Result<Forge, StartError> {
    install_crypto_provider();
    let routing = Arc::new(load_config(&mut settings)?);
    let secrets = secrets::load(&settings.data_dir)?;
    let listener = startup::bind(settings.bind)?;
    let starting = startup::Starting::serve(listener.try_clone()?)?;
    migrate(&settings).await?;
    let store = Store::connect(&settings.database_url()).await?;
    let secret_box = secret_box(&secrets);
    check_encryption_key(&store, &secret_box).await?;
    let journal =
        usage::journal::Journal::new(&settings.data_dir, settings.usage_journal_max_bytes);
    usage::adopt_leftovers(&settings.data_dir, &journal);
    let (usage_sink, flusher) = usage::UsageSink::new(
        store.clone(),
        journal,
        usage::wal::Wal::open(&settings.data_dir),
    );
    let (log_sink, log_flusher) = logs::LogSink::new(store.clone());
    let pricing = routing.pricing.clone();
    let redis = match settings
        .redis_url
        .as_deref()
        .filter(|u| !u.trim().is_empty())
    {
        Some(url) => Some(limits::shared::connect(url).map_err(StartError::Config)?),
        None => None,
    };
    let prefix = routing.snapshot().config.limits.redis_prefix.clone();
    let invalidation = auth::invalidation::Invalidation::new(redis.clone(), &prefix);
    let limits = Arc::new(limits::Limits::new(
        redis.map(|conn| limits::shared::SharedLimiter::new(conn, &prefix)),
    ));
    let state = web::Data::new(AppState {
        usage: Arc::new(usage_sink),
        logs: Arc::new(log_sink),
        pricing,
        limits,
        invalidation,
        store,
        secret_box: Arc::new(secret_box),
        jwt: Arc::new(JwtKeys::new(
            &secrets.jwt_secret,
            settings.jwt_lifetime_minutes,
        )),
        keys: Arc::new(KeyCache::default()),
        last_used: Arc::new(LastUsed::default()),
        models: Arc::new(ModelsCache::new(Duration::from_secs(
            settings.models_cache_secs,
        ))),
        routing,
        settings: settings.clone(),
    });
    let proxy = web::Data::new(proxy_handle(&state));
    let timeouts = settings.timeouts();
    let allow_private = settings.allow_private_upstreams;
    let app_state = state.clone();
    let lifecycle = Arc::new(shutdown::Lifecycle::default());
    let life = lifecycle.clone();
    let metrics = Arc::new(metrics::Metrics::new(metrics::scrape::Scraped {
        usage: Some(state.usage.clone()),
        logs: Some(state.logs.clone()),
        pricing: Some(state.pricing.clone()),
        store: Some(state.store.clone()),
        routing: Some(state.routing.clone()),
        keys: Some(state.keys.clone()),
        started: Some(std::time::SystemTime::now()),
    }));
    let access = web::Data::new(metrics::endpoint::MetricsAccess::new(
        metrics.clone(),
        settings.metrics_token.as_deref(),
    ));
    let traces = Arc::new(traces::Traces::from_env().map_err(StartError::Config)?);
    let tracer = traces.tracer();
    let metrics_apart = settings.metrics_bind.is_some();
    let main_access = access.clone();
    let worker_metrics = metrics.clone();
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(app_state.clone())
            .app_data(proxy.clone())
            .app_data(proxy.auth.clone())
            // Narrow handles, for the extractors and modules that need only these.
            .app_data(web::Data::from(app_state.jwt.clone()))
            .app_data(web::Data::new(app_state.store.clone()))
            .app_data(web::Data::from(app_state.routing.clone()))
            // awc's client is !Send: one per worker, each with its own connection pool.
            .app_data(web::Data::new(Transport::new(
                timeouts,
                allow_private,
                life.worker(),
            )))
            .app_data(web::Data::from(life.clone()))
            .app_data(web::Data::new(metrics::worker::WorkerMetrics::new(
                worker_metrics.clone(),
                tracer.clone(),
            )))
            .app_data(main_access.clone())
            .app_data(extract_errors::json_config(ADMIN_JSON_LIMIT))
            .app_data(extract_errors::form_config())
            .app_data(extract_errors::path_config())
            .app_data(extract_errors::query_config())
            .wrap(
                ErrorHandlers::new()
                    .handler(StatusCode::NOT_FOUND, extract_errors::bodiless_to_json)
                    .handler(
                        StatusCode::METHOD_NOT_ALLOWED,
                        extract_errors::bodiless_to_json,
                    ),
            )
            .wrap(cors::Cors)
            .wrap(trim_path::TrimPath)
            .configure(routes::configure)
            .configure(|cfg| {
                if !metrics_apart {
                    metrics::endpoint::configure(cfg);
                }
            })
            .default_service(web::to(proxy::forward::mounted))
    })
    // A client that closes its side of the connection is gone: the response (and with it a
    // streaming upstream request, which then stops generating and billing) is dropped at once,
    // rather than at the next write that fails.
    .h1_allow_half_closed(false)
    // Signals are Forge's own (`Forge::run`): readiness turns 503 before the listener closes,
    // and open streams get an error event at the end of the grace period, a few seconds
    // before actix would drop their connections.
    .disable_signals()
    .shutdown_timeout(settings.shutdown_grace_secs.saturating_add(5));
    if let Some(workers) = settings.workers {
        server = server.workers(workers.max(1));
    }
    let addr = listener.local_addr()?;
    let server = server.listen(listener)?;
    let (metrics_server, metrics_addr) = match settings.metrics_bind {
        Some(bind) => {
            let store = web::Data::new(state.store.clone());
            let (server, addr) =
                metrics::endpoint::listener(bind, access, lifecycle.clone(), store)?;
            (Some(server), Some(addr))
        }
        None => (None, None),
    };
    let server = server.run();
    // The real workers accept on the socket now; the placeholder lets go of it.
    starting.finish().await;
    Ok(Forge {
        addr,
        server,
        state,
        flusher,
        log_flusher,
        lifecycle,
        metrics_server,
        metrics_addr,
        traces,
    })
}

/// The proxy routes' narrow handle, from the same shared parts as the admin API's state.
fn proxy_handle(state: &AppState) -> Proxy {
    Proxy {
        auth: web::Data::new(Authenticator {
            routing: state.routing.clone(),
            keys: state.keys.clone(),
            last_used: state.last_used.clone(),
            store: state.store.clone(),
            secret_box: state.secret_box.clone(),
        }),
        routing: state.routing.clone(),
        limits: state.limits.clone(),
        usage: state.usage.clone(),
        logs: state.logs.clone(),
        pricing: state.pricing.clone(),
        store: state.store.clone(),
        models: state.models.clone(),
        max_body_bytes: state.settings.max_body_bytes,
    }
}

async fn purge_stored_responses(state: &AppState) {
    let days = i64::from(state.settings.responses_retention_days);
    let Some(cutoff) = chrono::Duration::try_days(days)
        .and_then(|d| chrono::Utc::now().naive_utc().checked_sub_signed(d))
    else {
        return;
    };
    match state.store.delete_responses_before(cutoff).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(deleted = n, "purged stored responses past retention"),
        Err(e) => tracing::warn!(error = %e, "could not purge stored responses"),
    }
}

impl Forge {
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// What SIGTERM does: report not-ready, stop accepting, let in-flight work run for the
    /// grace period, then end the streams still open.
    pub fn drainer(&self) -> shutdown::Drainer {
        shutdown::Drainer::new(
            self.lifecycle.clone(),
            self.server.handle(),
            Duration::from_secs(self.state.settings.shutdown_grace_secs),
        )
    }

    /// Serves until the server is stopped (SIGINT/SIGTERM or a handle), then flushes buffers.
    pub async fn run(self) -> std::io::Result<()> {
        let state = self.state.clone();
        let flusher = actix_rt::spawn(async move {
            let mut tick = tokio::time::interval(FLUSH_EVERY);
            let mut purged_at: Option<std::time::Instant> = None;
            loop {
                tick.tick().await;
                state.last_used.flush(&state.store).await;
                if purged_at.is_none_or(|at| at.elapsed() >= PURGE_EVERY) {
                    purged_at = Some(std::time::Instant::now());
                    purge_stored_responses(&state).await;
                    logs::purge_expired(&state.store, &state.routing).await;
                }
            }
        });
        let watcher =
            self.state.settings.config.clone().map(|path| {
                actix_rt::spawn(routing::reload::watch(self.state.routing.clone(), path))
            });
        let checks = actix_rt::spawn(routing::health_check::run(
            self.state.routing.clone(),
            Transport::new(
                self.state.settings.timeouts(),
                self.state.settings.allow_private_upstreams,
                self.lifecycle.worker(),
            ),
        ));
        let listener = self
            .state
            .settings
            .redis_url
            .clone()
            .filter(|u| !u.trim().is_empty())
            .map(|url| {
                let channel = self.state.invalidation.channel().to_owned();
                actix_rt::spawn(auth::invalidation::listen(self.state.clone(), channel, url))
            });
        let drainer = self.drainer();
        let signals = actix_rt::spawn(async move {
            shutdown::signal().await;
            drainer.drain().await;
        });
        self.lifecycle.serving();
        let (stop_usage, usage_stopped) = tokio::sync::oneshot::channel();
        let usage = actix_rt::spawn(self.flusher.run(usage_stopped));
        let (stop_logs, logs_stopped) = tokio::sync::oneshot::channel();
        let request_logs = actix_rt::spawn(self.log_flusher.run(logs_stopped));
        let metrics_server = self.metrics_server.map(|server| {
            let handle = server.handle();
            (actix_rt::spawn(server), handle)
        });
        let result = self.server.await;
        // The metrics listener served through the drain; it closes with the server.
        if let Some((task, handle)) = metrics_server {
            handle.stop(false).await;
            let _ = task.await;
        }
        // Every connection is closed now: what is queued is all there will be.
        let _ = stop_usage.send(());
        if let Err(e) = usage.await {
            tracing::error!(error = %e, "usage flusher failed");
        }
        let _ = stop_logs.send(());
        if let Err(e) = request_logs.await {
            tracing::error!(error = %e, "request log flusher failed");
        }
        flusher.abort();
        signals.abort();
        if let Some(watcher) = watcher {
            watcher.abort();
        }
        checks.abort();
        if let Some(listener) = listener {
            listener.abort();
        }
        self.state.last_used.flush(&self.state.store).await;
        // The exporter's batch is sent from its own thread, which may need this runtime (gRPC).
        let traces = self.traces.clone();
        let _ = actix_rt::task::spawn_blocking(move || traces.shutdown()).await;
        result
    }
}
