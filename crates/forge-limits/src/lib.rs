//! Rate limits and budgets for the Forge gateway, without I/O.
//!
//! Every operation takes the time (`now_ms`, Unix milliseconds) as a parameter, so tests are
//! exact and the server decides where time comes from. Two backends enforce the same rules:
//! [`LocalLimiter`] for one replica, and [`redis_scripts`] (Lua run by the server's Redis
//! connection) for several; the integration tests run both through the same scenarios.
//!
//! A request is admitted against per-scope [`LimitSpec`]s (RPM, TPM, concurrency) and
//! [`BudgetSpec`]s (spend/tokens per UTC day, month or total) in one all-or-nothing step that
//! reserves its estimate ([`Reservation`]); streaming adds output tokens as they arrive, the
//! end of the request settles to the real [`Usage`] and releases the concurrency slot. A
//! refusal is a [`Rejection`] naming the first limit that failed, with `retry_after` and the
//! gauges for OpenAI's `x-ratelimit-*` [`headers`].

mod budget;
mod concurrency;
pub mod headers;
mod local;
pub mod period;
mod plan;
pub mod redis_scripts;
mod rejection;
mod scope;
mod snapshot;
pub mod spec;
mod ticket;
pub mod window;

pub use local::LocalLimiter;
pub use rejection::{CONCURRENCY_RETRY_MS, LimitKind, Rejection};
pub use snapshot::{Gauge, RateSnapshot};
pub use spec::{BudgetSpec, LimitSpec, Period, Scope, ScopeParseError};
pub use ticket::{DEFAULT_LEASE_MS, Reservation, Ticket, Usage};
pub use window::{Denied, Dimension, Window};
