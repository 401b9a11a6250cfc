#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use forge_core::Error;
use forge_router::{Config, Router, RoutingTable};
use rand::SeedableRng;
use rand::rngs::SmallRng;

pub fn no_env(_: &str) -> Option<String> {
    None
}

pub fn fake_env(var: &str) -> Option<String> {
    Some(format!("secret-value-of-{var}"))
}

pub fn config(text: &str) -> Config {
    Config::parse(text, &fake_env).unwrap()
}

pub fn table(text: &str) -> Arc<RoutingTable> {
    Arc::new(RoutingTable::from_config(&config(text)))
}

pub fn router(text: &str) -> Router {
    let config = config(text);
    Router::new(
        Arc::new(RoutingTable::from_config(&config)),
        &config.routing,
    )
}

pub fn rng(seed: u64) -> SmallRng {
    SmallRng::seed_from_u64(seed)
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Two providers `a` and `b` with one key each, and model `m` over both.
pub fn two_deployments(strategy: &str, extra: &str) -> String {
    format!(
        r#"
[[providers]]
name = "a"
kind = "openai-compatible"
base_url = "http://a.test/v1"
keys = [{{ key = "ka" }}]

[[providers]]
name = "b"
kind = "openai-compatible"
base_url = "http://b.test/v1"
keys = [{{ key = "kb" }}]

[models.m]
strategy = "{strategy}"
{extra}
deployments = [{{ provider = "a", model = "x" }}, {{ provider = "b", model = "x" }}]
"#
    )
}

pub fn upstream(status: u16, retry_after: Option<u64>) -> Error {
    Error::Upstream {
        provider: "p".into(),
        status,
        message: "boom".into(),
        retry_after,
        error_type: None,
        code: None,
    }
}

/// The deployment id (`provider/model#key`) behind a table index.
pub fn id(router: &Router, deployment: usize) -> String {
    router.table().deployment(deployment).unwrap().id.clone()
}

pub fn start() -> Instant {
    Instant::now()
}
