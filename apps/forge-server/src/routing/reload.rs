//! Loading forge.toml and watching it. The file is polled (a small read twice a second) and
//! compared by content digest, which is simpler and more reliable than mtime or inotify across
//! editors that replace files and filesystems with coarse timestamps. A file that fails
//! validation is logged and ignored: the previous configuration keeps serving.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use forge_router::Config;
use sha2::{Digest, Sha256};

use crate::routing::Routing;

/// How often the file is checked; the bound on how long a change takes to apply.
pub const POLL_EVERY: Duration = Duration::from_millis(250);

/// Reads and validates a forge.toml; `env:` references come from the process environment.
pub fn load(path: &Path) -> Result<Config, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Config::parse(&text, &|var| std::env::var(var).ok())
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn digest(path: &Path) -> Option<[u8; 32]> {
    std::fs::read(path)
        .ok()
        .map(|bytes| Sha256::digest(&bytes).into())
}

/// Polls `path` and applies each new valid version. Runs until the task is dropped.
pub async fn watch(routing: Arc<Routing>, path: PathBuf) {
    let mut seen = digest(&path);
    let mut tick = tokio::time::interval(POLL_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = digest(&path);
        if now.is_none() || now == seen {
            continue;
        }
        seen = now;
        let file = path.clone();
        let loaded = tokio::task::spawn_blocking(move || load(&file)).await;
        match loaded {
            Ok(Ok(config)) => {
                let before = routing.snapshot();
                if before.config.server != config.server {
                    tracing::warn!("the [server] table changed; it applies at the next restart");
                }
                routing.apply(config);
                let after = routing.snapshot();
                tracing::info!(
                    path = %path.display(),
                    routes = after.table.routes().count(),
                    deployments = after.table.deployments().len(),
                    "configuration reloaded"
                );
            }
            Ok(Err(error)) => {
                tracing::error!(%error, "configuration rejected; the previous one keeps serving");
            }
            Err(e) => tracing::error!(error = %e, "configuration reload task failed"),
        }
    }
}
