//! `forge-cli logs export` against a fake `/v1/logs/export`: the query it sends, JSON Lines
//! written byte for byte (to stdout or a file) however the stream is chunked, and errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use bytes::Bytes;
use serde_json::{Value, json};
use support::{PASSWORD, TOKEN, USER, run};

/// The export the fake sends, cut into chunks that split lines and a character.
const EXPORT: &str = "{\"id\":\"a\",\"request_body\":\"caf\u{e9}\"}\n{\"id\":\"b\",\"request_body\":\"{}\"}\n{\"id\":\"c\",\"response_body\":null}\n";

struct FakeLogs {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl FakeLogs {
    fn start() -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let shared = seen.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_rt::System::new().block_on(async move {
                let data = web::Data::new(shared);
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .default_service(web::to(handle))
                })
                .workers(1)
                .bind(("127.0.0.1", 0))
                .unwrap();
                tx.send(server.addrs()[0]).unwrap();
                server.run().await.unwrap();
            });
        });
        let addr = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        FakeLogs {
            url: format!("http://{addr}"),
            seen,
        }
    }

    fn last(&self) -> String {
        self.seen.lock().unwrap().last().cloned().unwrap()
    }
}

async fn handle(req: HttpRequest, seen: web::Data<Arc<Mutex<Vec<String>>>>) -> HttpResponse {
    seen.lock().unwrap().push(req.uri().to_string());
    if req.path() == "/v1/auth/token" {
        return HttpResponse::Ok().json(json!({"access_token": TOKEN, "token_type": "bearer"}));
    }
    let authorized = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        == Some(format!("Bearer {TOKEN}").as_str());
    if !authorized {
        return HttpResponse::Unauthorized().json(json!({"detail": "Not authenticated"}));
    }
    if req.query_string().contains("all=true") {
        return HttpResponse::Forbidden()
            .json(json!({"detail": "Not authorized to export other users' logs"}));
    }
    let bytes = EXPORT.as_bytes();
    // Inside the two-byte `é` of the first line, then mid-way through the second line.
    let cuts = [bytes.iter().position(|b| *b == 0xC3).unwrap() + 1, 50];
    let parts: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(Bytes::copy_from_slice(&bytes[..cuts[0]])),
        Ok(Bytes::copy_from_slice(&bytes[cuts[0]..cuts[1]])),
        Ok(Bytes::copy_from_slice(&bytes[cuts[1]..])),
    ];
    HttpResponse::Ok()
        .content_type("application/x-ndjson")
        .streaming(futures_util::stream::iter(parts))
}

fn logged_in(fake: &FakeLogs) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    run(
        &fake.url,
        dir.path(),
        &["login", "--username", USER, "--password", PASSWORD],
    )
    .ok();
    dir
}

#[test]
fn export_writes_json_lines_to_stdout_with_the_filters_sent() {
    let fake = FakeLogs::start();
    let dir = logged_in(&fake);
    let out = run(
        &fake.url,
        dir.path(),
        &[
            "logs",
            "export",
            "--from",
            "2025-06-01T00:00:00+00:00",
            "--to",
            "2025-06-02",
            "--key-id",
            "7",
        ],
    );
    out.ok();
    assert_eq!(
        fake.last(),
        "/v1/logs/export?from=2025-06-01T00%3A00%3A00%2B00%3A00&to=2025-06-02&key_id=7"
    );
    assert_eq!(out.stdout, EXPORT);
    let ids: Vec<Value> = out
        .stdout
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap()["id"].clone())
        .collect();
    assert_eq!(ids, [json!("a"), json!("b"), json!("c")]);
}

#[test]
fn export_writes_a_file_and_says_how_many_lines() {
    let fake = FakeLogs::start();
    let dir = logged_in(&fake);
    let file = dir.path().join("logs.jsonl");
    let out = run(
        &fake.url,
        dir.path(),
        &["logs", "export", "--output", file.to_str().unwrap()],
    );
    out.ok();
    assert_eq!(fake.last(), "/v1/logs/export");
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(out.stderr.contains("wrote 3 logs to"), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), EXPORT);
}

#[test]
fn export_reports_server_errors_and_needs_a_login() {
    let fake = FakeLogs::start();
    let dir = logged_in(&fake);
    let out = run(&fake.url, dir.path(), &["logs", "export", "--all"]);
    out.failed();
    assert!(out.stderr.contains("403"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("Not authorized to export other users' logs"),
        "{}",
        out.stderr
    );
    assert_eq!(fake.last(), "/v1/logs/export?all=true");
    let fresh = tempfile::tempdir().unwrap();
    let out = run(&fake.url, fresh.path(), &["logs", "export"]);
    out.failed();
    assert!(out.stderr.contains("forge-cli login"), "{}", out.stderr);
}
