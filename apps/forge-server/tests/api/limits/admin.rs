//! Limits and budgets set through the admin API: an administrator's per-user limits, a user's
//! own tighter per-key limits, and both applied to the next request without a restart.

use awc::Client;
use forge_testkit::{FakeOpenAi, FakeOpenAiConfig};
use serde_json::{Value, json};

use crate::harness::{
    Backend, Reply, TestServer, add_provider, assert_detail, assert_validation, client,
    create_forge_key, get, read, register_and_login, send_json, send_raw,
};
use crate::on_both_backends;

/// An admin (the first account) and `bob`, who has an OpenAI provider key on a fake and
/// one Forge key.
struct Setup {
    server: TestServer,
    _fake: FakeOpenAi,
    c: Client,
    admin: String,
    bob: String,
    bob_id: i64,
    key_id: i64,
    key: String,
}

async fn setup(server: TestServer) -> Setup {
    let fake = FakeOpenAi::start(FakeOpenAiConfig::default());
    let c = client();
    let admin = register_and_login(&c, &server, "admin").await;
    let bob = register_and_login(&c, &server, "bob").await;
    let me = get(&c, &server.url("/v1/users/me"), Some(&bob)).await;
    let bob_id = me.body["id"].as_i64().unwrap();
    add_provider(
        &c,
        &server,
        &bob,
        "openai",
        "sk-fake-upstream-key-0001",
        &fake.base_url(),
    )
    .await;
    let (key_id, key) = create_forge_key(&c, &server, &bob, None).await;
    Setup {
        server,
        _fake: fake,
        c,
        admin,
        bob,
        bob_id,
        key_id,
        key,
    }
}

impl Setup {
    async fn chat_with(&self, key: &str) -> Reply {
        let body = json!({ "model": "openai/gpt-4o-mini", "messages": [{ "role": "user", "content": "hi" }] });
        let req = self
            .c
            .post(self.server.url("/v1/chat/completions"))
            .insert_header(("x-api-key", key));
        read(req.send_json(&body).await.unwrap()).await
    }

    async fn chat(&self) -> Reply {
        self.chat_with(&self.key).await
    }

    fn user_limits(&self) -> String {
        self.server
            .url(&format!("/v1/admin/users/{}/limits", self.bob_id))
    }

    fn key_limits(&self) -> String {
        self.server
            .url(&format!("/v1/api-keys/{}/limits", self.key_id))
    }

    async fn put(&self, url: &str, jwt: &str, body: Value) -> Reply {
        send_json(&self.c, "PUT", url, Some(jwt), &body).await
    }

    async fn delete(&self, url: &str, jwt: &str) -> Reply {
        send_raw(&self.c, "DELETE", url, Some(jwt), None).await
    }
}

#[track_caller]
fn assert_refused(reply: &Reply, owner: &str, what: &str) {
    assert_eq!(reply.status, 429, "{}", reply.text);
    let message = reply.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(owner) && message.contains(what),
        "{message}"
    );
}

on_both_backends!(limits_set_through_the_api_apply_at_once);

