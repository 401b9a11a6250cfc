//! A forge-server process of its own (for signals: SIGKILL, SIGTERM), and its records read
//! back from its data directory.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::client;

/// Starts the binary on `port` with `config` and `dir`, plus `env`.
pub fn spawn(dir: &Path, config: &Path, port: u16, env: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_forge-server"));
    cmd.env("FORGE_BIND", format!("127.0.0.1:{port}"))
        .env("FORGE_CONFIG", config)
        .env("FORGE_DATA_DIR", dir)
        .env("FORGE_ALLOW_PRIVATE_UPSTREAMS", "true")
        .env("FORGE_WORKERS", "1")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(
            std::fs::File::create(dir.join("forge-server.log"))
                .map(Stdio::from)
                .unwrap_or_else(|_| Stdio::null()),
        );
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd.spawn().unwrap()
}

/// Waits until the server is ready (the port opens earlier: a placeholder answers while
/// migrations run).
pub async fn wait_up(base: &str) {
    wait_for(base, "/health/ready").await;
}

/// Waits until the process answers at all (`/health`, which the placeholder serves too).
pub async fn wait_alive(base: &str) {
    wait_for(base, "/health").await;
}

async fn wait_for(base: &str, path: &str) {
    let c = client();
    let started = Instant::now();
    while !c
        .get(format!("{base}{path}"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(started.elapsed() < Duration::from_secs(20), "never came up");
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How many usage records the data directory's database holds.
pub async fn stored(dir: &Path) -> usize {
    records(dir).await.len()
}

pub async fn records(dir: &Path) -> Vec<forge_core::usage_record::UsageRecord> {
    let url = format!("sqlite://{}", dir.join("forge.db").display());
    let store = forge_storage::Store::connect(&url).await.unwrap();
    store
        .usage_records(forge_storage::UsageFilter::default())
        .await
        .unwrap()
}

/// What the process logged (for failure messages).
pub fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("forge-server.log")).unwrap_or_default()
}

/// Sends SIGTERM (as a service manager does).
pub fn terminate(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits for the process to exit, at most `limit`; its exit status.
pub fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("forge-server did not exit within {limit:?} of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
