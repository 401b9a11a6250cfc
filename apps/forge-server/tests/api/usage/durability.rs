//! No record is lost: not on a graceful shutdown with requests in flight, not while the
//! database is unreachable (records are journaled and replayed, once each).

use std::process::Command;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::join_all;

use super::common::*;
use crate::harness::{Backend, PG_ADMIN_URL, TestServer, client};
use crate::on_both_backends;
use crate::routing::common::{KEY, chat_body, openai, openai_provider, static_key};

fn config(oa: &forge_testkit::FakeOpenAi) -> String {
    format!(
        "{}{}[models.m]\ndeployments = [{{ provider = \"oa\", model = \"gpt-4o-mini\" }}]\n",
        openai_provider("oa", oa),
        static_key(),
    )
}

fn psql(sql: &str) {
    let out = Command::new("psql")
        .args([PG_ADMIN_URL, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn a_graceful_shutdown_loses_no_record_of_requests_in_flight(backend: Backend) {
    let oa = openai();
    let mut server = TestServer::start_with_config_on(backend, &config(&oa)).await;
    let c = client();
    oa.set_fault(
        forge_testkit::Fault::ChunkDelay(100),
        forge_testkit::FaultMode::Always,
    );
    let n = 12;
    let url = server.url("/v1/chat/completions");
    let streams = join_all((0..n).map(|i| {
        let c = c.clone();
        let url = url.clone();
        async move {
            let resp = c
                .post(url)
                .insert_header(("authorization", format!("Bearer {KEY}")))
                .send_json(&chat_body("m", i % 2 == 0))
                .await
                .unwrap();
            let mut body = resp;
            let mut text = Vec::new();
            while let Some(Ok(chunk)) = body.next().await {
                text.extend_from_slice(&chunk);
            }
            text
        }
    }));
    let stop = async {
        // All requests reached the upstream, which holds each for 500 ms: stop now.
        let started = std::time::Instant::now();
        while oa.request_count() < n {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "requests never arrived"
            );
            actix_rt::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(oa.in_flight() > 0);
        server.stop().await;
    };
    let (bodies, ()) = futures_util::future::join(streams, stop).await;
    assert!(bodies.iter().all(|b| !b.is_empty()));
    let found = records(&server).await;
    assert_eq!(found.len(), n, "records lost on shutdown");
}

#[actix_rt::test]
async fn records_made_while_the_database_is_down_are_journaled_and_replayed_once() {
    let oa = openai();
    let server = TestServer::start_with_config_on(Backend::Postgres, &config(&oa)).await;
    let c = client();
    let db = server.database_url.rsplit('/').next().unwrap().to_owned();
    psql(&format!("ALTER DATABASE \"{db}\" ALLOW_CONNECTIONS false"));
    psql(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'"
    ));
    // Static keys need no database: the proxy serves on while records pile up.
    let n = 300;
    let replies = crate::routing::common::chats(&c, &server, "m", n, 10).await;
    assert!(replies.iter().all(|r| r.status == 200));
    let journaled = || {
        server.data_dir.join("usage-journal.jsonl").exists()
            || server.data_dir.join("usage-journal.replay.jsonl").exists()
    };
    let started = std::time::Instant::now();
    while !journaled() {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "nothing was journaled"
        );
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
    psql(&format!("ALTER DATABASE \"{db}\" ALLOW_CONNECTIONS true"));
    let found = wait_for(&server, n).await;
    assert_eq!(
        found.len(),
        n,
        "lost or duplicated while the database was down"
    );
    // Replayed again (as after a crash mid-replay): still no duplicate.
    let store = forge_storage::Store::connect(&server.database_url)
        .await
        .unwrap();
    assert_eq!(store.insert_usage(found.clone()).await.unwrap(), 0);
    assert_eq!(records(&server).await.len(), n);
}

on_both_backends!(a_graceful_shutdown_loses_no_record_of_requests_in_flight);
