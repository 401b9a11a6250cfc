//! Starts a real forge-server in-process (its own thread and actix system) on 127.0.0.1:0 with a
//! fresh database, SQLite or PostgreSQL, and gives tests an HTTP client and helpers.

use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;

use actix_web::dev::ServerHandle;
use awc::Client;
use forge_server::config::Settings;
use serde_json::{Value, json};

pub const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates `sqlite` and `postgres` variants of an `async fn(Backend)` test.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[actix_rt::test]
            async fn sqlite() {
                super::$name($crate::harness::Backend::Sqlite).await
            }
            #[actix_rt::test]
            async fn postgres() {
                super::$name($crate::harness::Backend::Postgres).await
            }
        }
    )+};
}

pub struct TestServer {
    pub base: String,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub backend: Backend,
    handle: Option<ServerHandle>,
    thread: Option<JoinHandle<()>>,
    tweak: fn(&mut Settings),
    /// forge.toml, when the server runs with one.
    pub config: Option<PathBuf>,
}

pub fn scratch_dir() -> PathBuf {
    let mut rnd = [0u8; 8];
    getrandom::fill(&mut rnd).unwrap();
    let dir = std::env::temp_dir().join(format!("forge-test-{}", hex::encode(rnd)));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl TestServer {
    pub async fn start(backend: Backend) -> TestServer {
        Self::start_with(backend, |_| {}).await
    }

    /// Starts with settings adjusted by `tweak` (private upstreams are always allowed here).
    pub async fn start_with(backend: Backend, tweak: fn(&mut Settings)) -> TestServer {
        forge_server::install_crypto_provider();
        let data_dir = scratch_dir();
        let database_url = match backend {
            Backend::Sqlite => format!("sqlite://{}", data_dir.join("forge.db").display()),
            Backend::Postgres => forge_storage::testing::scratch_postgres(PG_ADMIN_URL)
                .await
                .unwrap(),
        };
        let mut server = TestServer {
            base: String::new(),
            data_dir,
            database_url,
            backend,
            handle: None,
            thread: None,
            tweak,
            config: None,
        };
        server.boot();
        server
    }

    /// Starts with a forge.toml holding `text` (SQLite; routing touches no database).
    pub async fn start_with_config(text: &str) -> TestServer {
        Self::start_with_config_on(Backend::Sqlite, text).await
    }

    /// Starts with a forge.toml holding `text`, on the given database.
    pub async fn start_with_config_on(backend: Backend, text: &str) -> TestServer {
        forge_server::install_crypto_provider();
        let data_dir = scratch_dir();
        let config = data_dir.join("forge.toml");
        std::fs::write(&config, text).unwrap();
        let database_url = match backend {
            Backend::Sqlite => format!("sqlite://{}", data_dir.join("forge.db").display()),
            Backend::Postgres => forge_storage::testing::scratch_postgres(PG_ADMIN_URL)
                .await
                .unwrap(),
        };
        let mut server = TestServer {
            base: String::new(),
            database_url,
            data_dir,
            backend,
            handle: None,
            thread: None,
            tweak: |_| {},
            config: Some(config),
        };
        server.boot();
        server
    }

    /// Replaces forge.toml at once (write then rename), as an editor or deploy tool would.
    pub fn write_config(&self, text: &str) {
        let path = self.config.as_ref().unwrap();
        let tmp = path.with_extension("toml.tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, path).unwrap();
    }

    fn boot(&mut self) {
        let mut settings =
            Settings::for_data_dir(self.data_dir.clone(), "127.0.0.1:0".parse().unwrap());
        settings.database_url = Some(self.database_url.clone());
        settings.allow_private_upstreams = true;
        settings.workers = Some(2);
        settings.config = self.config.clone();
        (self.tweak)(&mut settings);
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let system = actix_rt::System::new();
            system.block_on(async move {
                match forge_server::build(settings).await {
                    Ok(forge) => {
                        tx.send(Ok((forge.addr, forge.handle()))).unwrap();
                        forge.run().await.unwrap();
                    }
                    Err(e) => tx.send(Err(e.to_string())).unwrap(),
                }
            });
        });
        let (addr, handle) = rx
            .recv()
            .unwrap()
            .unwrap_or_else(|e| panic!("server failed to start: {e}"));
        self.base = format!("http://{addr}");
        self.handle = Some(handle);
        self.thread = Some(thread);
    }

    pub async fn stop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.stop(true).await;
        }
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }

    /// Stops and starts again on the same data directory and database.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.boot();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            // Stop without waiting; the thread ends when the system does.
            drop(handle.stop(false));
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
        if self.backend == Backend::Postgres {
            // DROP DATABASE ... WITH (FORCE) also ends the stopping server's connections.
            let url = self.database_url.clone();
            let dropped = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(forge_storage::testing::drop_postgres(PG_ADMIN_URL, &url))
            })
            .join();
            if !matches!(dropped, Ok(Ok(()))) {
                eprintln!("could not drop scratch database {}", self.database_url);
            }
        }
    }
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn client() -> Client {
    forge_server::install_crypto_provider();
    Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .finish()
}

