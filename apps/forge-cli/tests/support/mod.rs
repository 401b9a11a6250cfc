//! A tiny fake Forge server (actix-web on 127.0.0.1:0, in its own thread) that answers like the
//! Forge v1 API and records every request, a one-endpoint fake in [`endpoint`], and a runner
//! for the real `forge-cli` binary that can also log in.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::{App, FromRequest, Handler, HttpRequest, HttpResponse, HttpServer, Responder, web};
use bytes::Bytes;
use serde_json::{Value, json};

pub mod endpoint;

pub const USER: &str = "alice";
pub const PASSWORD: &str = "s3cret pass&=%";
pub const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.fake-jwt.sig";
pub const FORGE_KEY: &str = "forge-0123456789abcdef0123456789abcdef0123";
pub const FORGE_KEY_2: &str = "forge-fedcba9876543210fedcba9876543210fedc";
pub const PROVIDER_SECRET: &str = "sk-provider-secret-value-wxyz";
pub const MASKED_PROVIDER: &str = "sk*******************wxyz";
pub const REPLY: &str = "Hello from the fake Forge";
pub const STREAM_PARTS: [&str; 4] = ["Hel", "lo, ", "str\u{e9}am", "ing!"];

#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

#[derive(Default)]
struct State {
    log: Mutex<Vec<Recorded>>,
    /// Lets the `openai/slow` stream send its second half.
    released: AtomicBool,
}

pub struct FakeForge {
    pub url: String,
    state: Arc<State>,
}

impl FakeForge {
    pub fn start() -> Self {
        let state = Arc::new(State::default());
        Self {
            url: serve(state.clone(), handle),
            state,
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.log.lock().unwrap().clone()
    }

    pub fn last(&self) -> Recorded {
        self.requests().pop().expect("no request was made")
    }

    pub fn release(&self) {
        self.state.released.store(true, Ordering::SeqCst);
    }
}

/// Runs an actix server on 127.0.0.1:0 in its own thread, with `state` as app data and every
/// request going to `handler`; returns its base URL once it listens.
pub fn serve<T, F, Args>(state: Arc<T>, handler: F) -> String
where
    T: Send + Sync + 'static,
    F: Handler<Args> + Send,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_rt::System::new().block_on(async move {
            let data = web::Data::from(state);
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(data.clone())
                    .default_service(web::to(handler.clone()))
            })
            .workers(1)
            .bind(("127.0.0.1", 0))
            .unwrap();
            let addr = server.addrs()[0];
            let running = server.run();
            tx.send(addr).unwrap();
            running.await.unwrap();
        });
    });
    let addr = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    format!("http://{addr}")
}

fn detail(status: u16, text: &str) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(status).unwrap()).json(json!({"detail": text}))
}

fn openai_error(status: u16, message: &str, code: &str) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(status).unwrap()).json(json!({
        "error": {"message": message, "type": "invalid_request_error", "param": null, "code": code}
    }))
}

fn forge_key_object(id: i64, key: &str, body: &Value) -> Value {
    json!({
        "id": id,
        "key": key,
        "name": body.get("name").cloned().unwrap_or(json!("cli")),
        "is_active": body.get("is_active").cloned().unwrap_or(json!(true)),
        "created_at": "2025-06-01T12:00:00",
        "last_used_at": null,
        "allowed_provider_key_ids": body.get("allowed_provider_key_ids").cloned().unwrap_or(json!([])),
    })
}

fn provider_key_object(name: &str, body: &Value) -> Value {
    json!({
        "id": 3,
        "provider_name": name,
        "user_id": 1,
        "base_url": body.get("base_url").cloned().unwrap_or(Value::Null),
        "model_mapping": body.get("model_mapping").cloned().unwrap_or(Value::Null),
        "created_at": "2025-06-01T12:00:00",
        "updated_at": "2025-06-01T12:00:00",
        "encrypted_api_key": "(hidden)",
        "api_key": MASKED_PROVIDER,
        "config": null,
    })
}

fn masked(key: &str) -> String {
    format!("forge-{}{}", "*".repeat(32), &key[key.len() - 4..])
}

/// `application/x-www-form-urlencoded` decoding, enough for the login form.
pub fn form_decode(body: &str) -> HashMap<String, String> {
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                    i += 2;
                }
                other => out.push(other),
            }
            i += 1;
        }
        String::from_utf8(out).unwrap()
    }
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

