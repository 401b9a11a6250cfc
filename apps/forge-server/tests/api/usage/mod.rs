//! Usage accounting end to end: records settled once per attempt, totals equal to what the
//! upstreams reported, nothing lost on shutdown or while the database is down.

mod accounting;
pub mod common;
mod drain;
mod durability;
mod killed;
pub mod process;
