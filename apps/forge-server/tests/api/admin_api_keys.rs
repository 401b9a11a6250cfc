//! Spec §2.4 and §3.2 end to end: every `/v1/api-keys` route, its scope semantics, and the
//! effect of each change on the proxy at once.

use awc::Client;
use forge_testkit::{FakeOpenAi, FakeOpenAiConfig};
use serde_json::{Value, json};

use crate::harness::{
    Backend, Reply, TestServer, add_provider, assert_detail, assert_hides, assert_validation,
    client, get, post_json, read, register_and_login, send_json, send_raw,
};
use crate::on_both_backends;

const BAD_SCOPE: &str = "One or more provider_key_ids are invalid or do not belong to the user.";
const BAD_NEW_SCOPE: &str =
    "One or more updated provider_key_ids are invalid or do not belong to the user.";

fn masked(full: &str) -> String {
    format!("forge-{}{}", "*".repeat(32), &full[full.len() - 4..])
}

async fn create(c: &Client, s: &TestServer, jwt: &str, body: &Value) -> Reply {
    post_json(c, &s.url("/v1/api-keys/"), Some(jwt), body).await
}

async fn update(c: &Client, s: &TestServer, jwt: &str, id: i64, body: &Value) -> Reply {
    send_json(
        c,
        "PUT",
        &s.url(&format!("/v1/api-keys/{id}")),
        Some(jwt),
        body,
    )
    .await
}

async fn delete(c: &Client, s: &TestServer, jwt: &str, id: i64) -> Reply {
    send_raw(
        c,
        "DELETE",
        &s.url(&format!("/v1/api-keys/{id}")),
        Some(jwt),
        None,
    )
    .await
}

async fn regenerate(c: &Client, s: &TestServer, jwt: &str, id: i64) -> Reply {
    let url = s.url(&format!("/v1/api-keys/{id}/regenerate"));
    send_raw(c, "POST", &url, Some(jwt), None).await
}

