//! Usage statistics routes (`/v1/stats/`, `/v1/statistic/*`, `/v1/usage`) against real
//! traffic: every number is checked against the usage records the server stored.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use awc::Client;
use forge_core::usage_record::UsageRecord;
use forge_storage::{Store, UsageFilter};
use forge_testkit::{FakeOpenAi, FakeOpenAiConfig};
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::harness::{
    Backend, Reply, TestServer, add_provider, assert_detail, assert_validation, client,
    create_forge_key, get, post_json, read, register_and_login,
};
use crate::on_both_backends;
use crate::routing::common::{KEY, chat_body, openai_provider, static_key};

const UPSTREAM_KEY: &str = "sk-fake-upstream-key-0001";
/// A model the fake serves but no price table knows.
const UNPRICED: &str = "house-model-unpriced-x";

struct World {
    server: TestServer,
    _fake: FakeOpenAi,
    c: Client,
    admin: String,
    alice: String,
    bob: String,
    /// Alice's named key ("test key") and unnamed key.
    named: String,
    unnamed: String,
    bob_key: String,
    records: Vec<UsageRecord>,
}

fn masked(key: &str) -> String {
    format!("forge-{}{}", "*".repeat(32), &key[key.len() - 4..])
}

/// `money::decimal` restated: exact, trailing zeros trimmed.
fn decimal(nanos: i64) -> String {
    let (whole, frac) = (nanos / 1_000_000_000, nanos % 1_000_000_000);
    if frac == 0 {
        return whole.to_string();
    }
    format!("{whole}.{}", format!("{frac:09}").trim_end_matches('0'))
}