async fn limits_set_through_the_api_apply_at_once(backend: Backend) {
    let s = setup(TestServer::start(backend).await).await;
    // Warms the key cache, so what follows proves that every change drops cached entries.
    assert_eq!(s.chat().await.status, 200);
    let none = get(&s.c, &s.key_limits(), Some(&s.bob)).await;
    assert_eq!(none.status, 200, "{}", none.text);
    assert_eq!(none.body["source"], "none");
    assert_eq!(none.body["scope"], format!("key:{}", s.key_id));
    assert_eq!(none.body["rpm"], Value::Null);

    // The administrator limits bob's account: his 4th request in the minute is refused.
    let set = s.put(&s.user_limits(), &s.admin, json!({"rpm": 3})).await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(set.body["scope"], format!("user:{}", s.bob_id));
    assert_eq!(set.body["source"], "user");
    assert_eq!(set.body["rpm"], 3);
    assert!(set.body["updated_at"].is_string());
    let read_back = get(&s.c, &s.user_limits(), Some(&s.admin)).await;
    assert_eq!(read_back.body, set.body);
    for _ in 0..3 {
        assert_eq!(s.chat().await.status, 200);
    }
    assert_refused(&s.chat().await, "your account", "requests per minute");

    // Deleting restores forge.toml's default (here: none) at once.
    let cleared = s.delete(&s.user_limits(), &s.admin).await;
    assert_eq!(cleared.status, 200, "{}", cleared.text);
    assert_eq!(cleared.body["source"], "none");
    assert_eq!(s.chat().await.status, 200);

    // The account's window still holds those 3 requests: at 6, three more fit.
    let set = s.put(&s.user_limits(), &s.admin, json!({"rpm": 6})).await;
    assert_eq!(set.status, 200, "{}", set.text);
    // A key may not be looser than its account, nor leave the account's limit out.
    let looser = s.put(&s.key_limits(), &s.bob, json!({"rpm": 10})).await;
    assert_validation(&looser, &["body", "rpm"]);
    assert!(looser.text.contains("at most 6"), "{}", looser.text);
    let unset = s.put(&s.key_limits(), &s.bob, json!({"tpm": 100})).await;
    assert_validation(&unset, &["body", "rpm"]);

    let key = s.put(&s.key_limits(), &s.bob, json!({"rpm": 2})).await;
    assert_eq!(key.status, 200, "{}", key.text);
    assert_eq!(key.body["source"], "key");
    assert_eq!(key.body["rpm"], 2);
    assert_eq!(
        get(&s.c, &s.key_limits(), Some(&s.bob)).await.body["rpm"],
        2
    );
    assert_eq!(s.chat().await.status, 200);
    assert_eq!(s.chat().await.status, 200);
    assert_refused(&s.chat().await, "this API key", "requests per minute");

    // The account's limit counts every key of bob's.
    let (_, other) = create_forge_key(&s.c, &s.server, &s.bob, None).await;
    assert_eq!(s.chat_with(&other).await.status, 200);
    assert_refused(
        &s.chat_with(&other).await,
        "your account",
        "requests per minute",
    );

    let cleared = s.delete(&s.key_limits(), &s.bob).await;
    assert_eq!(cleared.status, 200, "{}", cleared.text);
    assert_eq!(cleared.body["source"], "none");
    assert_refused(&s.chat().await, "your account", "requests per minute");
    assert_eq!(s.delete(&s.user_limits(), &s.admin).await.status, 200);
    for _ in 0..3 {
        assert_eq!(s.chat().await.status, 200);
    }
}

#[actix_rt::test]
async fn a_token_budget_set_through_the_api_refuses_with_429() {
    let s = setup(TestServer::start(Backend::Sqlite).await).await;
    let first = s.chat().await;
    assert_eq!(first.status, 200, "{}", first.text);
    let tokens = first.body["usage"]["total_tokens"].as_i64().unwrap();
    let budget = json!({"budgets": [{"period": "day", "max_tokens": tokens * 2}]});
    let set = s.put(&s.user_limits(), &s.admin, budget).await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(
        set.body["budgets"],
        json!([{"period": "day", "max_cost": null, "max_tokens": tokens * 2}])
    );

    // A key's budget must stay within the account's, period by period.
    let over = json!({"budgets": [{"period": "day", "max_tokens": tokens * 2 + 1}]});
    assert_validation(
        &s.put(&s.key_limits(), &s.bob, over).await,
        &["body", "budgets"],
    );
    let other_period = json!({"budgets": [{"period": "month", "max_tokens": 1}]});
    let missing = s.put(&s.key_limits(), &s.bob, other_period).await;
    assert_validation(&missing, &["body", "budgets"]);
    assert!(
        missing.text.contains("daily budget is required"),
        "{}",
        missing.text
    );

    let mut refused = None;
    for _ in 0..6 {
        let reply = s.chat().await;
        if reply.status != 200 {
            refused = Some(reply);
            break;
        }
    }
    let refused = refused.expect("the budget never ran out");
    assert_refused(&refused, "your account", "daily token budget");
    assert_eq!(refused.body["error"]["type"], "insufficient_quota");
}

#[actix_rt::test]
async fn a_cost_budget_reads_back_in_currency_units() {
    let s = setup(TestServer::start(Backend::Sqlite).await).await;
    let body = json!({"concurrency": 4, "budgets": [
        {"period": "month", "max_cost": "50"},
        {"period": "day", "max_cost": 5.5, "max_tokens": 1000},
    ]});
    let set = s.put(&s.user_limits(), &s.admin, body).await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(
        set.body["budgets"],
        json!([
            {"period": "month", "max_cost": "50.00", "max_tokens": null},
            {"period": "day", "max_cost": "5.50", "max_tokens": 1000},
        ])
    );
    // What GET answered can be sent back as it is.
    let again = s.put(&s.user_limits(), &s.admin, set.body.clone()).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["budgets"], set.body["budgets"]);

    let key = json!({"concurrency": 2, "budgets": [
        {"period": "month", "max_cost": "50.01"},
        {"period": "day", "max_cost": "1", "max_tokens": 10},
    ]});
    let looser = s.put(&s.key_limits(), &s.bob, key).await;
    assert_validation(&looser, &["body", "budgets"]);
    assert!(looser.text.contains("at most 50.00"), "{}", looser.text);
}