async fn list(c: &Client, s: &TestServer, jwt: &str) -> Vec<Value> {
    let reply = get(c, &s.url("/v1/api-keys/"), Some(jwt)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body.as_array().unwrap().clone()
}

/// `GET /v1/models` with a Forge key: the status and the listed ids.
async fn models(c: &Client, s: &TestServer, key: &str) -> (u16, Vec<String>) {
    let resp = c
        .get(s.url("/v1/models"))
        .insert_header(("x-api-key", key))
        .send()
        .await
        .unwrap();
    let reply = read(resp).await;
    let ids = reply.body["data"]
        .as_array()
        .map(|data| {
            data.iter()
                .map(|m| m["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    (reply.status, ids)
}

/// The providers whose models a key lists, sorted.
async fn providers_seen(c: &Client, s: &TestServer, key: &str) -> Vec<String> {
    let (status, ids) = models(c, s, key).await;
    assert_eq!(status, 200);
    let mut names: Vec<String> = ids
        .iter()
        .map(|id| id.split_once('/').unwrap().0.to_owned())
        .collect();
    names.sort();
    names.dedup();
    names
}

#[track_caller]
fn assert_key_shape(body: &Value) {
    for field in [
        "id",
        "key",
        "is_active",
        "created_at",
        "allowed_provider_key_ids",
    ] {
        assert!(body.get(field).is_some(), "{field} missing: {body}");
    }
    assert!(body["name"].is_null() || body["name"].is_string());
    assert!(body["last_used_at"].is_null() || body["last_used_at"].is_string());
    assert!(
        body["allowed_provider_key_ids"].is_array(),
        "never null: {body}"
    );
}

async fn create_and_list(b: Backend) {
    let s = TestServer::start(b).await;
    let c = client();
    let jwt = register_and_login(&c, &s, "alice").await;
    assert!(list(&c, &s, &jwt).await.is_empty());

    let reply = create(&c, &s, &jwt, &json!({})).await;
    assert_eq!(reply.status, 200, "never 201: {}", reply.text);
    assert_key_shape(&reply.body);
    assert_eq!(reply.body["name"], Value::Null);
    assert_eq!(reply.body["is_active"], true);
    assert_eq!(reply.body["last_used_at"], Value::Null);
    assert_eq!(reply.body["allowed_provider_key_ids"], json!([]));
    let first = reply.body["key"].as_str().unwrap().to_owned();
    let hex = first.strip_prefix("forge-").unwrap();
    assert!(hex.len() >= 36, "{first}");
    assert!(
        hex.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    let first_id = reply.body["id"].as_i64().unwrap();

    let reply = create(&c, &s, &jwt, &json!({ "name": "laptop" })).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["name"], "laptop");
    let second = reply.body["key"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    let second_id = reply.body["id"].as_i64().unwrap();

    let reply = get(&c, &s.url("/v1/api-keys"), Some(&jwt)).await;
    assert_eq!(reply.status, 200);
    assert_hides(&reply, &[&first, &second, &jwt]);
    let keys = reply.body.as_array().unwrap();
    assert_eq!(keys.len(), 2);
    for (id, full, name) in [
        (first_id, &first, Value::Null),
        (second_id, &second, json!("laptop")),
    ] {
        let entry = keys.iter().find(|k| k["id"] == id).unwrap();
        assert_key_shape(entry);
        assert_eq!(entry["key"], masked(full), "forge- + 32 '*' + last 4");
        assert_eq!(entry["name"], name);
    }

    // Both full keys authenticate; a use stamps `last_used_at` eventually (not asserted: it is
    // flushed in the background).
    for key in [&first, &second] {
        assert_eq!(models(&c, &s, key).await.0, 200);
    }

    for body in [
        json!({ "name": 5 }),
        json!({ "allowed_provider_key_ids": "all" }),
        json!({ "allowed_provider_key_ids": ["x"] }),
        json!([]),
    ] {
        assert_validation(&create(&c, &s, &jwt, &body).await, &["body"]);
    }
    let reply = send_raw(
        &c,
        "POST",
        &s.url("/v1/api-keys/"),
        Some(&jwt),
        Some(("application/json", "{oops")),
    )
    .await;
    assert_validation(&reply, &["body"]);
    assert_eq!(list(&c, &s, &jwt).await.len(), 2, "nothing half-created");
}

async fn scope_semantics(b: Backend) {
    let fake = FakeOpenAi::start(FakeOpenAiConfig::default());
    let s = TestServer::start(b).await;
    let c = client();
    let jwt = register_and_login(&c, &s, "alice").await;
    let bob = register_and_login(&c, &s, "bob").await;
    let p1 = add_provider(&c, &s, &jwt, "openai", fake.api_key(), &fake.base_url()).await;
    let p2 = add_provider(&c, &s, &jwt, "other", fake.api_key(), &fake.base_url()).await;
    let gone = add_provider(&c, &s, &jwt, "gone", fake.api_key(), &fake.base_url()).await;
    let reply = send_raw(
        &c,
        "DELETE",
        &s.url("/v1/provider-keys/gone"),
        Some(&jwt),
        None,
    )
    .await;
    assert_eq!(reply.status, 200);
    let foreign = add_provider(&c, &s, &bob, "openai", fake.api_key(), &fake.base_url()).await;
    let both = vec!["openai".to_owned(), "other".to_owned()];

    // Omitted or null: unrestricted (reported as []).
    for body in [json!({}), json!({ "allowed_provider_key_ids": null })] {
        let reply = create(&c, &s, &jwt, &body).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.body["allowed_provider_key_ids"], json!([]));
        let key = reply.body["key"].as_str().unwrap();
        assert_eq!(providers_seen(&c, &s, key).await, both);
    }
    // []: nothing allowed.
    let reply = create(&c, &s, &jwt, &json!({ "allowed_provider_key_ids": [] })).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["allowed_provider_key_ids"], json!([]));
    let nothing = reply.body["key"].as_str().unwrap().to_owned();
    assert!(providers_seen(&c, &s, &nothing).await.is_empty());
    // [ids]: only those (duplicates allowed).
    let reply = create(
        &c,
        &s,
        &jwt,
        &json!({ "allowed_provider_key_ids": [p1, p1] }),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["allowed_provider_key_ids"], json!([p1]));
    let scoped_id = reply.body["id"].as_i64().unwrap();
    let scoped = reply.body["key"].as_str().unwrap().to_owned();
    assert_eq!(providers_seen(&c, &s, &scoped).await, vec!["openai"]);

    let before = list(&c, &s, &jwt).await.len();
    for ids in [
        json!([foreign]),
        json!([p1, foreign]),
        json!([999_999]),
        json!([gone]),
    ] {
        let reply = create(&c, &s, &jwt, &json!({ "allowed_provider_key_ids": ids })).await;
        assert_detail(&reply, 400, BAD_SCOPE);
    }
    assert_eq!(list(&c, &s, &jwt).await.len(), before, "no key was created");

    // Update: absent or null leave the scope alone; [] empties it; [ids] replaces it.
    for body in [
        json!({}),
        json!({ "allowed_provider_key_ids": null }),
        json!({ "name": "n" }),
    ] {
        let reply = update(&c, &s, &jwt, scoped_id, &body).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.body["allowed_provider_key_ids"], json!([p1]));
    }
    let reply = update(
        &c,
        &s,
        &jwt,
        scoped_id,
        &json!({ "allowed_provider_key_ids": [p2] }),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["allowed_provider_key_ids"], json!([p2]));
    assert_eq!(providers_seen(&c, &s, &scoped).await, vec!["other"]);
    let reply = update(
        &c,
        &s,
        &jwt,
        scoped_id,
        &json!({ "allowed_provider_key_ids": [p1, p2] }),
    )
    .await;
    let mut ids: Vec<i64> = reply.body["allowed_provider_key_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, vec![p1, p2]);
    assert_eq!(providers_seen(&c, &s, &scoped).await, both);
    for ids in [json!([foreign]), json!([999_999]), json!([gone, p1])] {
        let reply = update(
            &c,
            &s,
            &jwt,
            scoped_id,
            &json!({ "allowed_provider_key_ids": ids }),
        )
        .await;
        assert_detail(&reply, 400, BAD_NEW_SCOPE);
    }
    assert_eq!(
        providers_seen(&c, &s, &scoped).await,
        both,
        "a refused update changes nothing"
    );
    let reply = update(
        &c,
        &s,
        &jwt,
        scoped_id,
        &json!({ "allowed_provider_key_ids": [] }),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["allowed_provider_key_ids"], json!([]));
    assert!(providers_seen(&c, &s, &scoped).await.is_empty());
    // A scope-denied call is refused before the upstream.
    let before = fake.request_count();
    let resp = c
        .post(s.url("/v1/chat/completions"))
        .insert_header(("x-api-key", scoped.as_str()))
        .send_json(&json!({ "model": "openai/gpt-4o-mini", "messages": [{ "role": "user", "content": "hi" }] }))
        .await
        .unwrap();
    assert_eq!(read(resp).await.status, 403);
    assert_eq!(fake.request_count(), before);
}

async fn update_name_and_activity(b: Backend) {
    let s = TestServer::start(b).await;
    let c = client();
    let jwt = register_and_login(&c, &s, "alice").await;
    let reply = create(&c, &s, &jwt, &json!({ "name": "first" })).await;
    let id = reply.body["id"].as_i64().unwrap();
    let full = reply.body["key"].as_str().unwrap().to_owned();

    for (body, name) in [
        (json!({ "name": "second" }), json!("second")),
        (json!({}), json!("second")),
        (json!({ "is_active": true }), json!("second")),
        (json!({ "name": null }), Value::Null),
        (json!({ "name": "third" }), json!("third")),
        (json!({ "name": "" }), Value::Null),
    ] {
        let reply = update(&c, &s, &jwt, id, &body).await;
        assert_eq!(reply.status, 200, "{body}: {}", reply.text);
        assert_key_shape(&reply.body);
        assert_eq!(reply.body["id"], id);
        assert_eq!(reply.body["name"], name, "{body}");
        assert_eq!(
            reply.body["key"],
            masked(&full),
            "PUT never shows the full key"
        );
        assert_hides(&reply, &[&full]);
    }

    let reply = update(&c, &s, &jwt, id, &json!({ "is_active": false })).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["is_active"], false);
    let resp = c
        .get(s.url("/v1/models"))
        .insert_header(("x-api-key", full.as_str()))
        .send()
        .await
        .unwrap();
    let reply = read(resp).await;
    assert_eq!(reply.status, 401, "an inactive key stops at once");
    assert_eq!(reply.body["error"]["message"], "Invalid API key");
    let listed = list(&c, &s, &jwt).await;
    assert_eq!(listed.len(), 1, "inactive keys are still listed");
    assert_eq!(listed[0]["is_active"], false);
    let reply = update(&c, &s, &jwt, id, &json!({ "is_active": true })).await;
    assert_eq!(reply.body["is_active"], true);
    assert_eq!(models(&c, &s, &full).await.0, 200);

    for body in [
        json!({ "is_active": "no" }),
        json!({ "name": ["x"] }),
        json!({ "allowed_provider_key_ids": 3 }),
    ] {
        assert_validation(&update(&c, &s, &jwt, id, &body).await, &["body"]);
    }
}

async fn delete_is_soft_and_immediate(b: Backend) {
    let s = TestServer::start(b).await;
    let c = client();
    let jwt = register_and_login(&c, &s, "alice").await;
    let reply = create(&c, &s, &jwt, &json!({ "name": "doomed" })).await;
    let id = reply.body["id"].as_i64().unwrap();
    let full = reply.body["key"].as_str().unwrap().to_owned();
    let keep = create(&c, &s, &jwt, &json!({})).await;
    let keep_id = keep.body["id"].as_i64().unwrap();
    assert_eq!(models(&c, &s, &full).await.0, 200);

    let reply = delete(&c, &s, &jwt, id).await;
    assert_eq!(
        reply.status, 200,
        "a JSON snapshot, never 204: {}",
        reply.text
    );
    assert_key_shape(&reply.body);
    assert_eq!(reply.body["id"], id);
    assert_eq!(reply.body["name"], "doomed");
    assert_eq!(reply.body["key"], masked(&full));
    assert_hides(&reply, &[&full]);

    // The proxy refuses it at once.
    let resp = c
        .post(s.url("/v1/chat/completions"))
        .insert_header(("x-api-key", full.as_str()))
        .send_json(&json!({ "model": "openai/gpt-4o-mini", "messages": [] }))
        .await
        .unwrap();
    let reply = read(resp).await;
    assert_eq!(reply.status, 401, "{}", reply.text);
    assert_eq!(reply.body["error"]["message"], "Invalid API key");
    assert_eq!(models(&c, &s, &full).await.0, 401);

    let listed = list(&c, &s, &jwt).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], keep_id);
    let me = get(&c, &s.url("/v1/users/me"), Some(&jwt)).await;
    assert_eq!(me.body["forge_api_keys"].as_array().unwrap().len(), 1);

    // A deleted key is gone for every route.
    assert_detail(&delete(&c, &s, &jwt, id).await, 404, "API key not found");
    assert_detail(
        &update(&c, &s, &jwt, id, &json!({ "is_active": true })).await,
        404,
        "API key not found",
    );
    assert_detail(
        &regenerate(&c, &s, &jwt, id).await,
        404,
        "API key not found",
    );
    assert_eq!(models(&c, &s, &full).await.0, 401, "still refused");
}

async fn regenerate_keeps_everything_but_the_key(b: Backend) {
    let fake = FakeOpenAi::start(FakeOpenAiConfig::default());
    let s = TestServer::start(b).await;
    let c = client();
    let jwt = register_and_login(&c, &s, "alice").await;
    let p1 = add_provider(&c, &s, &jwt, "openai", fake.api_key(), &fake.base_url()).await;
    let reply = create(
        &c,
        &s,
        &jwt,
        &json!({ "name": "ci", "allowed_provider_key_ids": [p1] }),
    )
    .await;
    let id = reply.body["id"].as_i64().unwrap();
    let old = reply.body["key"].as_str().unwrap().to_owned();
    let created_at = reply.body["created_at"].clone();

    for path in [
        format!("/v1/api-keys/{id}/regenerate"),
        format!("/v1/api-keys/{id}/regenerate/"),
    ] {
        let reply = send_raw(&c, "POST", &s.url(&path), Some(&jwt), None).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_key_shape(&reply.body);
        assert_eq!(reply.body["id"], id);
        assert_eq!(reply.body["name"], "ci");
        assert_eq!(reply.body["is_active"], true);
        assert_eq!(reply.body["allowed_provider_key_ids"], json!([p1]));
        assert_eq!(reply.body["created_at"], created_at);
        let new = reply.body["key"].as_str().unwrap().to_owned();
        assert!(new.starts_with("forge-") && new != old);
        assert_eq!(
            models(&c, &s, &old).await.0,
            401,
            "the old key stops at once"
        );
        assert_eq!(providers_seen(&c, &s, &new).await, vec!["openai"]);
        let listed = list(&c, &s, &jwt).await;
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0]["key"], masked(&new));
    }
    // Flags are kept too: an inactive key stays inactive.
    update(&c, &s, &jwt, id, &json!({ "is_active": false })).await;
    let reply = regenerate(&c, &s, &jwt, id).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["is_active"], false);
    let new = reply.body["key"].as_str().unwrap();
    assert_eq!(models(&c, &s, new).await.0, 401);
}

