//! forge.toml routing end to end: the real server started from a config file alone, in front of
//! fake upstreams with injected faults.

mod admin;
mod balance;
pub mod common;
mod failover;
mod from_file;
mod reload;
mod streaming;
