//! Backend selection, connection pools and migrations.

mod sqlite_offload;

use std::path::Path;
use std::time::Duration;

use diesel::{Connection, SqliteConnection};
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::bb8::Pool;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::StorageError;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Set on every SQLite connection: WAL lets readers run beside the one writer, the busy
/// timeout makes writers queue instead of failing, and foreign keys are off by default.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;";

pub(crate) use sqlite_offload::{SqliteConn, run_detached};

pub(crate) enum Db {
    Pg(Pool<AsyncPgConnection>),
    Sqlite(Pool<SqliteConn>),
}

/// A database URL after parsing: which backend, and what to hand to it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Target {
    Postgres(String),
    Sqlite(String),
}

impl Target {
    pub(crate) fn parse(url: &str) -> Result<Target, StorageError> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Target::Postgres(url.to_owned()));
        }
        let path = if let Some(rest) = url.strip_prefix("sqlite://") {
            rest
        } else if let Some(rest) = url.strip_prefix("sqlite:") {
            rest
        } else if let Some((scheme, _)) = url.split_once("://") {
            return Err(StorageError::Url(format!(
                "unsupported scheme {scheme:?}: use sqlite:// or postgres://"
            )));
        } else {
            url
        };
        // sqlx-style options such as `?mode=rwc` mean nothing to diesel: drop them.
        let path = path.split_once('?').map_or(path, |(p, _)| p);
        if path.is_empty() {
            return Err(StorageError::Url("empty sqlite path".to_owned()));
        }
        Ok(Target::Sqlite(path.to_owned()))
    }
}

pub(crate) async fn connect(target: &Target) -> Result<Db, StorageError> {
    match target {
        Target::Postgres(url) => {
            let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(url.as_str());
            let pool = Pool::builder()
                .max_size(16)
                .connection_timeout(Duration::from_secs(10))
                .build(manager)
                .await
                .map_err(|e| StorageError::Pool(e.to_string()))?;
            Ok(Db::Pg(pool))
        }
        Target::Sqlite(path) => {
            let mut config = ManagerConfig::<SqliteConn>::default();
            // A file-backed connection does not go stale: skip the `SELECT 1` per checkout.
            config.recycling_method = RecyclingMethod::Fast;
            config.custom_setup =
                Box::new(|path| Box::pin(sqlite_offload::open(path.to_owned(), SQLITE_PRAGMAS)));
            let manager =
                AsyncDieselConnectionManager::<SqliteConn>::new_with_config(path.as_str(), config);
            // An in-memory database exists per connection: one connection keeps one database.
            let size = if path.contains(":memory:") { 1 } else { 8 };
            let pool = Pool::builder()
                .max_size(size)
                .connection_timeout(Duration::from_secs(10))
                .build(manager)
                .await
                .map_err(|e| StorageError::Pool(e.to_string()))?;
            Ok(Db::Sqlite(pool))
        }
    }
}

pub(crate) fn run_migrations(target: &Target) -> Result<(), StorageError> {
    match target {
        Target::Sqlite(path) => migrate_sqlite(path),
        Target::Postgres(url) => {
            // AsyncConnectionWrapper blocks on the ambient tokio runtime if there is one,
            // which deadlocks or panics on a current-thread runtime; a plain thread has none,
            // so the wrapper brings its own.
            let url = url.clone();
            std::thread::spawn(move || migrate_pg(&url))
                .join()
                .map_err(|_| StorageError::Migration("migration thread panicked".to_owned()))?
        }
    }
}

fn migrate_sqlite(path: &str) -> Result<(), StorageError> {
    let on_disk = !path.contains(":memory:") && !path.starts_with("file:");
    if let Some(parent) = Path::new(path)
        .parent()
        .filter(|p| on_disk && !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)
            .map_err(|e| StorageError::Migration(format!("create {}: {e}", parent.display())))?;
    }
    let mut conn = SqliteConnection::establish(path)
        .map_err(|e| StorageError::Migration(format!("open sqlite database: {e}")))?;
    diesel::connection::SimpleConnection::batch_execute(&mut conn, SQLITE_PRAGMAS)
        .map_err(|e| StorageError::Migration(e.to_string()))?;
    conn.run_pending_migrations(SQLITE_MIGRATIONS)
        .map_err(|e| StorageError::Migration(e.to_string()))?;
    Ok(())
}

