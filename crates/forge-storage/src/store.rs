//! [`Store`]: the handle the server keeps. Repositories live in the submodules.

mod forge_keys;
pub(crate) mod limits;
pub(crate) mod logs;
mod meta;
mod provider_keys;
mod responses;
pub(crate) mod upstream_objects;
pub(crate) mod usage;
mod users;

use std::sync::Arc;

use diesel_async::SimpleAsyncConnection;

use crate::StorageError;
use crate::db::{self, Db, Target, with_conn};

/// Cheap to clone: one shared pool behind an `Arc`.
#[derive(Clone)]
pub struct Store {
    db: Arc<Db>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend_name())
            .finish()
    }
}

impl Store {
    /// Applies pending embedded migrations. Blocking: call it before the server starts or
    /// from `spawn_blocking`. Creates the SQLite file's parent directory.
    pub fn run_migrations(url: &str) -> Result<(), StorageError> {
        db::run_migrations(&Target::parse(url)?)
    }

    /// Opens a pool for `sqlite://path`, `sqlite:path`, a bare path, or a `postgres://` /
    /// `postgresql://` URL, and checks that one connection works.
    pub async fn connect(url: &str) -> Result<Store, StorageError> {
        let store = Store {
            db: Arc::new(db::connect(&Target::parse(url)?).await?),
        };
        store.ping().await?;
        Ok(store)
    }

    pub fn backend_name(&self) -> &'static str {
        match *self.db {
            Db::Pg(_) => "postgres",
            Db::Sqlite(_) => "sqlite",
        }
    }

    pub async fn ping(&self) -> Result<(), StorageError> {
        with_conn!(&*self.db, |conn| {
            conn.batch_execute("SELECT 1")
                .await
                .map_err(|e| StorageError::Pool(e.to_string()))
        })
    }

    /// The connection pool's state now (for metrics).
    pub fn pool_stats(&self) -> PoolStats {
        let state = match &*self.db {
            Db::Pg(pool) => pool.state(),
            Db::Sqlite(pool) => pool.state(),
        };
        let s = &state.statistics;
        PoolStats {
            connections: state.connections,
            idle: state.idle_connections,
            gets: s.get_direct + s.get_waited + s.get_timed_out,
            waited: s.get_waited,
            timed_out: s.get_timed_out,
            wait_seconds: s.get_wait_time.as_secs_f64(),
        }
    }

    fn db(&self) -> &Db {
        &self.db
    }
}

/// A snapshot of the connection pool: open and idle connections now, and since start how
/// many checkouts there were, how many had to wait or gave up, and the time spent waiting.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PoolStats {
    pub connections: u32,
    pub idle: u32,
    pub gets: u64,
    pub waited: u64,
    pub timed_out: u64,
    pub wait_seconds: f64,
}