async fn handle(req: HttpRequest, body: Bytes, state: web::Data<State>) -> HttpResponse {
    let headers: HashMap<String, String> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let text = String::from_utf8_lossy(&body).into_owned();
    let record = Recorded {
        method: req.method().to_string(),
        path: req.uri().path().to_string(),
        headers: headers.clone(),
        body: text.clone(),
    };
    state.log.lock().unwrap().push(record);
    let json_body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let content_type = headers.get("content-type").cloned().unwrap_or_default();
    let jwt_ok =
        headers.get("authorization").map(String::as_str) == Some(&format!("Bearer {TOKEN}"));
    let forge_key = headers.get("x-api-key").cloned().unwrap_or_default();
    let key_ok = forge_key == FORGE_KEY || forge_key == FORGE_KEY_2;
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();

    match (method.as_str(), path.as_str()) {
        ("POST", "/v1/auth/register") => {
            if !content_type.starts_with("application/json") {
                return detail(422, "expected JSON");
            }
            let email = json_body["email"].as_str().unwrap_or("");
            if !email.contains('@') {
                return HttpResponse::UnprocessableEntity().json(json!({"detail": [{
                    "type": "value_error", "loc": ["body", "email"],
                    "msg": "value is not a valid email address", "input": email
                }]}));
            }
            if json_body["username"] == "taken" {
                return detail(400, "Username already registered");
            }
            HttpResponse::Ok().json(json!({
                "email": email, "username": json_body["username"], "id": 1, "is_active": true,
                "created_at": "2025-06-01T12:00:00", "updated_at": "2025-06-01T12:00:00",
                "forge_api_keys": []
            }))
        }
        ("POST", "/v1/auth/token") => {
            if content_type != "application/x-www-form-urlencoded" {
                return detail(422, "form fields missing");
            }
            let form = form_decode(&text);
            if form.get("username").map(String::as_str) == Some(USER)
                && form.get("password").map(String::as_str) == Some(PASSWORD)
            {
                HttpResponse::Ok().json(json!({"access_token": TOKEN, "token_type": "bearer"}))
            } else {
                detail(401, "Incorrect username or password")
            }
        }
        (_, p) if (p.starts_with("/v1/users") || p.starts_with("/v1/api-keys") || p.starts_with("/v1/provider-keys") || p.starts_with("/v1/admin/")) && !jwt_ok => {
            detail(401, "Not authenticated")
        }
        (m, p) if p.starts_with("/v1/admin/") => admin(m, p, &json_body),
        ("GET", "/v1/users/me") => HttpResponse::Ok().json(json!({
            "email": "alice@example.com", "username": USER, "id": 1, "is_active": true,
            "is_admin": true, "created_at": "2025-06-01T12:00:00", "updated_at": "2025-06-01T12:00:00",
            "forge_api_keys": [masked(FORGE_KEY)]
        })),
        ("GET", "/v1/api-keys/") => HttpResponse::Ok().json(json!([{
            "id": 7, "key": masked(FORGE_KEY), "name": "laptop", "is_active": true,
            "created_at": "2025-06-01T12:00:00", "last_used_at": null, "allowed_provider_key_ids": [3]
        }])),
        ("POST", "/v1/api-keys/") => HttpResponse::Ok().json(forge_key_object(7, FORGE_KEY, &json_body)),
        ("PUT", "/v1/api-keys/7") => HttpResponse::Ok().json(forge_key_object(7, &masked(FORGE_KEY), &json_body)),
        ("DELETE", "/v1/api-keys/7") => HttpResponse::Ok().json(forge_key_object(7, &masked(FORGE_KEY), &json!({}))),
        ("POST", "/v1/api-keys/7/regenerate") => HttpResponse::Ok().json(forge_key_object(7, FORGE_KEY_2, &json!({}))),
        (_, p) if p.starts_with("/v1/api-keys/") => detail(404, "API key not found"),
        ("GET", "/v1/provider-keys/") => {
            HttpResponse::Ok().json(json!([provider_key_object("openai", &json!({"base_url": "http://up.example/v1"}))]))
        }
        ("POST", "/v1/provider-keys/") => {
            let name = json_body["provider_name"].as_str().unwrap_or("");
            if name == "dup" {
                return detail(400, "Provider key for dup already exists");
            }
            HttpResponse::Ok().json(provider_key_object(name, &json_body))
        }
        ("PUT" | "DELETE", p) if p.starts_with("/v1/provider-keys/") => {
            let name = &p["/v1/provider-keys/".len()..];
            match name {
                "openai" => HttpResponse::Ok().json(provider_key_object("openai", &json_body)),
                "my%20host" => HttpResponse::Ok().json(provider_key_object("my host", &json_body)),
                _ => detail(404, "Provider key not found"),
            }
        }
        (_, "/v1/models" | "/v1/chat/completions") if forge_key.is_empty() => detail(401, "API key not found in headers"),
        (_, "/v1/models" | "/v1/chat/completions") if !key_ok => detail(401, "Invalid API key"),
        ("GET", "/v1/models") => HttpResponse::Ok().json(json!({"object": "list", "data": [
            {"id": "openai/gpt-4o-mini", "object": "model", "owned_by": "openai", "display_name": "gpt-4o-mini"},
            {"id": "openai/gpt-4o", "object": "model", "owned_by": "openai", "display_name": "gpt-4o"}
        ]})),
        ("POST", "/v1/chat/completions") => chat(&json_body, state.into_inner()),
        _ => detail(404, "Not Found"),
    }
}

