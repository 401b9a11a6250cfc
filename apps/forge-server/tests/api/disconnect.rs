//! A client that leaves mid-stream ends the upstream request even while the upstream is
//! silent: the upstream sees its connection closed within a bound, for passed-through and
//! translated streams. The upstream here is a raw TCP server, so the moment Forge closes the
//! connection is seen exactly (an HTTP framework would notice only at its next write).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{
    Backend, TestServer, add_provider, client, create_forge_key, register_and_login,
};

/// How soon after the client leaves the upstream must see its connection closed (the issue's
/// figure; measured well under it here).
const BOUND: Duration = Duration::from_millis(100);

/// An OpenAI-style upstream that sends one content chunk, then stalls; reports when Forge
/// closes the connection.
fn stalling_upstream() -> (String, mpsc::Receiver<Instant>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut conn) = stream else { return };
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                let mut seen = Vec::new();
                // The request head and body (small, one or two reads).
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let chunk = json!({
                    "id": "chatcmpl-stall", "object": "chat.completion.chunk", "created": 1,
                    "model": "stall-model",
                    "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hello"},
                                 "finish_reason": null}]
                });
                let event = format!("data: {chunk}\n\n");
                let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
                let body = format!("{:x}\r\n{event}\r\n", event.len());
                if conn.write_all(head.as_bytes()).is_err()
                    || conn.write_all(body.as_bytes()).is_err()
                {
                    return;
                }
                // Stall; a read returning 0 (or failing) is Forge closing the connection.
                loop {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => {
                            let _ = tx.send(Instant::now());
                            return;
                        }
                        Ok(_) => {}
                    }
                }
            });
        }
    });
    (base, rx)
}

/// Sends a streaming request over a raw connection, reads until the first content, and
/// closes the connection; returns when it closed.
fn leave_after_first_content(
    path: &str,
    body: &serde_json::Value,
    s: &TestServer,
    key: &str,
) -> Instant {
    let addr = s.base.trim_start_matches("http://").to_owned();
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    let body = body.to_string();
    let request = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {key}\r\nanthropic-version: 2023-06-01\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(request.as_bytes()).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("Hello") {
        let n = conn.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "closed before any content: {}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"));
    let left = Instant::now();
    drop(conn);
    left
}

async fn a_leaving_client_closes_the_upstream_promptly(b: Backend) {
    let s = TestServer::start(b).await;
    let c = client();
    let jwt = register_and_login(&c, &s, "leaver").await;
    let (base, closed) = stalling_upstream();
    add_provider(&c, &s, &jwt, "stall", "sk-stall-upstream-key", &base).await;
    let (_, key) = create_forge_key(&c, &s, &jwt, None).await;

    let cases = [
        (
            "/v1/chat/completions",
            json!({"model": "stall/m", "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
        ),
        (
            "/v1/messages",
            json!({"model": "stall/m", "stream": true, "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}),
        ),
    ];
    for (path, body) in cases {
        let left = leave_after_first_content(path, &body, &s, &key);
        let at = closed
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("{path}: the upstream connection was never closed"));
        let after = at.saturating_duration_since(left);
        assert!(
            after < BOUND,
            "{path}: upstream closed {after:?} after the client left"
        );
    }
}

crate::on_both_backends!(a_leaving_client_closes_the_upstream_promptly);
