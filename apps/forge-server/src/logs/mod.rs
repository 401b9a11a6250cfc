//! Opt-in request/response logging (`[logging]` in forge.toml; off by default). Whether a
//! request is logged is decided once, when it is dispatched, from the configuration then in
//! force; each of its upstream attempts that reached a provider then yields one log, keyed by
//! the attempt's usage record id, with the request body and the answer (a stream's delivered
//! text). Headers are never stored. Bodies are redacted and cut to size off the request path,
//! then written in batches; logs past `retention_days` are purged hourly.

pub mod capture;
pub mod pending;
pub mod redact;
pub mod sink;

use forge_storage::{StorageError, Store};

pub use capture::{Capture, Plan, keep_request_body, plan};
pub use sink::{LogFlusher, LogSink};

use crate::routing::Routing;

/// Deletes logs that started more than `retention_days` before `now_ms`.
pub async fn purge(store: &Store, retention_days: u32, now_ms: i64) -> Result<usize, StorageError> {
    let cutoff = now_ms.saturating_sub(i64::from(retention_days).saturating_mul(86_400_000));
    store.delete_request_logs_before(cutoff).await
}

/// The hourly retention pass, with the retention currently configured (logs stay subject to
/// it after logging is switched off).
pub async fn purge_expired(store: &Store, routing: &Routing) {
    let days = routing.snapshot().config.logging.retention_days;
    match purge(store, days, chrono::Utc::now().timestamp_millis()).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(deleted = n, "purged request logs past retention"),
        Err(e) => tracing::warn!(error = %e, "could not purge request logs"),
    }
}