/// Deployment id the fake knows, and how it must arrive in a path.
pub const DEPLOYMENT: &str = "openai/gpt-4o#0";
pub const DEPLOYMENT_IN_PATH: &str = "openai%2Fgpt-4o%230";
/// Session id the fake knows (with characters that must be encoded), and its encoded form.
pub const SESSION: &str = "team a/1?x#2";
pub const SESSION_IN_PATH: &str = "team%20a%2F1%3Fx%232";

fn candidate(id: &str, availability: &str, cooling: Value, sticky: bool) -> Value {
    json!({
        "id": id, "provider": "openai", "model": "gpt-4o", "availability": availability,
        "cooling_for_ms": cooling, "weight": 1, "priority": 0, "in_flight": 2,
        "latency_ms": 12.5, "sticky": sticky, "extra": "ignored"
    })
}

/// The routing admin API (`/v1/admin/...`), in the shapes forge-server answers with. Paths are
/// matched raw, so a test sees whether the CLI percent-encoded them.
fn admin(method: &str, path: &str, body: &Value) -> HttpResponse {
    match (method, path) {
        ("GET", "/v1/admin/routes") => HttpResponse::Ok().json(json!({
            "source": "/etc/forge.toml", "loaded_at": "2026-11-22T21:00:00Z", "default_model": "chat",
            "aliases": {"fast": "gpt-4o-mini"},
            "routes": [{
                "name": "chat", "strategy": "priority", "retries": 1, "max_attempts": 4,
                "deadline_ms": null, "fallbacks": ["backup"],
                "timeouts": {"connect_ms": null, "first_token_ms": 30000, "idle_ms": null, "total_ms": null},
                "deployments": [{"id": DEPLOYMENT, "provider": "openai", "model": "gpt-4o", "weight": 1, "priority": 0}]
            }]
        })),
        ("POST", "/v1/admin/routes/decide") => {
            if body["model"] != "chat" {
                return detail(404, &format!("Unknown model {}", body["model"]));
            }
            let sticky = body.get("session_id").is_some();
            HttpResponse::Ok().json(json!({
                "route": "chat",
                "candidates": [candidate(DEPLOYMENT, "ready", Value::Null, sticky)],
                "excluded": [candidate("openai/gpt-4o#1", "cooling", json!(1234), false)],
                "fallbacks": ["backup"]
            }))
        }
        ("GET", "/v1/admin/deployments") => HttpResponse::Ok().json(json!({"deployments": [{
            "id": DEPLOYMENT, "provider": "openai", "model": "gpt-4o", "availability": "cooling",
            "cooling_for_ms": 4500, "in_flight": 1, "ewma_ttft_ms": 250.0, "successes": 10,
            "failures": 2, "recent_failures": 1, "trips": 3, "rate_limited_for_ms": null
        }]})),
        ("POST", p) if p == format!("/v1/admin/deployments/{DEPLOYMENT_IN_PATH}/reset") => {
            HttpResponse::Ok().json(json!({"id": DEPLOYMENT, "availability": "ready"}))
        }
        ("POST", p) if p.starts_with("/v1/admin/deployments/") => detail(404, "Deployment not found"),
        ("DELETE", p) if p == format!("/v1/admin/sessions/{SESSION_IN_PATH}") => HttpResponse::NoContent().finish(),
        ("DELETE", p) if p.starts_with("/v1/admin/sessions/") => detail(404, "Session not found"),
        _ => detail(404, "Not Found"),
    }
}

