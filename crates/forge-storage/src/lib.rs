//! Persistence (SQLite or PostgreSQL) and secrets at rest for Forge.
//!
//! One `table!` schema serves both backends: diesel-async has no multi-backend connection, so
//! [`Store`] holds one pool of either kind and every query is written once and expanded for
//! both (see `db::with_conn!`). On SQLite each query body runs on a blocking thread and
//! finishes even if the caller's future is dropped (see `db::sqlite_offload`). Migrations
//! are embedded and run synchronously by [`Store::run_migrations`], because diesel's async
//! migration harness panics on a single-threaded runtime such as actix's.

mod db;
mod error;
mod redact;
mod rows;
mod schema;
mod store;
mod usage_insert;
mod usage_rows;
mod usage_sql;

pub mod apikey;
pub mod crypto;
pub mod models;
pub mod password;
pub mod testing;

pub use error::StorageError;
pub use models::*;
pub use store::limits::{
    AuthLimits, BudgetLimit, BudgetPeriod, LimitScope, LimitSettings, LimitValues,
};
pub use store::logs::{LogCursor, LogFilter, RequestLog};
pub use store::upstream_objects::{ObjectOwner, UpstreamObject};
pub use store::usage::{UsageFilter, UsageGroup, UsageTotals};
pub use store::{PoolStats, Store};
