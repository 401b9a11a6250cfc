//! Model discovery: a bare model name goes to the caller's provider keys whose model list
//! holds it, several of them tried in order with failover; nothing else is ever tried.

use forge_testkit::{FakeOpenAi, FakeOpenAiConfig, Fault, FaultMode};
use serde_json::json;

use crate::harness::{
    Backend, TestServer, client, create_forge_key, post_json, register_and_login,
};
use crate::routing::common::OPENAI_KEY;
use crate::usage::common::wait_for;

fn fake(models: &[&str]) -> FakeOpenAi {
    FakeOpenAi::start(FakeOpenAiConfig {
        models: models.iter().map(|m| (*m).to_owned()).collect(),
        ..FakeOpenAiConfig::default()
    })
}

fn chat(model: &str) -> serde_json::Value {
    json!({ "model": model, "messages": [{ "role": "user", "content": "hi" }] })
}

async fn discovery(backend: Backend) {
    let alpha = fake(&["only-a", "shared"]);
    let beta = fake(&["only-b", "shared"]);
    let s = TestServer::start(backend).await;
    let c = client();
    let jwt = register_and_login(&c, &s, "finder").await;
    let mut ids = Vec::new();
    for (name, fake) in [("alpha", &alpha), ("beta", &beta)] {
        let added = post_json(
            &c,
            &s.url("/v1/provider-keys/"),
            Some(&jwt),
            &json!({ "provider_name": name, "api_key": OPENAI_KEY, "base_url": fake.base_url() }),
        )
        .await;
        assert_eq!(added.status, 200, "{}", added.text);
        ids.push(added.body["id"].as_i64().unwrap());
    }
    let (_, key) = create_forge_key(&c, &s, &jwt, None).await;
    let url = s.url("/v1/chat/completions");

    let only_b = post_json(&c, &url, Some(&key), &chat("only-b")).await;
    assert_eq!(only_b.status, 200, "{}", only_b.text);
    assert_eq!(only_b.header("x-forge-provider"), Some("beta"));
    assert_eq!(beta.requests().last().unwrap().body["model"], "only-b");

    // Listed by both: the older key first; when it fails, the next one answers.
    let shared = post_json(&c, &url, Some(&key), &chat("shared")).await;
    assert_eq!(
        (shared.status, shared.header("x-forge-provider")),
        (200, Some("alpha"))
    );
    alpha.set_fault(Fault::status(503), FaultMode::Once);
    let failed_over = post_json(&c, &url, Some(&key), &chat("shared")).await;
    assert_eq!(failed_over.status, 200, "{}", failed_over.text);
    assert_eq!(failed_over.header("x-forge-provider"), Some("beta"));
    assert_eq!(failed_over.header("x-forge-attempts"), Some("2"));

    // A name nobody lists goes nowhere.
    let before = alpha.request_count() + beta.request_count();
    let unknown = post_json(&c, &url, Some(&key), &chat("gpt-4o-mini")).await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    assert_eq!(unknown.body["error"]["code"], "model_not_found");
    let chats = |f: &FakeOpenAi| {
        f.requests()
            .iter()
            .filter(|r| r.path.ends_with("/chat/completions"))
            .count()
    };
    assert_eq!(
        alpha.request_count() + beta.request_count() - before,
        0,
        "the lists are cached: nothing was sent ({} alpha chats, {} beta chats)",
        chats(&alpha),
        chats(&beta)
    );

    // A key scoped to alpha never reaches beta's models.
    let (_, scoped) = create_forge_key(&c, &s, &jwt, Some(vec![ids[0]])).await;
    let refused = post_json(&c, &url, Some(&scoped), &chat("only-b")).await;
    assert_eq!(refused.status, 404, "{}", refused.text);

    // Every attempt that reached a provider has its record: 200, 200, 503 + 200.
    let records = wait_for(&s, 4).await;
    let statuses: Vec<(String, u16)> = records
        .iter()
        .map(|r| (r.provider.clone(), r.status))
        .collect();
    assert_eq!(records.len(), 4, "{statuses:?}");
    assert!(
        statuses.contains(&("alpha".to_owned(), 503)),
        "{statuses:?}"
    );
}

#[actix_rt::test]
async fn a_bare_model_name_is_discovered_on_sqlite() {
    discovery(Backend::Sqlite).await;
}

#[actix_rt::test]
async fn a_bare_model_name_is_discovered_on_postgres() {
    discovery(Backend::Postgres).await;
}
