//! `forge-cli usage` against a fake `/v1/usage`: the query it sends (filters percent-encoded),
//! the table it prints (unpriced costs never shown as 0), `--json`, and server errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use support::{PASSWORD, TOKEN, USER, run};

/// Answers the login form and `/v1/usage`, keeping every request's path and query.
struct FakeUsage {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl FakeUsage {
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
        FakeUsage {
            url: format!("http://{addr}"),
            seen,
        }
    }

    fn last(&self) -> String {
        self.seen.lock().unwrap().last().cloned().unwrap()
    }
}

fn sums(requests: i64, input: i64, output: i64, cost: Value, unpriced: i64) -> Value {
    json!({
        "requests": requests, "input_tokens": input, "cached_input_tokens": 0,
        "cache_write_tokens": 0, "output_tokens": output, "reasoning_tokens": 0,
        "cost": cost, "currency": "USD", "unpriced_requests": unpriced,
        "estimated_requests": 0, "errors": 0
    })
}

fn with_keys(mut row: Value, keys: Value) -> Value {
    for (k, v) in keys.as_object().unwrap() {
        row[k] = v.clone();
    }
    row
}

async fn handle(req: HttpRequest, seen: web::Data<Arc<Mutex<Vec<String>>>>) -> HttpResponse {
    let target = req.uri().to_string();
    seen.lock().unwrap().push(target.clone());
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
    let query = req.query_string();
    if query.contains("group_by=week") {
        return HttpResponse::UnprocessableEntity().json(json!({"detail": [{
            "type": "enum", "loc": ["query", "group_by"], "msg": "Unknown group 'week'", "input": null
        }]}));
    }
    if query.contains("model=none") {
        return HttpResponse::Ok().json(json!({
            "from": null, "to": null, "group_by": ["model"],
            "totals": sums(0, 0, 0, Value::Null, 0), "rows": []
        }));
    }
    if query.is_empty() {
        let totals = sums(5, 500, 120, json!("0.0042"), 0);
        return HttpResponse::Ok().json(json!({
            "from": null, "to": null, "group_by": [], "totals": totals.clone(), "rows": [totals]
        }));
    }
    HttpResponse::Ok().json(json!({
        "from": "2025-06-01T00:00:00Z", "to": "2025-06-03T00:00:00Z", "group_by": ["model", "day"],
        "totals": sums(6, 620, 160, json!("0.0042"), 1),
        "rows": [
            with_keys(sums(5, 500, 120, json!("0.0042"), 0), json!({"model": "gpt-4o-mini", "day": "2025-06-01"})),
            with_keys(sums(1, 120, 40, Value::Null, 1), json!({"model": "house-model", "day": "2025-06-02"})),
        ]
    }))
}

fn logged_in(fake: &FakeUsage) -> tempfile::TempDir {
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
fn usage_sends_the_filters_and_prints_a_table() {
    let fake = FakeUsage::start();
    let dir = logged_in(&fake);
    let out = run(
        &fake.url,
        dir.path(),
        &[
            "usage",
            "--group-by",
            "model,day",
            "--from",
            "2025-06-01T00:00:00+00:00",
            "--to",
            "2025-06-02",
            "--provider",
            "openai",
        ],
    );
    out.ok();
    assert_eq!(
        fake.last(),
        "/v1/usage?group_by=model%2Cday&from=2025-06-01T00%3A00%3A00%2B00%3A00&to=2025-06-02&provider=openai"
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "MODEL        DAY         REQUESTS  INPUT  OUTPUT  COST",
            "gpt-4o-mini  2025-06-01  5         500    120     $0.0042",
            "house-model  2025-06-02  1         120    40      unpriced",
            "total                    6         620    160     $0.0042 +1 unpriced",
        ],
        "{}",
        out.stdout
    );
}

#[test]
fn usage_without_groups_prints_the_totals_and_json_prints_the_answer() {
    let fake = FakeUsage::start();
    let dir = logged_in(&fake);
    let out = run(&fake.url, dir.path(), &["usage"]);
    out.ok();
    assert_eq!(fake.last(), "/v1/usage");
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        [
            "REQUESTS  INPUT  OUTPUT  COST",
            "5         500    120     $0.0042"
        ]
    );
    let out = run(
        &fake.url,
        dir.path(),
        &["--json", "usage", "--group-by", "model"],
    );
    out.ok();
    let value: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(value["rows"][1]["cost"], Value::Null);
    assert_eq!(value["totals"]["unpriced_requests"], 1);
}

#[test]
fn usage_reports_empty_selections_and_server_errors() {
    let fake = FakeUsage::start();
    let dir = logged_in(&fake);
    let out = run(
        &fake.url,
        dir.path(),
        &["usage", "--group-by", "model", "--model", "none"],
    );
    out.ok();
    assert!(out.stdout.contains("No usage recorded"), "{}", out.stdout);
    let out = run(&fake.url, dir.path(), &["usage", "--group-by", "week"]);
    out.failed();
    assert!(out.stderr.contains("422"), "{}", out.stderr);
    assert!(
        out.stderr.contains("Unknown group 'week'"),
        "{}",
        out.stderr
    );
}

#[test]
fn usage_needs_a_session() {
    let fake = FakeUsage::start();
    let dir = tempfile::tempdir().unwrap();
    let out = run(&fake.url, dir.path(), &["usage"]);
    out.failed();
    assert!(out.stderr.contains("not logged in"), "{}", out.stderr);
    assert!(fake.seen.lock().unwrap().is_empty());
}
