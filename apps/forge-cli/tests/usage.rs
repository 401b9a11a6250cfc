//! `forge-cli usage` against a fake `/v1/usage`: the query it sends (filters percent-encoded),
//! the table it prints (unpriced costs never shown as 0), `--json`, and server errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Value, json};
use support::endpoint::FakeEndpoint;
use support::{logged_in, run};

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

/// `/v1/usage`, answering by what the query asks for.
fn answer(req: &HttpRequest) -> HttpResponse {
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

#[test]
fn usage_sends_the_filters_and_prints_a_table() {
    let fake = FakeEndpoint::start(answer);
    let dir = logged_in(&fake.url);
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
    let fake = FakeEndpoint::start(answer);
    let dir = logged_in(&fake.url);
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
    let fake = FakeEndpoint::start(answer);
    let dir = logged_in(&fake.url);
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
    let fake = FakeEndpoint::start(answer);
    let dir = tempfile::tempdir().unwrap();
    let out = run(&fake.url, dir.path(), &["usage"]);
    out.failed();
    assert!(out.stderr.contains("not logged in"), "{}", out.stderr);
    assert!(fake.targets().is_empty());
}