/// A response read whole: status, headers and JSON (or Null) body.
pub struct Reply {
    pub status: u16,
    pub headers: awc::http::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub async fn read(mut resp: awc::ClientResponse) -> Reply {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.body().limit(64 * 1024 * 1024).await.unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
        text,
    }
}

pub async fn get(c: &Client, url: &str, bearer: Option<&str>) -> Reply {
    let mut req = c.get(url);
    if let Some(token) = bearer {
        req = req.insert_header(("authorization", format!("Bearer {token}")));
    }
    read(req.send().await.unwrap()).await
}

pub async fn send_json(
    c: &Client,
    method: &str,
    url: &str,
    bearer: Option<&str>,
    body: &Value,
) -> Reply {
    let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = c.request(method, url);
    if let Some(token) = bearer {
        req = req.insert_header(("authorization", format!("Bearer {token}")));
    }
    read(req.send_json(body).await.unwrap()).await
}

pub async fn post_json(c: &Client, url: &str, bearer: Option<&str>, body: &Value) -> Reply {
    send_json(c, "POST", url, bearer, body).await
}

/// Registers `name` (email `name@example.com`, password `correct-horse-battery`) and logs in.
pub async fn register_and_login(c: &Client, s: &TestServer, name: &str) -> String {
    let reg = post_json(
        c,
        &s.url("/v1/auth/register"),
        None,
        &json!({ "username": name, "email": format!("{name}@example.com"), "password": "correct-horse-battery" }),
    )
    .await;
    assert_eq!(reg.status, 200, "register: {}", reg.text);
    login(c, s, name, "correct-horse-battery").await
}

pub async fn login(c: &Client, s: &TestServer, name: &str, password: &str) -> String {
    let resp = c
        .post(s.url("/v1/auth/token"))
        .send_form(&[("username", name), ("password", password)])
        .await
        .unwrap();
    let reply = read(resp).await;
    assert_eq!(reply.status, 200, "login: {}", reply.text);
    reply.body["access_token"].as_str().unwrap().to_owned()
}

/// Creates a Forge key (unrestricted unless `scope` is given) and returns (id, full key).
pub async fn create_forge_key(
    c: &Client,
    s: &TestServer,
    jwt: &str,
    scope: Option<Vec<i64>>,
) -> (i64, String) {
    let mut body = json!({ "name": "test key" });
    if let Some(ids) = scope {
        body["allowed_provider_key_ids"] = json!(ids);
    }
    let reply = post_json(c, &s.url("/v1/api-keys/"), Some(jwt), &body).await;
    assert_eq!(reply.status, 200, "create key: {}", reply.text);
    (
        reply.body["id"].as_i64().unwrap(),
        reply.body["key"].as_str().unwrap().to_owned(),
    )
}

/// Adds a provider key pointing at `base_url`; returns its id.
pub async fn add_provider(
    c: &Client,
    s: &TestServer,
    jwt: &str,
    name: &str,
    api_key: &str,
    base_url: &str,
) -> i64 {
    let reply = post_json(
        c,
        &s.url("/v1/provider-keys/"),
        Some(jwt),
        &json!({ "provider_name": name, "api_key": api_key, "base_url": base_url, "model_mapping": null, "config": null }),
    )
    .await;
    assert_eq!(reply.status, 200, "add provider: {}", reply.text);
    reply.body["id"].as_i64().unwrap()
}

/// Sends `body` as-is with `content_type` (or no body at all when `None`), for malformed
/// input and for routes that take no body.
pub async fn send_raw(
    c: &Client,
    method: &str,
    url: &str,
    bearer: Option<&str>,
    body: Option<(&str, &str)>,
) -> Reply {
    let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = c.request(method, url);
    if let Some(token) = bearer {
        req = req.insert_header(("authorization", format!("Bearer {token}")));
    }
    let resp = match body {
        Some((content_type, text)) => {
            req.insert_header(("content-type", content_type))
                .send_body(text.to_owned())
                .await
        }
        None => req.send().await,
    };
    read(resp.unwrap()).await
}

/// Asserts an admin-API error: the status and the exact string `detail`.
#[track_caller]
pub fn assert_detail(reply: &Reply, status: u16, detail: &str) {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert_eq!(reply.body, json!({ "detail": detail }), "{}", reply.text);
}

/// Asserts a 422 in pydantic's list shape whose first error is located under `loc_prefix`.
#[track_caller]
pub fn assert_validation(reply: &Reply, loc_prefix: &[&str]) {
    assert_eq!(reply.status, 422, "{}", reply.text);
    let errors = reply.body["detail"].as_array().expect("a list detail");
    assert!(!errors.is_empty(), "{}", reply.text);
    for e in errors {
        assert!(e["type"].is_string() && e["msg"].is_string(), "{e}");
        let loc = e["loc"].as_array().expect("loc is a list");
        for (i, want) in loc_prefix.iter().enumerate() {
            assert_eq!(loc.get(i).and_then(Value::as_str), Some(*want), "{e}");
        }
    }
}

/// Asserts that none of `secrets` appears anywhere in the response body.
#[track_caller]
pub fn assert_hides(reply: &Reply, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !reply.text.contains(secret),
            "a secret leaked into a response: {}",
            reply.text
        );
    }
}