async fn unknown_foreign_and_malformed_ids(b: Backend) {
    let s = TestServer::start(b).await;
    let c = client();
    let alice = register_and_login(&c, &s, "alice").await;
    let bob = register_and_login(&c, &s, "bob").await;
    let reply = create(&c, &s, &bob, &json!({ "name": "bob's" })).await;
    let bobs_id = reply.body["id"].as_i64().unwrap();
    let bobs_key = reply.body["key"].as_str().unwrap().to_owned();
    let alices = create(&c, &s, &alice, &json!({})).await;
    let alices_key = alices.body["key"].as_str().unwrap().to_owned();

    for id in [bobs_id, 999_999, 0, -1] {
        let body = json!({ "name": "stolen", "is_active": false });
        assert_detail(
            &update(&c, &s, &alice, id, &body).await,
            404,
            "API key not found",
        );
        assert_detail(
            &regenerate(&c, &s, &alice, id).await,
            404,
            "API key not found",
        );
        assert_detail(&delete(&c, &s, &alice, id).await, 404, "API key not found");
    }
    // Bob's key was not touched by any of it.
    let listed = list(&c, &s, &bob).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["name"], "bob's");
    assert_eq!(listed[0]["is_active"], true);
    assert_eq!(listed[0]["key"], masked(&bobs_key));
    assert_eq!(models(&c, &s, &bobs_key).await.0, 200);
    // Each sees only their own keys.
    let mine = get(&c, &s.url("/v1/api-keys/"), Some(&alice)).await;
    assert_eq!(mine.body.as_array().unwrap().len(), 1);
    assert_hides(&mine, &[&masked(&bobs_key), &bobs_key, &alices_key]);

    for id in ["abc", "1.5", "1e3", "99999999999999999999999"] {
        let reply = send_json(
            &c,
            "PUT",
            &s.url(&format!("/v1/api-keys/{id}")),
            Some(&alice),
            &json!({}),
        )
        .await;
        assert_validation(&reply, &["path"]);
        let reply = send_raw(
            &c,
            "DELETE",
            &s.url(&format!("/v1/api-keys/{id}")),
            Some(&alice),
            None,
        )
        .await;
        assert_validation(&reply, &["path"]);
        let url = s.url(&format!("/v1/api-keys/{id}/regenerate"));
        assert_validation(
            &send_raw(&c, "POST", &url, Some(&alice), None).await,
            &["path"],
        );
    }
    // Without a token the id is never looked at.
    let reply = send_raw(&c, "DELETE", &s.url("/v1/api-keys/abc"), None, None).await;
    assert_detail(&reply, 401, "Not authenticated");
}

on_both_backends!(
    create_and_list,
    scope_semantics,
    update_name_and_activity,
    delete_is_soft_and_immediate,
    regenerate_keeps_everything_but_the_key,
    unknown_foreign_and_malformed_ids,
);
