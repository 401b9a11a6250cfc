//! Scratch databases for tests in this and other crates, so tests can run in parallel.

use std::sync::atomic::{AtomicU64, Ordering};

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};

use crate::StorageError;

const PG_PREFIX: &str = "forge_t_";

fn random_hex() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        // Uniqueness, not secrecy, is what matters here.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let n =
            nanos ^ u64::from(std::process::id()) << 32 ^ COUNTER.fetch_add(1, Ordering::Relaxed);
        bytes = n.to_le_bytes();
    }
    hex::encode(bytes)
}

/// Creates `forge_t_<random hex>` on the server of `admin_url` and returns its URL.
pub async fn scratch_postgres(admin_url: &str) -> Result<String, StorageError> {
    let name = format!("{PG_PREFIX}{}", random_hex());
    let mut conn = AsyncPgConnection::establish(admin_url)
        .await
        .map_err(|e| StorageError::Pool(e.to_string()))?;
    conn.batch_execute(&format!("CREATE DATABASE {name}"))
        .await?;
    Ok(with_database(admin_url, &name))
}

/// Drops a database made by [`scratch_postgres`], closing its connections. Best effort: it
/// refuses names it did not make, and reports but does not retry failures.
pub async fn drop_postgres(admin_url: &str, url: &str) -> Result<(), StorageError> {
    let name = database_name(url);
    if !is_scratch(name) {
        return Err(StorageError::Url("not a scratch database".to_owned()));
    }
    let mut conn = AsyncPgConnection::establish(admin_url)
        .await
        .map_err(|e| StorageError::Pool(e.to_string()))?;
    conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await?;
    Ok(())
}

/// A PostgreSQL session a test holds open, to run statements of its own (hold a lock
/// across another process's work, end connections).
pub struct PgSession(AsyncPgConnection);

impl PgSession {
    pub async fn open(url: &str) -> Result<PgSession, StorageError> {
        AsyncPgConnection::establish(url)
            .await
            .map(PgSession)
            .map_err(|e| StorageError::Pool(e.to_string()))
    }

    /// Runs `sql` (one or more statements; rows are discarded).
    pub async fn execute(&mut self, sql: &str) -> Result<(), StorageError> {
        Ok(self.0.batch_execute(sql).await?)
    }
}

/// Makes a scratch database unreachable, as when its server goes away (new connections
/// refused, open ones ended), or reachable again.
pub async fn set_reachable(
    admin_url: &str,
    url: &str,
    reachable: bool,
) -> Result<(), StorageError> {
    let name = database_name(url);
    if !is_scratch(name) {
        return Err(StorageError::Url("not a scratch database".to_owned()));
    }
    let mut admin = PgSession::open(admin_url).await?;
    admin
        .execute(&format!(
            "ALTER DATABASE {name} ALLOW_CONNECTIONS {reachable}"
        ))
        .await?;
    if !reachable {
        admin
            .execute(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            ))
            .await?;
    }
    Ok(())
}

fn is_scratch(name: &str) -> bool {
    name.starts_with(PG_PREFIX)
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A path under the temp dir that does not exist yet.
pub fn scratch_sqlite_url() -> String {
    std::env::temp_dir()
        .join(format!("forge-t-{}.db", random_hex()))
        .to_string_lossy()
        .into_owned()
}

/// `url` with its database (path) replaced by `name`, keeping any `?query`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

fn database_name(url: &str) -> &str {
    let base = url.split_once('?').map_or(url, |(b, _)| b);
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    match base[authority_start..].find('/') {
        Some(slash) => &base[authority_start + slash + 1..],
        None => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_database() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://h?sslmode=disable", "x"),
            "postgres://h/x?sslmode=disable"
        );
        assert_eq!(database_name("postgres://h:1/forge_t_ab?x=y"), "forge_t_ab");
        assert_eq!(database_name("postgres://h"), "");
    }

    #[test]
    fn sqlite_urls_are_fresh() {
        assert_ne!(scratch_sqlite_url(), scratch_sqlite_url());
    }
}