#[actix_rt::test]
async fn only_admins_and_owners_reach_limits() {
    let s = setup(TestServer::start(Backend::Sqlite).await).await;
    let url = s.user_limits();
    assert_detail(
        &get(&s.c, &url, Some(&s.bob)).await,
        403,
        "Admin privileges required",
    );
    assert_detail(
        &s.put(&url, &s.bob, json!({"rpm": 1000})).await,
        403,
        "Admin privileges required",
    );
    assert_detail(
        &s.delete(&url, &s.bob).await,
        403,
        "Admin privileges required",
    );
    assert_eq!(get(&s.c, &url, None).await.status, 401);
    assert_eq!(get(&s.c, &s.key_limits(), None).await.status, 401);

    // Someone else's key is not found, not forbidden: its existence is not revealed.
    assert_detail(
        &get(&s.c, &s.key_limits(), Some(&s.admin)).await,
        404,
        "API key not found",
    );
    assert_detail(
        &s.put(&s.key_limits(), &s.admin, json!({"rpm": 1})).await,
        404,
        "API key not found",
    );
    let nobody = s.server.url("/v1/admin/users/999999/limits");
    assert_detail(
        &get(&s.c, &nobody, Some(&s.admin)).await,
        404,
        "User not found",
    );

    assert_validation(
        &s.put(&url, &s.admin, json!({"rpm": 0})).await,
        &["body", "rpm"],
    );
    assert_validation(&s.put(&url, &s.admin, json!({"rpn": 5})).await, &["body"]);
    let twice = json!({"budgets": [{"period": "day", "max_tokens": 1}, {"period": "day", "max_tokens": 2}]});
    assert_validation(&s.put(&url, &s.admin, twice).await, &["body", "budgets"]);
    let bad_cost = json!({"budgets": [{"period": "day", "max_cost": "five"}]});
    assert_validation(&s.put(&url, &s.admin, bad_cost).await, &["body"]);
    assert_validation(
        &s.put(&s.server.url("/v1/api-keys/x/limits"), &s.bob, json!({}))
            .await,
        &["path"],
    );
}

#[actix_rt::test]
async fn forge_toml_defaults_show_and_bound_until_overridden() {
    let server = TestServer::start_with_config_on(
        Backend::Sqlite,
        "[limits.forge_keys]\nrpm = 100\n\n[limits.users]\nrpm = 50\nbudgets = [{ period = \"day\", max_cost = \"2.5\" }]\n",
    )
    .await;
    let s = setup(server).await;
    let key = get(&s.c, &s.key_limits(), Some(&s.bob)).await;
    assert_eq!(key.status, 200, "{}", key.text);
    assert_eq!(key.body["source"], "config");
    assert_eq!(key.body["rpm"], 100);
    assert_eq!(key.body["updated_at"], Value::Null);
    let user = get(&s.c, &s.user_limits(), Some(&s.admin)).await;
    assert_eq!(user.body["source"], "config");
    assert_eq!(user.body["rpm"], 50);
    assert_eq!(user.body["budgets"][0]["max_cost"], "2.50");

    // forge.toml's per-user default bounds a key like an administrator's setting does.
    let looser = json!({"rpm": 60, "budgets": [{"period": "day", "max_cost": "2.5"}]});
    assert_validation(
        &s.put(&s.key_limits(), &s.bob, looser).await,
        &["body", "rpm"],
    );
    let within = json!({"rpm": 40, "budgets": [{"period": "day", "max_cost": "1"}]});
    assert_eq!(s.put(&s.key_limits(), &s.bob, within).await.status, 200);
    // Once the administrator sets the account, forge.toml's default no longer binds it.
    let set = s.put(&s.user_limits(), &s.admin, json!({"rpm": 500})).await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(
        s.put(&s.key_limits(), &s.bob, json!({"rpm": 400}))
            .await
            .status,
        200
    );
}
