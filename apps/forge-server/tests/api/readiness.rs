//! `/health/ready` through start-up and a database outage, on a real process and a real
//! PostgreSQL database: 503 while migrations run (not a refused connection), 200 once
//! serving, 503 while the database is unreachable, 200 again when it is back.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use forge_storage::testing::{PgSession, drop_postgres, scratch_postgres, set_reachable};
use serde_json::Value;

use crate::harness::{PG_ADMIN_URL, client, free_port, scratch_dir};
use crate::usage::process::{log, spawn, terminate, wait_alive, wait_exit};

/// Status and JSON body of a GET.
async fn get(url: &str) -> (u16, Value) {
    let mut res = client().get(url).send().await.unwrap();
    let body = res.body().await.unwrap();
    (
        res.status().as_u16(),
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

/// Polls `/health/ready` until it answers `status`; its body.
async fn ready_becomes(base: &str, status: u16, dir: &std::path::Path) -> Value {
    let started = Instant::now();
    loop {
        let (got, body) = get(&format!("{base}/health/ready")).await;
        if got == status {
            return body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "readiness stayed {got} {body}, wanted {status}; log:\n{}",
            log(dir)
        );
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
}

#[actix_rt::test]
async fn ready_is_503_while_migrating_and_while_the_database_is_unreachable() {
    let url = scratch_postgres(PG_ADMIN_URL).await.unwrap();
    let dir = scratch_dir();
    let config = dir.join("forge.toml");
    std::fs::write(&config, "").unwrap();

    // The schema exists; the server's own migration check then waits on a lock held here,
    // as it would behind a long migration another instance runs.
    let migrated = Command::new(env!("CARGO_BIN_EXE_forge-server"))
        .arg("migrate")
        .env("DATABASE_URL", &url)
        .env("FORGE_DATA_DIR", &dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(migrated.success());
    let mut lock = PgSession::open(&url).await.unwrap();
    lock.execute("BEGIN; LOCK TABLE __diesel_schema_migrations IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = spawn(&dir, &config, port, &[("DATABASE_URL", &url)]);
    wait_alive(&base).await;
    let body = ready_becomes(&base, 503, &dir).await;
    assert_eq!(body["reason"], "migrating", "{body}");
    // Anything else is refused with a JSON error both kinds of client read.
    let mut res = client()
        .get(format!("{base}/v1/models"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 503);
    assert_eq!(res.headers().get("retry-after").unwrap(), "1");
    let body: Value = serde_json::from_slice(&res.body().await.unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "starting", "{body}");
    assert!(body["detail"].as_str().unwrap().contains("migrations"));

    lock.execute("COMMIT").await.unwrap();
    let body = ready_becomes(&base, 200, &dir).await;
    assert_eq!(body["status"], "ready");
    // The real server answers now: an unauthenticated call is a 401, not a 503.
    let (status, _) = get(&format!("{base}/v1/models")).await;
    assert_eq!(status, 401);

    set_reachable(PG_ADMIN_URL, &url, false).await.unwrap();
    let body = ready_becomes(&base, 503, &dir).await;
    assert_eq!(body["reason"], "database_unreachable", "{body}");
    // Liveness is not readiness: the process is fine.
    assert_eq!(get(&format!("{base}/health")).await.0, 200);

    set_reachable(PG_ADMIN_URL, &url, true).await.unwrap();
    ready_becomes(&base, 200, &dir).await;

    terminate(&child);
    assert!(wait_exit(&mut child, Duration::from_secs(30)).success());
    drop(lock);
    drop_postgres(PG_ADMIN_URL, &url).await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
