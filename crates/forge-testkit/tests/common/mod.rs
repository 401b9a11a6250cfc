//! HTTP helpers shared by the fake-upstream tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use awc::http::StatusCode;
use forge_testkit::FakeOpenAi;
use serde_json::Value;

pub fn client() -> awc::Client {
    // awc is built with rustls; without a process-wide provider its builder panics.
    let _ = rustls::crypto::ring::default_provider().install_default();
    awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .finish()
}

pub fn url(fake: &FakeOpenAi, path: &str) -> String {
    format!("{}{path}", fake.base_url())
}

pub fn bearer(fake: &FakeOpenAi) -> (&'static str, String) {
    ("authorization", format!("Bearer {}", fake.api_key()))
}

/// POSTs JSON with the right key; returns status, headers and the JSON body.
pub async fn post(fake: &FakeOpenAi, path: &str, body: &Value) -> (StatusCode, Value) {
    let mut resp = client()
        .post(url(fake, path))
        .insert_header(bearer(fake))
        .send_json(body)
        .await
        .unwrap();
    let json = resp.json::<Value>().await.unwrap();
    (resp.status(), json)
}

/// POSTs and returns status and the raw body text.
pub async fn post_text(fake: &FakeOpenAi, path: &str, body: &Value) -> (StatusCode, String) {
    let mut resp = client()
        .post(url(fake, path))
        .insert_header(bearer(fake))
        .send_json(body)
        .await
        .unwrap();
    let bytes = resp.body().limit(1 << 20).await.unwrap();
    (resp.status(), String::from_utf8(bytes.to_vec()).unwrap())
}

/// Parses an SSE body made of `data: ...` events; `[DONE]` becomes `Value::Null`.
pub fn sse_events(text: &str) -> Vec<Value> {
    text.split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let data = e
                .strip_prefix("data: ")
                .expect("every event is one data line");
            if data == "[DONE]" {
                Value::Null
            } else {
                serde_json::from_str(data).unwrap()
            }
        })
        .collect()
}

pub fn chat_body(stream: bool) -> Value {
    serde_json::json!({
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Say hello"}],
        "stream": stream,
    })
}

/// Waits (bounded) for a condition the server reaches asynchronously, e.g. noticing a
/// client hung up; polls instead of sleeping a fixed time.
pub async fn eventually(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..500 {
        if cond() {
            return;
        }
        actix_rt::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for: {what}");
}
