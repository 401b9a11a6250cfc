//! Request logging end to end: off unless configured, only for the callers named, secrets and
//! configured fields redacted, bodies cut to size, exported as JSON Lines, purged past
//! retention.

use std::time::{Duration, Instant};

use awc::Client;
use forge_core::usage_record::UsageRecord;
use forge_storage::{LogFilter, RequestLog, Store, UsageFilter};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::harness::{
    Backend, Reply, TestServer, add_provider, client, create_forge_key, get, read,
    register_and_login,
};
use crate::on_both_backends;
use crate::routing::common::{
    ANTHROPIC_KEY, KEY, OPENAI_KEY, anthropic, anthropic_provider, chat_body, openai,
    openai_provider, static_key,
};

/// A second static key, never logged when `[logging] keys` names only the first.
const OTHER_KEY: &str = "gw-other-key-9a8b7c6d5e4f";

fn config(
    oa: &forge_testkit::FakeOpenAi,
    claude: &forge_testkit::FakeAnthropic,
    logging: &str,
) -> String {
    format!(
        "{}{}{}[[keys]]\nname = \"other\"\nkey = \"sha256:{}\"\n\n[models.m]\ndeployments = [{{ provider = \"oa\", model = \"gpt-4o-mini\" }}]\n\n[models.c]\ndeployments = [{{ provider = \"claude\", model = \"claude-sonnet-4-5\" }}]\n\n[models.missing]\ndeployments = [{{ provider = \"oa\", model = \"no-such-model\" }}]\n\n{logging}",
        openai_provider("oa", oa),
        anthropic_provider("claude", claude),
        static_key(),
        hex::encode(Sha256::digest(OTHER_KEY.as_bytes())),
    )
}

async fn chat_as(c: &Client, s: &TestServer, key: &str, body: &Value) -> Reply {
    read(
        c.post(s.url("/v1/chat/completions"))
            .insert_header(("authorization", format!("Bearer {key}")))
            .send_json(body)
            .await
            .unwrap(),
    )
    .await
}

async fn stored(server: &TestServer) -> Vec<RequestLog> {
    let store = Store::connect(&server.database_url).await.unwrap();
    store
        .request_logs(&LogFilter::default(), None, 10_000)
        .await
        .unwrap()
}