fn sse(chunks: Vec<String>) -> HttpResponse {
    let stream = futures_util::stream::iter(
        chunks
            .into_iter()
            .map(|c| Ok::<_, actix_web::Error>(Bytes::from(c))),
    );
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .streaming(stream)
}

fn delta(text: &str) -> String {
    let chunk = json!({"id": "c1", "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]});
    format!("data: {chunk}\r\n\r\n")
}

fn chat(body: &Value, state: Arc<State>) -> HttpResponse {
    let model = body["model"].as_str().unwrap_or("").to_string();
    let stream = body["stream"] == json!(true);
    match (model.as_str(), stream) {
        ("openai/gpt-4o-mini", false) => HttpResponse::Ok().json(json!({
            "id": "c1", "object": "chat.completion", "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": REPLY}, "finish_reason": "stop"}]
        })),
        ("openai/gpt-4o-mini", true) => {
            let role = json!({"choices": [{"index": 0, "delta": {"role": "assistant"}}]});
            let mut all = format!(": keep-alive\r\n\r\ndata: {role}\r\n\r\n");
            for part in STREAM_PARTS {
                all.push_str(&delta(part));
            }
            all.push_str("data: [DONE]\r\n\r\n");
            // Cut the stream at awkward places: inside a line, between CR and LF, inside a
            // multi-byte character.
            let bytes = all.into_bytes();
            let mut chunks = Vec::new();
            let mut start = 0;
            for size in [7usize, 1, 13, 2, 40, 3].iter().cycle() {
                if start >= bytes.len() {
                    break;
                }
                let end = (start + size).min(bytes.len());
                chunks.push(bytes[start..end].to_vec());
                start = end;
            }
            let stream = futures_util::stream::iter(
                chunks
                    .into_iter()
                    .map(|c| Ok::<_, actix_web::Error>(Bytes::from(c))),
            );
            HttpResponse::Ok().content_type("text/event-stream").streaming(stream)
        }
        ("openai/broken", true) => sse(vec![
            delta("partial"),
            "data: {\"error\":{\"message\":\"upstream dropped the connection\",\"type\":\"stream_error\",\"code\":\"provider_error\"}}\n\n".into(),
            "data: [DONE]\n\n".into(),
        ]),
        ("openai/truncated", true) => sse(vec![delta("cut")]),
        ("openai/slow", true) => {
            let first = futures_util::stream::iter(vec![Ok::<_, actix_web::Error>(Bytes::from(delta("first")))]);
            let rest = futures_util::stream::once(async move {
                let deadline = Instant::now() + Duration::from_secs(10);
                while !state.released.load(Ordering::SeqCst) && Instant::now() < deadline {
                    actix_rt::time::sleep(Duration::from_millis(20)).await;
                }
                Ok::<_, actix_web::Error>(Bytes::from(format!("{}data: [DONE]\n\n", delta("second"))))
            });
            use futures_util::StreamExt;
            HttpResponse::Ok().content_type("text/event-stream").streaming(first.chain(rest))
        }
        ("openai/plain500", _) => HttpResponse::InternalServerError().content_type("text/plain").body("Internal Server Error"),
        _ => openai_error(404, &format!("Model '{model}' not found"), "model_not_found"),
    }
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(&self) -> &Self {
        assert_eq!(
            self.code, 0,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn failed(&self) -> &Self {
        assert_ne!(self.code, 0, "expected failure; stdout: {}", self.stdout);
        self
    }

    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

pub fn command(server: &str, config_dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_forge-cli"));
    cmd.args(args)
        .env("FORGE_SERVER", server)
        .env("FORGE_CONFIG_DIR", config_dir)
        .env_remove("FORGE_API_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

pub fn run_with_stdin(server: &str, config_dir: &Path, args: &[&str], stdin: &str) -> Run {
    let mut child = command(server, config_dir, args)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn run(server: &str, config_dir: &Path, args: &[&str]) -> Run {
    run_with_stdin(server, config_dir, args, "")
}

/// Logs in as [`USER`] against `server`, keeping the session in `config_dir`.
pub fn login(server: &str, config_dir: &Path) {
    run(
        server,
        config_dir,
        &["login", "--username", USER, "--password", PASSWORD],
    )
    .ok();
}

/// A fresh config directory holding a session for [`USER`] on `server`.
pub fn logged_in(server: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    login(server, dir.path());
    dir
}