async fn get_with_key(c: &Client, url: &str, key: &str) -> Reply {
    read(
        c.get(url)
            .insert_header(("x-api-key", key))
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn chat(c: &Client, s: &TestServer, key: &str, model: &str, stream: bool) {
    let mut resp = c
        .post(s.url("/v1/chat/completions"))
        .insert_header(("x-api-key", key))
        .send_json(&json!({
            "model": model, "stream": stream,
            "messages": [{"role": "user", "content": "hello there"}],
        }))
        .await
        .unwrap();
    while let Some(chunk) = resp.next().await {
        chunk.unwrap();
    }
}

async fn settled(server: &TestServer, n: usize) -> Vec<UsageRecord> {
    let store = Store::connect(&server.database_url).await.unwrap();
    let started = Instant::now();
    loop {
        let found = store.usage_records(UsageFilter::default()).await.unwrap();
        if found.len() >= n || started.elapsed() > Duration::from_secs(15) {
            assert_eq!(found.len(), n, "records settled");
            return found;
        }
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An admin (the first user), Alice with two keys and traffic on four models (streamed and
/// not, priced, unpriced, failed), and Bob with a key and no traffic.
async fn world(backend: Backend) -> World {
    let fake = FakeOpenAi::start(FakeOpenAiConfig {
        models: vec!["gpt-4o-mini".into(), "gpt-4o".into(), UNPRICED.into()],
        ..FakeOpenAiConfig::default()
    });
    let server = TestServer::start(backend).await;
    let c = client();
    let admin = register_and_login(&c, &server, "root").await;
    let alice = register_and_login(&c, &server, "alice").await;
    let bob = register_and_login(&c, &server, "bob").await;
    add_provider(
        &c,
        &server,
        &alice,
        "openai",
        UPSTREAM_KEY,
        &fake.base_url(),
    )
    .await;
    let (_, named) = create_forge_key(&c, &server, &alice, None).await;
    let unnamed = post_json(&c, &server.url("/v1/api-keys/"), Some(&alice), &json!({})).await;
    assert_eq!(unnamed.status, 200, "{}", unnamed.text);
    let unnamed = unnamed.body["key"].as_str().unwrap().to_owned();
    let (_, bob_key) = create_forge_key(&c, &server, &bob, None).await;

    chat(&c, &server, &named, "openai/gpt-4o-mini", false).await;
    chat(&c, &server, &named, "openai/gpt-4o-mini", true).await;
    chat(&c, &server, &named, "openai/gpt-4o-mini", false).await;
    chat(&c, &server, &named, &format!("openai/{UNPRICED}"), true).await;
    chat(&c, &server, &unnamed, "openai/gpt-4o", false).await;
    // The fake answers 404: an attempt that reached the provider, without tokens.
    chat(&c, &server, &named, "openai/no-such-model", false).await;
    let records = settled(&server, 6).await;
    assert!(
        records
            .iter()
            .any(|r| r.cost_nanos.is_none() && r.input_tokens > 0)
    );
    assert!(records.iter().any(|r| r.cost_nanos.is_some()));
    assert!(records.iter().any(|r| r.streamed));
    assert!(records.iter().any(|r| r.error_class.is_some()));
    World {
        server,
        _fake: fake,
        c,
        admin,
        alice,
        bob,
        named,
        unnamed,
        bob_key,
        records,
    }
}

/// (requests, input, output, cost nanos with unpriced as 0) per (provider, model).
fn per_model(records: &[UsageRecord]) -> BTreeMap<(String, String), (i64, i64, i64, i64)> {
    let mut out = BTreeMap::new();
    for r in records {
        let e = out
            .entry((r.provider.clone(), r.upstream_model.clone()))
            .or_insert((0, 0, 0, 0));
        e.0 += 1;
        e.1 += r.input_tokens;
        e.2 += r.output_tokens;
        e.3 += r.cost_nanos.unwrap_or(0);
    }
    out
}

async fn stats_route(w: &World) {
    let url = w.server.url("/v1/stats/");
    let reply = get_with_key(&w.c, &url, &w.named).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let rows = reply.body.as_array().unwrap();
    let expected = per_model(&w.records);
    assert_eq!(rows.len(), expected.len(), "{}", reply.text);
    for row in rows {
        let k = (
            row["provider_name"].as_str().unwrap().to_owned(),
            row["model"].as_str().unwrap().to_owned(),
        );
        let (n, i, o, cost) = expected[&k];
        assert_eq!(row["requests_count"], n, "{row}");
        assert_eq!(row["input_tokens"], i, "{row}");
        assert_eq!(row["output_tokens"], o, "{row}");
        assert_eq!(row["total_tokens"], i + o, "{row}");
        let got = row["cost"].as_f64().expect("cost is a number");
        assert!((got - cost as f64 / 1e9).abs() < 1e-12, "{row}");
    }
    // The Bearer spelling works too (the user guide's); filters narrow.
    let reply = get(
        &w.c,
        &w.server.url("/v1/stats?model=gpt-4o-mini"),
        Some(&w.unnamed),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body.as_array().unwrap().len(), 1);
    assert_eq!(reply.body[0]["requests_count"], 3);
    let today = chrono::Utc::now().date_naive();
    let tomorrow = today.succ_opt().unwrap();
    let reply = get_with_key(
        &w.c,
        &format!("{url}?start_date={today}&end_date={tomorrow}&provider=openai"),
        &w.named,
    )
    .await;
    assert_eq!(reply.body.as_array().unwrap().len(), expected.len());
    let reply = get_with_key(&w.c, &format!("{url}?start_date={tomorrow}"), &w.named).await;
    assert_eq!(reply.body, json!([]));
    let reply = get_with_key(&w.c, &format!("{url}?end_date=June"), &w.named).await;
    assert_validation(&reply, &["query", "end_date"]);
    // Another user sees nothing; no key is Forge v1's 401.
    assert_eq!(get_with_key(&w.c, &url, &w.bob_key).await.body, json!([]));
    assert_detail(
        &get(&w.c, &url, None).await,
        401,
        "API key not found in headers",
    );
    // The admin twin: admins only.
    let admin = get(&w.c, &w.server.url("/v1/stats/admin"), Some(&w.admin)).await;
    assert_eq!(admin.body.as_array().unwrap().len(), expected.len());
    assert_detail(
        &get(&w.c, &w.server.url("/v1/stats/admin"), Some(&w.alice)).await,
        403,
        "Not authorized to access admin statistics",
    );
}

fn label(w: &World, r: &UsageRecord) -> String {
    let named_id = w
        .records
        .iter()
        .filter(|r| r.upstream_model == "gpt-4o-mini")
        .find_map(|r| r.forge_key_id);
    if r.forge_key_id == named_id {
        "test key".to_owned()
    } else {
        masked(&w.unnamed)
    }
}

async fn realtime_route(w: &World) {
    let url = w.server.url("/v1/statistic/usage/realtime");
    let reply = get_with_key(&w.c, &url, &w.named).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["total"], 6);
    assert_eq!(reply.body["page_size"], 10);
    assert_eq!(reply.body["page_index"], 0);
    let mut newest_first = w.records.clone();
    newest_first.reverse();
    let items = reply.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 6);
    for (item, r) in items.iter().zip(&newest_first) {
        assert_eq!(item["model_name"], r.upstream_model.as_str(), "{item}");
        assert_eq!(item["provider_name"], r.provider.as_str());
        assert_eq!(item["forge_key"], label(w, r), "{item}");
        assert_eq!(item["tokens"], r.input_tokens + r.output_tokens);
        assert_eq!(item["input_tokens"], r.input_tokens - r.cached_read_tokens);
        assert_eq!(item["output_tokens"], r.output_tokens);
        assert_eq!(item["cached_tokens"], r.cached_read_tokens);
        assert_eq!(item["cost"], decimal(r.cost_nanos.unwrap_or(0)));
        assert_eq!(item["priced"], r.cost_nanos.is_some());
        assert_eq!(item["billable"], false);
        let secs = item["duration"].as_f64().unwrap();
        assert!(
            (secs - r.duration_ms as f64 / 1000.0).abs() <= 0.005,
            "{item}"
        );
        let ts = item["timestamp"].as_str().unwrap();
        assert!(ts.ends_with("+00:00"), "{ts}");
        let parsed = chrono::DateTime::parse_from_rfc3339(ts).unwrap();
        assert_eq!(parsed.timestamp_millis(), r.started_at_ms);
    }
    // Paging keeps the total.
    let page = get_with_key(&w.c, &format!("{url}?page_size=2&page_index=1"), &w.named).await;
    assert_eq!(page.body["total"], 6);
    assert_eq!(page.body["items"].as_array().unwrap()[..], items[2..4]);
    // Case-insensitive substring filters; forge_key matches names and masks.
    let mini = get_with_key(&w.c, &format!("{url}?model_name=MINI"), &w.named).await;
    assert_eq!(mini.body["total"], 3);
    let by_name = get_with_key(&w.c, &format!("{url}?forge_key=TEST"), &w.named).await;
    assert_eq!(by_name.body["total"], 5);
    let suffix = &w.unnamed[w.unnamed.len() - 4..];
    let by_mask = get_with_key(&w.c, &format!("{url}?forge_key={suffix}"), &w.named).await;
    assert_eq!(by_mask.body["total"], 1, "{}", by_mask.text);
    let whole = get_with_key(&w.c, &format!("{url}?forge_key={}", w.unnamed), &w.named).await;
    assert_eq!(whole.body["total"], 1, "{}", whole.text);
    let both = get_with_key(
        &w.c,
        &format!("{url}?forge_key=forge-&page_size=4"),
        &w.named,
    )
    .await;
    assert_eq!(both.body["total"], 6);
    assert_eq!(both.body["items"].as_array().unwrap()[..], items[..4]);
    // A window in the past is empty; ended_at in the future is ignored.
    let old = get_with_key(
        &w.c,
        &format!("{url}?ended_at=2020-01-01T00:00:00Z"),
        &w.named,
    )
    .await;
    assert_eq!(old.body["total"], 0);
    let future = get_with_key(
        &w.c,
        &format!("{url}?ended_at=2999-01-01T00:00:00Z"),
        &w.named,
    )
    .await;
    assert_eq!(future.body["total"], 6);
    for bad in [
        "page_size=0",
        "page_index=-1",
        "page_size=x",
        "model_name=",
        "started_at=soon",
    ] {
        let reply = get_with_key(&w.c, &format!("{url}?{bad}"), &w.named).await;
        let field = bad.split('=').next().unwrap();
        assert_validation(&reply, &["query", field]);
    }
    let bob = get_with_key(&w.c, &url, &w.bob_key).await;
    assert_eq!(bob.body["total"], 0);
    assert_eq!(bob.body["items"], json!([]));
    // A JWT is not a Forge key.
    assert_detail(
        &get(&w.c, &url, Some(&w.alice)).await,
        401,
        "Invalid API key format",
    );
}

async fn summary_routes(w: &World) {
    let url = w.server.url("/v1/statistic/usage/summary");
    let reply = get(&w.c, &format!("{url}?span=day"), Some(&w.alice)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let points = reply.body.as_array().unwrap();
    assert!(!points.is_empty() && points.len() <= 2, "{}", reply.text);
    let (mut tokens, mut cost) = (0, 0);
    let mut last = String::new();
    for p in points {
        let tp = p["time_point"].as_str().unwrap().to_owned();
        assert!(tp.ends_with(":00:00+00:00"), "hourly: {tp}");
        assert!(tp > last, "oldest first");
        last = tp;
        let breakdown = p["breakdown"].as_array().unwrap();
        let sum: i64 = breakdown
            .iter()
            .map(|b| b["tokens"].as_i64().unwrap())
            .sum();
        assert_eq!(p["total_tokens"], sum);
        assert_eq!(p["total_charged_cost"], "0");
        tokens += sum;
        cost += breakdown
            .iter()
            .map(|b| nanos(b["cost"].as_str().unwrap()))
            .sum::<i64>();
        assert!(breakdown.windows(2).all(|b| {
            nanos(b[0]["cost"].as_str().unwrap()) >= nanos(b[1]["cost"].as_str().unwrap())
        }));
    }
    assert_eq!(
        tokens,
        w.records.iter().map(UsageRecord::total_tokens).sum::<i64>()
    );
    assert_eq!(
        cost,
        w.records.iter().filter_map(|r| r.cost_nanos).sum::<i64>()
    );
    let week = get(&w.c, &url, Some(&w.alice)).await;
    let points = week.body.as_array().unwrap();
    assert!(
        !points.is_empty() && points.len() <= 2,
        "daily: {}",
        week.text
    );
    assert!(points.iter().all(|p| {
        p["time_point"]
            .as_str()
            .unwrap()
            .ends_with("T00:00:00+00:00")
    }));
    let week_tokens: i64 = points
        .iter()
        .map(|p| p["total_tokens"].as_i64().unwrap())
        .sum();
    assert_eq!(week_tokens, tokens);
    assert_validation(
        &get(&w.c, &format!("{url}?span=year"), Some(&w.alice)).await,
        &["query", "span"],
    );
    assert_eq!(get(&w.c, &url, Some(&w.bob)).await.body, json!([]));
    assert_detail(&get(&w.c, &url, None).await, 401, "Not authenticated");

    let url = w.server.url("/v1/statistic/forge-keys/usage");
    let reply = get(&w.c, &format!("{url}?span=all"), Some(&w.alice)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let rows = reply.body.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{}", reply.text);
    for row in rows {
        let mine: Vec<&UsageRecord> = w
            .records
            .iter()
            .filter(|r| label(w, r) == row["forge_key"].as_str().unwrap())
            .collect();
        assert!(!mine.is_empty(), "{row}");
        assert_eq!(
            row["tokens"],
            mine.iter().map(|r| r.total_tokens()).sum::<i64>()
        );
        assert_eq!(
            row["output_tokens"],
            mine.iter().map(|r| r.output_tokens).sum::<i64>()
        );
        assert_eq!(
            row["cost"],
            decimal(mine.iter().filter_map(|r| r.cost_nanos).sum::<i64>())
        );
        assert_eq!(row["charged_cost"], "0");
    }
    assert!(nanos(rows[0]["cost"].as_str().unwrap()) >= nanos(rows[1]["cost"].as_str().unwrap()));
    for span in ["day", "week", "month", "year"] {
        let r = get(&w.c, &format!("{url}?span={span}"), Some(&w.alice)).await;
        assert_eq!(r.body, reply.body, "{span}");
    }
    assert_validation(
        &get(&w.c, &format!("{url}?span=decade"), Some(&w.alice)).await,
        &["query", "span"],
    );
    assert_eq!(get(&w.c, &url, Some(&w.bob)).await.body, json!([]));
}

fn nanos(decimal: &str) -> i64 {
    let (whole, frac) = decimal.split_once('.').unwrap_or((decimal, ""));
    let frac = format!("{frac:0<9}");
    whole.parse::<i64>().unwrap() * 1_000_000_000 + frac.parse::<i64>().unwrap()
}

async fn usage_route(w: &World) {
    let url = w.server.url("/v1/usage");
    let reply = get(&w.c, &format!("{url}?group_by=model"), Some(&w.alice)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = &reply.body;
    assert_eq!(body["group_by"], json!(["model"]));
    assert_eq!((&body["from"], &body["to"]), (&Value::Null, &Value::Null));
    let t = &body["totals"];
    let priced: Vec<&UsageRecord> = w
        .records
        .iter()
        .filter(|r| r.cost_nanos.is_some())
        .collect();
    assert_eq!(t["requests"], 6);
    assert_eq!(
        t["input_tokens"],
        w.records.iter().map(|r| r.input_tokens).sum::<i64>()
    );
    assert_eq!(
        t["output_tokens"],
        w.records.iter().map(|r| r.output_tokens).sum::<i64>()
    );
    assert_eq!(
        t["cost"],
        decimal(priced.iter().filter_map(|r| r.cost_nanos).sum())
    );
    assert_eq!(t["currency"], "USD");
    let unpriced = w
        .records
        .iter()
        .filter(|r| r.cost_nanos.is_none() && r.total_tokens() > 0)
        .count();
    assert!(unpriced >= 1);
    assert_eq!(t["unpriced_requests"], unpriced);
    assert_eq!(
        t["errors"],
        w.records.iter().filter(|r| r.error_class.is_some()).count()
    );
    let rows = body["rows"].as_array().unwrap();
    assert_eq!(rows.len(), per_model(&w.records).len());
    for row in rows {
        let model = row["model"].as_str().unwrap();
        let mine: Vec<&UsageRecord> = w
            .records
            .iter()
            .filter(|r| r.upstream_model == model)
            .collect();
        assert_eq!(row["requests"], mine.len());
        match mine
            .iter()
            .filter_map(|r| r.cost_nanos)
            .reduce(|a, b| a + b)
        {
            // Unknown cost is null, never 0.
            None => assert_eq!(row["cost"], Value::Null, "{row}"),
            Some(sum) => assert_eq!(row["cost"], decimal(sum), "{row}"),
        }
    }
    assert!(
        rows.iter()
            .any(|r| r["model"] == UNPRICED && r["cost"].is_null() && r["unpriced_requests"] == 1)
    );

    // Group by day and key: labels, and a date range that covers today.
    let today = chrono::Utc::now().date_naive();
    let reply = get(
        &w.c,
        &format!("{url}?group_by=day,key&from={today}&to={today}&provider=openai"),
        Some(&w.alice),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.body["to"],
        format!("{}T00:00:00Z", today.succ_opt().unwrap())
    );
    let keys: Vec<&str> = reply.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    let unnamed = masked(&w.unnamed);
    assert!(
        keys.contains(&"test key") && keys.contains(&unnamed.as_str()),
        "{keys:?}"
    );
    assert!(
        reply.body["rows"][0]["day"]
            .as_str()
            .unwrap()
            .starts_with(&today.to_string()[..4])
    );
    // Unknown groups and bad dates are 422s.
    assert_validation(
        &get(&w.c, &format!("{url}?group_by=week"), Some(&w.alice)).await,
        &["query", "group_by"],
    );
    assert_validation(
        &get(&w.c, &format!("{url}?from=someday"), Some(&w.alice)).await,
        &["query", "from"],
    );
    // Bob sees nothing and may not look at Alice; the admin sees everyone.
    let bob = get(&w.c, &url, Some(&w.bob)).await;
    assert_eq!(bob.body["totals"]["requests"], 0);
    assert_eq!(bob.body["totals"]["cost"], Value::Null);
    assert_eq!(bob.body["rows"][0]["requests"], 0);
    let alice_id = w.records[0].user_id.unwrap();
    let peek = get(&w.c, &format!("{url}?user_id={alice_id}"), Some(&w.bob)).await;
    assert_eq!(peek.status, 403, "{}", peek.text);
    let all = get(&w.c, &format!("{url}?group_by=user"), Some(&w.admin)).await;
    assert_eq!(all.body["totals"]["requests"], 6);
    assert_eq!(all.body["rows"][0]["username"], "alice");
    let one = get(&w.c, &format!("{url}?user_id={alice_id}"), Some(&w.admin)).await;
    assert_eq!(one.body["totals"], t.clone());
}

async fn statistics_match_the_records(backend: Backend) {
    let w = world(backend).await;
    stats_route(&w).await;
    realtime_route(&w).await;
    summary_routes(&w).await;
    usage_route(&w).await;
}

on_both_backends!(statistics_match_the_records);

/// A static forge.toml key sees its own traffic in `/v1/stats/`, and admins see it by name.
#[actix_rt::test]
async fn static_key_traffic_is_reported_by_key_name() {
    let fake = FakeOpenAi::start(FakeOpenAiConfig::default());
    let config = format!(
        "{}{}[models.m]\ndeployments = [{{ provider = \"oa\", model = \"gpt-4o-mini\" }}]\n",
        openai_provider("oa", &fake),
        static_key(),
    );
    let server = TestServer::start_with_config(&config).await;
    let c = client();
    let admin = register_and_login(&c, &server, "root").await;
    for stream in [false, true] {
        let reply = read(
            c.post(server.url("/v1/chat/completions"))
                .insert_header(("authorization", format!("Bearer {KEY}")))
                .send_json(&chat_body("m", stream))
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    let records = settled(&server, 2).await;
    let stats = get(&c, &server.url("/v1/stats/"), Some(KEY)).await;
    assert_eq!(stats.status, 200, "{}", stats.text);
    assert_eq!(stats.body.as_array().unwrap().len(), 1, "{}", stats.text);
    assert_eq!(stats.body[0]["provider_name"], "oa");
    assert_eq!(stats.body[0]["model"], "gpt-4o-mini");
    assert_eq!(stats.body[0]["requests_count"], 2);
    assert_eq!(
        stats.body[0]["input_tokens"],
        records.iter().map(|r| r.input_tokens).sum::<i64>()
    );
    let realtime = get(&c, &server.url("/v1/statistic/usage/realtime"), Some(KEY)).await;
    assert_eq!(realtime.body["total"], 0, "static keys have no user");
    let usage = get(&c, &server.url("/v1/usage?group_by=key"), Some(&admin)).await;
    assert_eq!(usage.status, 200, "{}", usage.text);
    assert_eq!(usage.body["rows"][0]["gateway_key"], "tests");
    assert_eq!(usage.body["rows"][0]["key"], "tests");
    assert_eq!(usage.body["rows"][0]["key_id"], Value::Null);
    assert_eq!(usage.body["totals"]["requests"], 2);
}