fn migrate_pg(url: &str) -> Result<(), StorageError> {
    let mut conn = <AsyncConnectionWrapper<AsyncPgConnection> as Connection>::establish(url)
        .map_err(|e| StorageError::Migration(format!("connect to postgres: {e}")))?;
    conn.run_pending_migrations(PG_MIGRATIONS)
        .map_err(|e| StorageError::Migration(e.to_string()))?;
    Ok(())
}

/// Statements that differ between the backends, called from inside `with_conn!` bodies.
pub(crate) trait Dialect {
    /// Serialises user creation so "is this the first user?" is decided atomically. SQLite
    /// needs nothing: the insert that precedes the check takes its single write lock.
    fn lock_users(&mut self) -> impl Future<Output = diesel::QueryResult<()>> + Send;
}

impl Dialect for AsyncPgConnection {
    async fn lock_users(&mut self) -> diesel::QueryResult<()> {
        diesel::sql_query("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
            .execute(self)
            .await
            .map(|_| ())
    }
}

impl Dialect for SqliteConn {
    async fn lock_users(&mut self) -> diesel::QueryResult<()> {
        Ok(())
    }
}

pub(crate) fn pool_error(err: impl std::fmt::Display) -> StorageError {
    StorageError::Pool(err.to_string())
}

/// Runs `$body` with `$conn` bound to a pooled connection of whichever backend `$db` holds.
/// The body is expanded once per backend, so it is type-checked against both.
///
/// On SQLite the body is moved to a blocking thread (see `sqlite_offload`) so that dropping
/// the caller's future cannot interrupt it: it must capture only owned (`'static`) values,
/// and `return` inside it ends the body, which is why `with_conn!` ends every method.
/// PostgreSQL runs it in place: a dropped future there drops the connection mid-transaction,
/// the pool discards it as broken, and the server rolls the transaction back.
macro_rules! with_conn {
    ($db:expr, |$conn:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Pg(pool) => {
                let mut guard = pool.get().await.map_err($crate::db::pool_error)?;
                let $conn = &mut *guard;
                $body
            }
            $crate::db::Db::Sqlite(pool) => {
                let guard = pool.get_owned().await.map_err($crate::db::pool_error)?;
                $crate::db::run_detached(guard, async move |$conn: &mut $crate::db::SqliteConn| {
                    $body
                })
                .await
            }
        }
    };
}

pub(crate) use with_conn;

#[cfg(test)]
mod tests {
    use super::Target;

    #[test]
    fn parses_urls() {
        let pg = |s: &str| Ok(Target::Postgres(s.to_owned()));
        let lite = |s: &str| Ok(Target::Sqlite(s.to_owned()));
        assert_eq!(
            Target::parse("postgres://u@h/db").map_err(|e| e.to_string()),
            pg("postgres://u@h/db")
        );
        assert_eq!(
            Target::parse("postgresql://h/db").map_err(|e| e.to_string()),
            pg("postgresql://h/db")
        );
        assert_eq!(
            Target::parse("sqlite://data/forge.db").map_err(|e| e.to_string()),
            lite("data/forge.db")
        );
        assert_eq!(
            Target::parse("sqlite:///tmp/f.db").map_err(|e| e.to_string()),
            lite("/tmp/f.db")
        );
        assert_eq!(
            Target::parse("sqlite:f.db?mode=rwc").map_err(|e| e.to_string()),
            lite("f.db")
        );
        assert_eq!(
            Target::parse("./f.db").map_err(|e| e.to_string()),
            lite("./f.db")
        );
        assert!(Target::parse("mysql://h/db").is_err());
        assert!(Target::parse("sqlite://").is_err());
    }
}
