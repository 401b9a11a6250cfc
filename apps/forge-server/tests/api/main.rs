//! Integration tests: the real server over HTTP, against fake upstreams that are real HTTP
//! servers on 127.0.0.1, on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin_accounts;
mod admin_api_keys;
mod admin_provider_keys;
mod azure;
mod cohere;
mod cors;
mod disconnect;
mod discovery;
mod encryption_key;
mod files_batches;
mod harness;
mod limits;
mod logs;
mod matrix;
mod metrics;
mod mock_provider;
mod openapi;
mod passthrough;
mod proxy;
mod readiness;
mod responses_api;
mod routing;
mod stats;
mod stream_end;
mod uploads;
mod usage;
