//! Graceful shutdown: on SIGTERM the streams already open run to their end (within the grace
//! period) and every one is recorded; a stream still open when the grace period runs out ends
//! with an error event, never as if it had finished.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use awc::Client;
use forge_testkit::{FakeOpenAi, FakeOpenAiConfig, Fault, FaultMode};

use super::process::{log, records, spawn, terminate, wait_exit, wait_up};
use crate::routing::common::{KEY, chat_body, key_digest, openai_provider};

/// A client without awc's default of 100 connections per host.
fn wide_client() -> Client {
    forge_server::install_crypto_provider();
    Client::builder()
        .connector(awc::Connector::new().limit(0))
        .timeout(Duration::from_secs(60))
        .finish()
}

fn config(dir: &Path, fake: &FakeOpenAi) -> PathBuf {
    let path = dir.join("forge.toml");
    std::fs::write(
        &path,
        format!(
            "{}[[keys]]\nname = \"tests\"\nkey = \"sha256:{}\"\n\n[models.m]\ndeployments = [{{ provider = \"oa\", model = \"gpt-4o-mini\" }}]\n",
            openai_provider("oa", fake),
            key_digest()
        ),
    )
    .unwrap();
    path
}

/// A forge-server process in front of `fake`, with `grace` seconds to drain.
struct Running {
    child: std::process::Child,
    dir: PathBuf,
    port: u16,
    base: String,
}

async fn start(fake: &FakeOpenAi, grace: &str) -> Running {
    let dir = crate::harness::scratch_dir();
    let config = config(&dir, fake);
    let port = crate::harness::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let child = spawn(&dir, &config, port, &[("FORGE_SHUTDOWN_GRACE_SECS", grace)]);
    wait_up(&base).await;
    Running {
        child,
        dir,
        port,
        base,
    }
}

/// Opens `n` streams and returns once every one is answered (200: the first content came and
/// the stream is committed), with tasks that read the rest of each body.
async fn open_streams(
    c: &Client,
    base: &str,
    n: usize,
) -> Vec<actix_rt::task::JoinHandle<(u16, String)>> {
    let (heads, mut answered) = tokio::sync::mpsc::unbounded_channel::<()>();
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let req = c
                .post(format!("{base}/v1/chat/completions"))
                .insert_header(("authorization", format!("Bearer {KEY}")));
            let heads = heads.clone();
            actix_rt::spawn(async move {
                let mut resp = req.send_json(&chat_body("m", true)).await.unwrap();
                let _ = heads.send(());
                let status = resp.status().as_u16();
                let body = resp.body().limit(1 << 20).await.unwrap_or_default();
                (status, String::from_utf8_lossy(&body).into_owned())
            })
        })
        .collect();
    let started = Instant::now();
    for opened in 0..n {
        let next = tokio::time::timeout(Duration::from_secs(30), answered.recv()).await;
        assert!(
            matches!(next, Ok(Some(()))),
            "only {opened} of {n} streams answered in {:?}",
            started.elapsed()
        );
    }
    tasks
}

#[actix_rt::test]
async fn sigterm_lets_200_open_streams_finish_and_records_each() {
    let fake = FakeOpenAi::start(FakeOpenAiConfig {
        stream_chunks: 10,
        ..FakeOpenAiConfig::default()
    });
    fake.set_fault(Fault::ChunkDelay(300), FaultMode::Always);
    let mut s = start(&fake, "30").await;
    let c = wide_client();
    let tasks = open_streams(&c, &s.base, 200).await;
    let signalled = Instant::now();
    terminate(&s.child);
    // Draining: no new connection is accepted.
    actix_rt::time::sleep(Duration::from_millis(300)).await;
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", s.port)).is_err(),
        "still accepting after SIGTERM"
    );
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(
            body.trim_end().ends_with("data: [DONE]"),
            "a stream did not finish: {body}"
        );
        assert!(!body.contains("shutting down"), "{body}");
    }
    let status = wait_exit(&mut s.child, Duration::from_secs(30));
    assert!(status.success(), "exit status {status}");
    assert!(signalled.elapsed() < Duration::from_secs(30));
    let records = records(&s.dir).await;
    assert_eq!(records.len(), 200, "one usage record per stream");
    assert!(
        records
            .iter()
            .all(|r| r.status == 200 && r.error_class.is_none() && !r.client_disconnected),
        "every stream recorded as complete"
    );
    assert!(records.iter().all(|r| r.output_tokens > 0));
    let _ = std::fs::remove_dir_all(&s.dir);
}

