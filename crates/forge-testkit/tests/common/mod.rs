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

/// A response read whole: status, the headers asked about, body text.
pub struct Reply {
    pub status: u16,
    pub headers: awc::http::header::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    }
}

/// Sends `body` (JSON, or nothing for GET) with `headers` to `url` and reads the answer.
pub async fn send(url: &str, headers: &[(&str, &str)], body: Option<&Value>) -> Reply {
    let mut req = match body {
        Some(_) => client().post(url),
        None => client().get(url),
    };
    for (k, v) in headers {
        req = req.insert_header((*k, *v));
    }
    let mut resp = match body {
        Some(b) => req.send_json(b).await.unwrap(),
        None => req.send().await.unwrap(),
    };
    let bytes = resp.body().limit(1 << 20).await.unwrap_or_default();
    Reply {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        text: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

/// Writes a raw HTTP/1.1 request and reads until the server closes the connection.
pub async fn raw_http(addr: std::net::SocketAddr, request: String) -> String {
    actix_rt::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        String::from_utf8_lossy(&response).into_owned()
    })
    .await
    .unwrap()
}