/// Waits until `n` logs are written (the flusher writes every 500 ms).
async fn wait_for_logs(server: &TestServer, n: usize) -> Vec<RequestLog> {
    let started = Instant::now();
    loop {
        let found = stored(server).await;
        if found.len() >= n || started.elapsed() > Duration::from_secs(15) {
            return found;
        }
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `n` usage records are settled.
async fn wait_for(server: &TestServer, n: usize) -> Vec<UsageRecord> {
    let store = Store::connect(&server.database_url).await.unwrap();
    let started = Instant::now();
    loop {
        let found = store.usage_records(UsageFilter::default()).await.unwrap();
        if found.len() >= n || started.elapsed() > Duration::from_secs(15) {
            return found;
        }
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Lets a flush that would have happened happen: usage and logs flush on the same beat.
async fn settle_flushers(server: &TestServer, usage_records: usize) {
    assert_eq!(wait_for(server, usage_records).await.len(), usage_records);
    actix_rt::time::sleep(Duration::from_millis(1200)).await;
}

#[actix_rt::test]
async fn nothing_is_logged_by_default() {
    let (oa, claude) = (openai(), anthropic());
    let server = TestServer::start_with_config(&config(&oa, &claude, "")).await;
    let c = client();
    assert_eq!(
        chat_as(&c, &server, KEY, &chat_body("m", false))
            .await
            .status,
        200
    );
    assert_eq!(
        chat_as(&c, &server, KEY, &chat_body("m", true))
            .await
            .status,
        200
    );
    settle_flushers(&server, 2).await;
    assert!(stored(&server).await.is_empty());
}

on_both_backends!(
    only_the_named_key_is_logged_and_secrets_are_not,
    exact_provider_secrets_are_masked_whatever_their_shape,
);

async fn only_the_named_key_is_logged_and_secrets_are_not(backend: Backend) {
    let (oa, claude) = (openai(), anthropic());
    let logging = "[logging]\nenabled = true\nkeys = [\"tests\"]\nredact_fields = [\"ssn\"]\n";
    let server = TestServer::start_with_config_on(backend, &config(&oa, &claude, logging)).await;
    let c = client();
    let mut secret_body = chat_body("m", false);
    secret_body["messages"][0]["content"] = json!(format!("my key is {KEY}, keep it safe"));
    secret_body["password"] = json!("hunter2-password");
    secret_body["user_info"] = json!({"SSN": "078-05-1120", "city": "Springfield"});
    let plain = chat_as(&c, &server, KEY, &secret_body).await;
    assert_eq!(plain.status, 200, "{}", plain.text);
    let streamed = chat_as(&c, &server, KEY, &chat_body("m", true)).await;
    assert_eq!(streamed.status, 200);
    let translated = chat_as(&c, &server, KEY, &chat_body("c", false)).await;
    assert_eq!(translated.status, 200, "{}", translated.text);
    let failed = chat_as(&c, &server, KEY, &chat_body("missing", false)).await;
    assert_eq!(failed.status, 404, "{}", failed.text);
    // The other key's traffic is metered but not logged.
    assert_eq!(
        chat_as(&c, &server, OTHER_KEY, &secret_body).await.status,
        200
    );
    settle_flushers(&server, 5).await;

    let logs = wait_for_logs(&server, 4).await;
    assert_eq!(logs.len(), 4, "{logs:?}");
    let records = wait_for(&server, 5).await;
    for log in &logs {
        assert_eq!(log.gateway_key.as_deref(), Some("tests"));
        assert!(
            records
                .iter()
                .any(|r| r.id == log.id && r.status == log.status)
        );
        assert!(!log.truncated);
        for secret in [
            KEY,
            OTHER_KEY,
            OPENAI_KEY,
            ANTHROPIC_KEY,
            "hunter2",
            "078-05-1120",
        ] {
            assert!(!log.request_body.contains(secret), "{}", log.request_body);
            let response = log.response_body.as_deref().unwrap_or("");
            assert!(!response.contains(secret), "{response}");
        }
    }
    let find = |model: &str, streamed: bool| {
        logs.iter()
            .find(|l| l.model == model && l.streamed == streamed)
            .unwrap_or_else(|| panic!("no log for {model} (streamed: {streamed})"))
    };

    // The request exactly as sent, apart from what is masked.
    let first = find("m", false);
    let request: Value = serde_json::from_str(&first.request_body).unwrap();
    assert_eq!(request["password"], "[REDACTED]");
    assert_eq!(request["user_info"]["SSN"], "[REDACTED]");
    assert_eq!(request["user_info"]["city"], "Springfield");
    assert_eq!(
        request["messages"][0]["content"],
        "my key is [REDACTED], keep it safe"
    );
    let response: Value = serde_json::from_str(first.response_body.as_deref().unwrap()).unwrap();
    assert_eq!(response, plain.body);
    assert_eq!((first.provider.as_str(), first.status), ("oa", 200));

    // A stream keeps the text it delivered.
    let stream = find("m", true);
    assert_eq!(
        stream.response_body.as_deref(),
        Some("Hello from fake upstream (model gpt-4o-mini)")
    );
    // A translated answer is logged as the client got it.
    let answer: Value =
        serde_json::from_str(find("c", false).response_body.as_deref().unwrap()).unwrap();
    assert_eq!(answer["choices"], translated.body["choices"]);
    // A failed attempt keeps the upstream's error.
    let error = find("missing", false);
    assert_eq!(error.status, 404);
    assert!(
        error
            .response_body
            .as_deref()
            .unwrap()
            .contains("no-such-model")
    );
}

/// Provider keys that do not look like keys are masked too: the exact credentials Forge holds
/// (the attempt's stored provider key, every forge.toml key) are looked for in both bodies.
async fn exact_provider_secrets_are_masked_whatever_their_shape(backend: Backend) {
    const STORED: &str = "CANARYPK-stored-provider-secret-not-key-shaped";
    const LITERAL: &str = "CANARYTOML-literal-forge-toml-secret";
    let echo = |key: &str| {
        forge_testkit::FakeOpenAi::start(forge_testkit::FakeOpenAiConfig {
            api_key: key.to_owned(),
            reply: Some(format!("the upstream echoes {key} back")),
            ..forge_testkit::FakeOpenAiConfig::default()
        })
    };
    let (user_fake, toml_fake) = (echo(STORED), echo(LITERAL));
    let config = format!(
        "[[providers]]\nname = \"lit\"\nkind = \"openai-compatible\"\nbase_url = \"{}\"\nkeys = [{{ key = \"{LITERAL}\" }}]\n\n{}[models.m]\ndeployments = [{{ provider = \"lit\", model = \"gpt-4o-mini\" }}]\n\n[logging]\nenabled = true\n",
        toml_fake.base_url(),
        static_key(),
    );
    let server = TestServer::start_with_config_on(backend, &config).await;
    let c = client();
    let jwt = register_and_login(&c, &server, "echoer").await;
    add_provider(&c, &server, &jwt, "echo", STORED, &user_fake.base_url()).await;
    let (_, forge_key) = create_forge_key(&c, &server, &jwt, None).await;

    let mut body = chat_body("echo/gpt-4o-mini", false);
    body["messages"][0]["content"] = json!(format!("repeat {STORED} and {LITERAL}"));
    let user = chat_as(&c, &server, &forge_key, &body).await;
    assert_eq!(user.status, 200, "{}", user.text);
    assert!(
        user.text.contains(STORED),
        "the client gets the answer as is"
    );
    let routed = chat_as(&c, &server, KEY, &chat_body("m", true)).await;
    assert_eq!(routed.status, 200, "{}", routed.text);
    settle_flushers(&server, 2).await;

    let logs = wait_for_logs(&server, 2).await;
    assert_eq!(logs.len(), 2, "{logs:?}");
    for log in &logs {
        let response = log.response_body.as_deref().unwrap_or("");
        assert!(response.contains("the upstream echoes"), "{response}");
        for secret in [STORED, LITERAL] {
            assert!(!log.request_body.contains(secret), "{}", log.request_body);
            assert!(!response.contains(secret), "{response}");
        }
    }
}

#[actix_rt::test]
async fn bodies_are_cut_to_max_body_bytes() {
    let (oa, claude) = (openai(), anthropic());
    let logging = "[logging]\nenabled = true\nmax_body_bytes = 300\n";
    let server = TestServer::start_with_config(&config(&oa, &claude, logging)).await;
    let c = client();
    let mut body = chat_body("m", false);
    body["messages"][0]["content"] = json!("é".repeat(2000));
    assert_eq!(chat_as(&c, &server, KEY, &body).await.status, 200);
    assert_eq!(
        chat_as(&c, &server, OTHER_KEY, &chat_body("m", false))
            .await
            .status,
        200
    );
    let logs = wait_for_logs(&server, 2).await;
    assert_eq!(logs.len(), 2);
    let long = logs
        .iter()
        .find(|l| l.gateway_key.as_deref() == Some("tests"))
        .unwrap();
    assert!(long.truncated);
    assert!(long.request_body.len() <= 300 && long.request_body.len() >= 298);
    // The answer is longer than 300 bytes too, and cut the same way.
    assert!(long.response_body.as_deref().unwrap().len() <= 300);
    // Without `keys`, every caller is logged.
    let other = logs
        .iter()
        .find(|l| l.gateway_key.as_deref() == Some("other"))
        .unwrap();
    assert_eq!(other.request_body, chat_body("m", false).to_string());
}

#[actix_rt::test]
async fn export_streams_json_lines_each_caller_sees_their_own() {
    let (oa, claude) = (openai(), anthropic());
    let server =
        TestServer::start_with_config(&config(&oa, &claude, "[logging]\nenabled = true\n")).await;
    let c = client();
    let admin = register_and_login(&c, &server, "root").await;
    let alice = register_and_login(&c, &server, "alice").await;
    add_provider(&c, &server, &alice, "openai", OPENAI_KEY, &oa.base_url()).await;
    let (key_id, alice_key) = create_forge_key(&c, &server, &alice, None).await;
    for _ in 0..3 {
        let reply = chat_as(
            &c,
            &server,
            &alice_key,
            &chat_body("openai/gpt-4o-mini", false),
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    assert_eq!(
        chat_as(&c, &server, KEY, &chat_body("m", true))
            .await
            .status,
        200
    );
    assert_eq!(wait_for_logs(&server, 4).await.len(), 4);

    let lines = |reply: &Reply| -> Vec<Value> {
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.header("content-type"), Some("application/x-ndjson"));
        assert!(reply.text.is_empty() || reply.text.ends_with('\n'));
        reply
            .text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    };
    let mine = lines(&get(&c, &server.url("/v1/logs/export"), Some(&alice)).await);
    assert_eq!(mine.len(), 3);
    for line in &mine {
        assert_eq!(line["key_id"], key_id);
        assert_eq!(line["model"], "openai/gpt-4o-mini");
        assert_eq!(line["status"], 200);
        assert!(!line["request_body"].as_str().unwrap().contains(&alice_key));
        assert!(line["started_at"].as_str().unwrap().ends_with('Z'));
    }
    let times: Vec<&str> = mine
        .iter()
        .map(|l| l["started_at"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "oldest first");
    let by_key = format!("/v1/logs/export?key_id={key_id}&from=2000-01-01");
    assert_eq!(
        lines(&get(&c, &server.url(&by_key), Some(&alice)).await).len(),
        3
    );
    let none = "/v1/logs/export?to=2000-01-01";
    assert!(lines(&get(&c, &server.url(none), Some(&alice)).await).is_empty());

    // Others are the admin's business.
    let forbidden = get(&c, &server.url("/v1/logs/export?all=true"), Some(&alice)).await;
    assert_eq!(forbidden.status, 403);
    let own = lines(&get(&c, &server.url("/v1/logs/export"), Some(&admin)).await);
    assert!(own.is_empty());
    let all = lines(&get(&c, &server.url("/v1/logs/export?all=true"), Some(&admin)).await);
    assert_eq!(all.len(), 4);
    let gateway = "/v1/logs/export?gateway_key=tests";
    let gateway = lines(&get(&c, &server.url(gateway), Some(&admin)).await);
    assert_eq!(gateway.len(), 1);
    assert_eq!(gateway[0]["streamed"], true);
    assert_eq!(gateway[0]["user_id"], Value::Null);
    let unauthenticated = get(&c, &server.url("/v1/logs/export"), None).await;
    assert_eq!(unauthenticated.status, 401);
}

#[actix_rt::test]
async fn logs_past_retention_are_purged() {
    let (oa, claude) = (openai(), anthropic());
    let logging = |days: u32| format!("[logging]\nenabled = true\nretention_days = {days}\n");
    let mut server = TestServer::start_with_config(&config(&oa, &claude, &logging(30))).await;
    let store = Store::connect(&server.database_url).await.unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    let day = 86_400_000;
    let old = |n: i64, age: i64| RequestLog {
        id: format!("old{n}"),
        started_at_ms: now - age,
        request_body: "{}".into(),
        ..RequestLog::default()
    };
    store
        .insert_request_logs(vec![old(1, 3 * day), old(2, day), old(3, 10 * day)])
        .await
        .unwrap();
    // Directly, with a retention of five days.
    assert_eq!(forge_server::logs::purge(&store, 5, now).await.unwrap(), 1);
    // The server purges with the configured retention when it starts, then hourly.
    server.write_config(&config(&oa, &claude, &logging(2)));
    server.restart().await;
    let started = Instant::now();
    let left = loop {
        let left = stored(&server).await;
        if left.len() == 1 || started.elapsed() > Duration::from_secs(15) {
            break left;
        }
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    };
    let ids: Vec<&str> = left.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, ["old2"]);
}
