//! `forge-cli logs export` against a fake `/v1/logs/export`: the query it sends, JSON Lines
//! written byte for byte (to stdout or a file) however the stream is chunked, and errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use actix_web::{HttpRequest, HttpResponse};
use bytes::Bytes;
use serde_json::{Value, json};
use support::endpoint::FakeEndpoint;
use support::{logged_in, run};

/// The export the fake sends, cut into chunks that split lines and a character.
const EXPORT: &str = "{\"id\":\"a\",\"request_body\":\"caf\u{e9}\"}\n{\"id\":\"b\",\"request_body\":\"{}\"}\n{\"id\":\"c\",\"response_body\":null}\n";

/// `/v1/logs/export`: other users' logs are refused, the caller's come as [`EXPORT`].
fn answer(req: &HttpRequest) -> HttpResponse {
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

#[test]
fn export_writes_json_lines_to_stdout_with_the_filters_sent() {
    let fake = FakeEndpoint::start(answer);
    let dir = logged_in(&fake.url);
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
    let fake = FakeEndpoint::start(answer);
    let dir = logged_in(&fake.url);
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
    let fake = FakeEndpoint::start(answer);
    let dir = logged_in(&fake.url);
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