#[actix_rt::test]
async fn streams_open_past_the_grace_period_end_with_an_error_event() {
    let fake = FakeOpenAi::start(FakeOpenAiConfig::default());
    fake.set_fault(Fault::HangMidStream { after_chunks: 2 }, FaultMode::Always);
    let mut s = start(&fake, "1").await;
    let c = wide_client();
    let tasks = open_streams(&c, &s.base, 3).await;
    let signalled = Instant::now();
    terminate(&s.child);
    for task in tasks {
        let (status, body) = task.await.unwrap();
        let waited = signalled.elapsed();
        assert_eq!(status, 200, "{body}");
        assert!(
            !body.contains("[DONE]"),
            "a cut stream looked finished after {waited:?}: {body}"
        );
        let last = body
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("data: "))
            .unwrap_or_else(|| panic!("no event after {waited:?}: {body}\n{}", log(&s.dir)));
        let event: serde_json::Value = serde_json::from_str(last).unwrap();
        assert_eq!(
            event["error"]["message"],
            "Forge is shutting down: the stream was closed before it finished",
            "after {waited:?}: {body}\n{}",
            log(&s.dir)
        );
    }
    let waited = signalled.elapsed();
    // Not before the grace period: the end itself is asserted above (an error event, which
    // only Forge's close writes; actix's forced close would cut the stream bare).
    assert!(
        waited >= Duration::from_millis(900),
        "closed after {waited:?}"
    );
    let status = wait_exit(&mut s.child, Duration::from_secs(10));
    assert!(status.success(), "exit status {status}");
    let records = records(&s.dir).await;
    assert_eq!(records.len(), 3, "one usage record per stream");
    assert!(records.iter().all(|r| r.error_class.is_some()));
    let _ = std::fs::remove_dir_all(&s.dir);
}

#[actix_rt::test]
async fn requests_still_waiting_for_an_answer_at_the_end_of_the_grace_period_get_a_503() {
    let fake = FakeOpenAi::start(FakeOpenAiConfig::default());
    fake.set_fault(Fault::HangBeforeHeaders, FaultMode::Always);
    let mut s = start(&fake, "1").await;
    let c = wide_client();
    let tasks: Vec<_> = [false, true]
        .into_iter()
        .map(|stream| {
            let req = c
                .post(format!("{}/v1/chat/completions", s.base))
                .insert_header(("authorization", format!("Bearer {KEY}")));
            actix_rt::spawn(async move {
                let mut resp = req.send_json(&chat_body("m", stream)).await.unwrap();
                let body = resp.body().await.unwrap_or_default();
                (resp.status().as_u16(), body)
            })
        })
        .collect();
    // Both requests are at the upstream, which never answers.
    let started = Instant::now();
    while fake.request_count() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "requests never reached the upstream"
        );
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
    let signalled = Instant::now();
    terminate(&s.child);
    for task in tasks {
        let (status, body) = task.await.unwrap();
        let waited = signalled.elapsed();
        let body: serde_json::Value = serde_json::from_slice(&body)
            .unwrap_or_else(|_| panic!("not JSON after {waited:?}: {body:?}\n{}", log(&s.dir)));
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["error"]["code"], "shutting_down", "{body}");
        // At the end of the grace period (1 s), not at actix's forced close 5 s later.
        assert!(
            waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
            "answered after {waited:?}"
        );
    }
    let status = wait_exit(&mut s.child, Duration::from_secs(10));
    assert!(status.success(), "exit status {status}");
    let _ = std::fs::remove_dir_all(&s.dir);
}
