//! Spec §2.5 and §3.3 end to end: every `/v1/provider-keys` route, secrets kept and never shown,
//! and each change seen by the proxy at once.

use awc::Client;
use forge_testkit::{FakeOpenAi, FakeOpenAiConfig};
use serde_json::{Value, json};

use crate::harness::{
    Backend, Reply, TestServer, add_provider, assert_detail, assert_hides, assert_validation,
    client, create_forge_key, get, post_json, read, register_and_login, send_json, send_raw,
};
use crate::on_both_backends;

const NOT_FOUND: &str = "Provider key not found";

/// §3.3 for secrets of 7 characters or more: first 2, `*` × (len − 6), last 4.
fn masked(secret: &str) -> String {
    format!(
        "{}{}{}",
        &secret[..2],
        "*".repeat(secret.len() - 6),
        &secret[secret.len() - 4..]
    )
}

async fn create(c: &Client, s: &TestServer, jwt: &str, body: &Value) -> Reply {
    post_json(c, &s.url("/v1/provider-keys/"), Some(jwt), body).await
}

async fn update(c: &Client, s: &TestServer, jwt: &str, name: &str, body: &Value) -> Reply {
    let url = s.url(&format!("/v1/provider-keys/{name}"));
    send_json(c, "PUT", &url, Some(jwt), body).await
}

async fn delete(c: &Client, s: &TestServer, jwt: &str, name: &str) -> Reply {
    let url = s.url(&format!("/v1/provider-keys/{name}"));
    send_raw(c, "DELETE", &url, Some(jwt), None).await
}

async fn batch(c: &Client, s: &TestServer, jwt: &str, items: &Value) -> Reply {
    post_json(
        c,
        &s.url("/v1/provider-keys/batch-upsert"),
        Some(jwt),
        items,
    )
    .await
}

async fn list(c: &Client, s: &TestServer, jwt: &str) -> Reply {
    let reply = get(c, &s.url("/v1/provider-keys/"), Some(jwt)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply
}

fn names(reply: &Reply) -> Vec<String> {
    let mut names: Vec<String> = reply
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["provider_name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// A ProviderKey object: every field present, the secret masked, no ciphertext.
#[track_caller]
fn assert_provider_shape(body: &Value, name: &str, secret: &str) {
    assert_eq!(body["provider_name"], name, "{body}");
    assert!(body["id"].is_i64() && body["user_id"].is_i64(), "{body}");
    for field in ["base_url", "model_mapping", "config"] {
        assert!(body.get(field).is_some(), "{field} missing: {body}");
    }
    assert!(body["created_at"].is_string() && body["updated_at"].is_string());
    assert_eq!(body["api_key"], masked(secret), "{body}");
    let placeholder = body["encrypted_api_key"].as_str().unwrap();
    assert!(
        !placeholder.is_empty() && placeholder.chars().all(|c| c == '*'),
        "an opaque placeholder, never ciphertext: {placeholder}"
    );
}

/// Chat through the proxy with a Forge key; the upstream's view of it comes from `fake`.
async fn chat(c: &Client, s: &TestServer, key: &str, model: &str) -> Reply {
    let resp = c
        .post(s.url("/v1/chat/completions"))
        .insert_header(("x-api-key", key))
        .send_json(&json!({ "model": model, "messages": [{ "role": "user", "content": "hi" }] }))
        .await
        .unwrap();
    read(resp).await
}

fn upstream_auth(fake: &FakeOpenAi) -> String {
    let seen = fake.last_request().unwrap();
    seen.header("authorization").unwrap().to_owned()
}

async fn create_and_list(b: Backend) {
    let s = TestServer::start(b).await;
    let c = client();
    let jwt = register_and_login(&c, &s, "alice").await;
    let me = get(&c, &s.url("/v1/users/me"), Some(&jwt)).await;
    let user_id = me.body["id"].clone();
    assert_eq!(list(&c, &s, &jwt).await.body, json!([]));

    let secret = "sk-proj-abcdefghijklmnop-wxyz";
    let body = json!({
        "provider_name": "openai",
        "api_key": secret,
        "base_url": "https://api.example.com/v1",
        "model_mapping": { "fast": "gpt-4o-mini" },
        "config": null,
    });
    let reply = create(&c, &s, &jwt, &body).await;
    assert_eq!(reply.status, 200, "never 201: {}", reply.text);
    assert_provider_shape(&reply.body, "openai", secret);
    assert_eq!(reply.body["user_id"], user_id);
    assert_eq!(reply.body["base_url"], "https://api.example.com/v1");
    assert_eq!(
        reply.body["model_mapping"],
        json!({ "fast": "gpt-4o-mini" })
    );
    assert_eq!(reply.body["config"], Value::Null);
    assert_hides(&reply, &[secret, &jwt]);

    // The CLI's shape: every field sent, `""` for a skipped base_url (= the default).
    let other = "gsk_0123456789abcdefABCD";
    let body = json!({ "provider_name": "groq", "api_key": other, "base_url": "", "model_mapping": null, "config": null });
    let reply = create(&c, &s, &jwt, &body).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_provider_shape(&reply.body, "groq", other);
    assert_eq!(reply.body["base_url"], "");
    assert_eq!(reply.body["model_mapping"], Value::Null);
    // Only the two required fields.
    let third = "xai-0123456789abcdefghij";
    let reply = create(
        &c,
        &s,
        &jwt,
        &json!({ "provider_name": "xai", "api_key": third }),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["base_url"], Value::Null);

    let reply = list(&c, &s, &jwt).await;
    assert_eq!(names(&reply), vec!["groq", "openai", "xai"]);
    for entry in reply.body.as_array().unwrap() {
        let name = entry["provider_name"].as_str().unwrap();
        let secret = match name {
            "openai" => secret,
            "groq" => other,
            _ => third,
        };
        assert_provider_shape(entry, name, secret);
    }
    assert_hides(&reply, &[secret, other, third]);
    let reply = get(&c, &s.url("/v1/provider-keys"), Some(&jwt)).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body.as_array().unwrap().len(), 3);
}

async fn create_errors(b: Backend) {
    let s = TestServer::start(b).await;
    let c = client();
    let jwt = register_and_login(&c, &s, "alice").await;
    let key = "sk-0123456789abcdef";
    let reply = create(
        &c,
        &s,
        &jwt,
        &json!({ "provider_name": "openai", "api_key": key }),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);

    for name in ["openai", "OpenAI", "OPENAI"] {
        let reply = create(
            &c,
            &s,
            &jwt,
            &json!({ "provider_name": name, "api_key": key }),
        )
        .await;
        assert_detail(
            &reply,
            400,
            &format!("Provider key for {name} already exists"),
        );
    }
    // A provider Forge has no default URL for needs a base_url; `""` counts as none.
    for base_url in [json!(null), json!(""), json!("   ")] {
        let body = json!({ "provider_name": "mycorp", "api_key": key, "base_url": base_url });
        let reply = create(&c, &s, &jwt, &body).await;
        assert_eq!(reply.status, 400, "{}", reply.text);
        let detail = reply.body["detail"].as_str().unwrap();
        assert!(
            detail.starts_with("Error initializing provider mycorp"),
            "{detail}"
        );
        assert_hides(&reply, &[key]);
    }
    for base_url in [
        "not a url",
        "ftp://files.example.com/v1",
        "https://user:pw@api.example.com/v1",
    ] {
        let body = json!({ "provider_name": "mycorp", "api_key": key, "base_url": base_url });
        let reply = create(&c, &s, &jwt, &body).await;
        assert_eq!(reply.status, 400, "{base_url}: {}", reply.text);
        assert!(
            reply.body["detail"]
                .as_str()
                .unwrap()
                .starts_with("Error initializing provider mycorp")
        );
    }
    let body = json!({ "provider_name": "mycorp", "api_key": key, "base_url": "https://llm.example.com/v1" });
    assert_eq!(create(&c, &s, &jwt, &body).await.status, 200);

    for body in [
        json!({ "api_key": key }),
        json!({ "provider_name": "deepseek" }),
        json!({ "provider_name": "", "api_key": key }),
        json!({ "provider_name": "deepseek", "api_key": 42 }),
        json!({ "provider_name": "deepseek", "api_key": key, "model_mapping": { "a": 1 } }),
        json!({ "provider_name": "deepseek", "api_key": key, "config": { "region": ["x"] } }),
        json!({ "provider_name": "deepseek", "api_key": key, "base_url": 7 }),
        json!("deepseek"),
    ] {
        let reply = create(&c, &s, &jwt, &body).await;
        assert_validation(&reply, &["body"]);
        assert_hides(&reply, &[key]);
    }
    let reply = send_raw(
        &c,
        "POST",
        &s.url("/v1/provider-keys/"),
        Some(&jwt),
        Some(("application/json", "{\"provider_name\": \"deepseek\",")),
    )
    .await;
    assert_validation(&reply, &["body"]);
    assert_eq!(names(&list(&c, &s, &jwt).await), vec!["mycorp", "openai"]);
}

async fn private_base_urls_need_the_operator(b: Backend) {
    let s = TestServer::start_with(b, |st| st.allow_private_upstreams = false).await;
    let c = client();
    let jwt = register_and_login(&c, &s, "alice").await;
    let key = "sk-0123456789abcdef";
    for base_url in [
        "http://127.0.0.1:9/v1",
        "http://localhost:8080/v1",
        "http://[::1]:8080/v1",
        "http://10.0.0.1/v1",
        "http://192.168.1.10/v1",
        "http://169.254.169.254/latest",
        "http://metadata.google.internal/v1",
    ] {
        let body = json!({ "provider_name": "local", "api_key": key, "base_url": base_url });
        let reply = create(&c, &s, &jwt, &body).await;
        assert_eq!(reply.status, 400, "{base_url}: {}", reply.text);
        let detail = reply.body["detail"].as_str().unwrap();
        assert!(
            detail.starts_with("Error initializing provider local"),
            "{detail}"
        );
        let item = json!([{ "provider_name": "local", "api_key": key, "base_url": base_url }]);
        let reply = batch(&c, &s, &jwt, &item).await;
        assert_eq!(reply.status, 400, "{base_url}: {}", reply.text);
        let detail = reply.body["detail"].as_str().unwrap();
        assert!(
            detail.starts_with("Error processing 'local': Error initializing provider local"),
            "{detail}"
        );
    }
    assert_eq!(list(&c, &s, &jwt).await.body, json!([]));
    // A public host is fine (checked by name, no DNS lookup), and cannot be moved to a private one.
    let body = json!({ "provider_name": "local", "api_key": key, "base_url": "https://llm.example.com/v1" });
    assert_eq!(create(&c, &s, &jwt, &body).await.status, 200);
    let reply = update(
        &c,
        &s,
        &jwt,
        "local",
        &json!({ "base_url": "http://127.0.0.1:8080/v1" }),
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    let listed = list(&c, &s, &jwt).await;
    assert_eq!(listed.body[0]["base_url"], "https://llm.example.com/v1");
}

async fn update_keeps_a_masked_secret(b: Backend) {
    let fake = FakeOpenAi::start(FakeOpenAiConfig::default());
    let s = TestServer::start(b).await;
    let c = client();
    let jwt = register_and_login(&c, &s, "alice").await;
    let original = fake.api_key().to_owned();
    let reply = create(
        &c,
        &s,
        &jwt,
        &json!({ "provider_name": "openai", "api_key": original, "base_url": fake.base_url() }),
    )
    .await;
    assert_eq!(reply.status, 200);
    let echoed = reply.body["api_key"].as_str().unwrap().to_owned();
    let id = reply.body["id"].clone();
    let (_, forge) = create_forge_key(&c, &s, &jwt, None).await;
    let bearer = format!("Bearer {original}");

    // What forge-cli sends when the user keeps the key: the masked value, or "", or null.
    for secret in [json!(echoed), json!(""), json!(null), json!("sk-****")] {
        let body = json!({ "api_key": secret, "base_url": fake.base_url(), "model_mapping": null, "config": null });
        let reply = update(&c, &s, &jwt, "openai", &body).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_provider_shape(&reply.body, "openai", &original);
        assert_eq!(reply.body["id"], id);
        assert_hides(&reply, &[&original]);
        let answer = chat(&c, &s, &forge, "openai/gpt-4o-mini").await;
        assert_eq!(answer.status, 200, "{secret}: {}", answer.text);
        assert_eq!(
            upstream_auth(&fake),
            bearer,
            "the upstream still sees the original key"
        );
    }

    // A real new value replaces it, at once.
    let replacement = "sk-a-brand-new-upstream-key";
    let reply = update(&c, &s, &jwt, "openai", &json!({ "api_key": replacement })).await;
    assert_eq!(reply.status, 200);
    assert_provider_shape(&reply.body, "openai", replacement);
    assert_hides(&reply, &[replacement]);
    let answer = chat(&c, &s, &forge, "openai/gpt-4o-mini").await;
    assert_eq!(upstream_auth(&fake), format!("Bearer {replacement}"));
    assert_eq!(
        answer.status, 401,
        "the fake refuses a key it does not know"
    );
    assert_hides(&answer, &[replacement, &original]);
    let reply = update(&c, &s, &jwt, "openai", &json!({ "api_key": original })).await;
    assert_eq!(reply.status, 200);
    assert_eq!(chat(&c, &s, &forge, "openai/gpt-4o-mini").await.status, 200);
    assert_eq!(upstream_auth(&fake), bearer);
}

async fn update_sets_fields_by_presence(b: Backend) {
    let s = TestServer::start(b).await;
    let c = client();
    let jwt = register_and_login(&c, &s, "alice").await;
    let bob = register_and_login(&c, &s, "bob").await;
    let secret = "sk-0123456789abcdef";
    let body = json!({ "provider_name": "openai", "api_key": secret, "base_url": "https://a.example.com/v1", "model_mapping": { "fast": "gpt-4o-mini" } });
    assert_eq!(create(&c, &s, &jwt, &body).await.status, 200);
    let bobs_secret = "sk-bob-0123456789abcdef";
    let body = json!({ "provider_name": "openai", "api_key": bobs_secret, "base_url": "https://bob.example.com/v1" });
    assert_eq!(create(&c, &s, &bob, &body).await.status, 200);
    let body = json!({ "provider_name": "bobonly", "api_key": bobs_secret, "base_url": "https://bob.example.com/v1" });
    assert_eq!(create(&c, &s, &bob, &body).await.status, 200);

    let steps = [
        // Absent fields are untouched.
        (
            json!({}),
            json!("https://a.example.com/v1"),
            json!({ "fast": "gpt-4o-mini" }),
        ),
        (
            json!({ "model_mapping": { "smart": "gpt-4o" } }),
            json!("https://a.example.com/v1"),
            json!({ "smart": "gpt-4o" }),
        ),
        (
            json!({ "base_url": "https://b.example.com/v1" }),
            json!("https://b.example.com/v1"),
            json!({ "smart": "gpt-4o" }),
        ),
        // Present means set, null included.
        (
            json!({ "model_mapping": null }),
            json!("https://b.example.com/v1"),
            Value::Null,
        ),
        (json!({ "base_url": null }), Value::Null, Value::Null),
        (json!({ "base_url": "" }), json!(""), Value::Null),
    ];
    for (body, base_url, mapping) in steps {
        let reply = update(&c, &s, &jwt, "openai", &body).await;
        assert_eq!(reply.status, 200, "{body}: {}", reply.text);
        assert_provider_shape(&reply.body, "openai", secret);
        assert_eq!(reply.body["base_url"], base_url, "{body}");
        assert_eq!(reply.body["model_mapping"], mapping, "{body}");
        let listed = list(&c, &s, &jwt).await;
        assert_eq!(listed.body[0]["base_url"], base_url);
        assert_eq!(listed.body[0]["model_mapping"], mapping);
    }
    for path in ["/v1/provider-keys/nosuch", "/v1/provider-keys/bobonly"] {
        let reply = send_json(
            &c,
            "PUT",
            &s.url(path),
            Some(&jwt),
            &json!({ "api_key": "sk-stolen-0123456789" }),
        )
        .await;
        assert_detail(&reply, 404, NOT_FOUND);
    }
    for body in [
        json!({ "model_mapping": ["a"] }),
        json!({ "api_key": 5 }),
        json!("x"),
    ] {
        assert_validation(&update(&c, &s, &jwt, "openai", &body).await, &["body"]);
    }
    // Bob's keys of the same and of other names were never touched.
    let bobs = list(&c, &s, &bob).await;
    assert_eq!(names(&bobs), vec!["bobonly", "openai"]);
    for entry in bobs.body.as_array().unwrap() {
        assert_eq!(entry["base_url"], "https://bob.example.com/v1");
        assert_eq!(entry["api_key"], masked(bobs_secret));
    }
    assert_hides(&bobs, &[secret, bobs_secret]);
    let mine = list(&c, &s, &jwt).await;
    assert_eq!(names(&mine), vec!["openai"]);
}

async fn delete_snapshots_and_unscopes(b: Backend) {
    let fake = FakeOpenAi::start(FakeOpenAiConfig::default());
    let s = TestServer::start(b).await;
    let c = client();
    let jwt = register_and_login(&c, &s, "alice").await;
    let bob = register_and_login(&c, &s, "bob").await;
    let p1 = add_provider(&c, &s, &jwt, "openai", fake.api_key(), &fake.base_url()).await;
    let p2 = add_provider(&c, &s, &jwt, "other", fake.api_key(), &fake.base_url()).await;
    add_provider(&c, &s, &bob, "openai", fake.api_key(), &fake.base_url()).await;
    let (only_id, only) = create_forge_key(&c, &s, &jwt, Some(vec![p1])).await;
    let (both_id, _) = create_forge_key(&c, &s, &jwt, Some(vec![p1, p2])).await;
    let (_, bobs_key) = create_forge_key(&c, &s, &bob, None).await;
    assert_eq!(chat(&c, &s, &only, "openai/gpt-4o-mini").await.status, 200);

    let reply = delete(&c, &s, &jwt, "openai").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_provider_shape(&reply.body, "openai", fake.api_key());
    assert_eq!(reply.body["id"], p1);
    assert_eq!(reply.body["base_url"], fake.base_url());
    assert_hides(&reply, &[fake.api_key()]);
    assert_eq!(names(&list(&c, &s, &jwt).await), vec!["other"]);

    // Gone from every Forge key's scope; the key scoped to it alone is now restricted to nothing.
    let keys = get(&c, &s.url("/v1/api-keys/"), Some(&jwt)).await;
    let scope_of = |id: i64| {
        keys.body
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["id"] == id)
            .unwrap()["allowed_provider_key_ids"]
            .clone()
    };
    assert_eq!(scope_of(only_id), json!([]));
    assert_eq!(scope_of(both_id), json!([p2]));
    let resp = c
        .get(s.url("/v1/models"))
        .insert_header(("x-api-key", only.as_str()))
        .send()
        .await
        .unwrap();
    let models = read(resp).await;
    assert_eq!(models.status, 200);
    assert_eq!(
        models.body["data"],
        json!([]),
        "not unrestricted: {}",
        models.text
    );
    assert_eq!(chat(&c, &s, &only, "openai/gpt-4o-mini").await.status, 404);
    assert_eq!(chat(&c, &s, &only, "other/gpt-4o-mini").await.status, 403);
    // Bob's provider key of the same name is untouched.
    assert_eq!(
        chat(&c, &s, &bobs_key, "openai/gpt-4o-mini").await.status,
        200
    );

    for name in ["openai", "nosuch"] {
        assert_detail(&delete(&c, &s, &jwt, name).await, 404, NOT_FOUND);
    }
    // The name is free again; the restricted key does not gain the new provider key.
    let p1_again = add_provider(&c, &s, &jwt, "openai", fake.api_key(), &fake.base_url()).await;
    assert_ne!(p1_again, p1);
    assert_eq!(chat(&c, &s, &only, "openai/gpt-4o-mini").await.status, 403);
}

async fn batch_upsert(b: Backend) {
    let fake = FakeOpenAi::start(FakeOpenAiConfig::default());
    let s = TestServer::start(b).await;
    let c = client();
    let jwt = register_and_login(&c, &s, "alice").await;
    let secret = fake.api_key().to_owned();
    let other = "sk-other-0123456789abcdef";

    let items = json!([
        { "provider_name": "openai", "api_key": secret, "base_url": fake.base_url() },
        { "provider_name": "other", "api_key": other, "base_url": "https://other.example.com/v1", "model_mapping": { "a": "b" } },
    ]);
    let reply = batch(&c, &s, &jwt, &items).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(names(&reply), vec!["openai", "other"]);
    assert_provider_shape(&reply.body[0], "openai", &secret);
    assert_provider_shape(&reply.body[1], "other", other);
    assert_hides(&reply, &[&secret, other]);
    let echoed = reply.body[0]["api_key"].as_str().unwrap().to_owned();
    let (_, forge) = create_forge_key(&c, &s, &jwt, None).await;

    // Update (masked secret kept), delete, delete of an absent name (skipped).
    let items = json!([
        { "provider_name": "openai", "api_key": echoed, "model_mapping": { "fast": "gpt-4o-mini" } },
        { "provider_name": "other", "api_key": "DELETE" },
        { "provider_name": "ghost", "api_key": "DELETE" },
    ]);
    let reply = batch(&c, &s, &jwt, &items).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.body.as_array().unwrap().len(),
        1,
        "created and updated entries only"
    );
    assert_provider_shape(&reply.body[0], "openai", &secret);
    assert_eq!(
        reply.body[0]["model_mapping"],
        json!({ "fast": "gpt-4o-mini" })
    );
    assert_eq!(names(&list(&c, &s, &jwt).await), vec!["openai"]);
    let answer = chat(&c, &s, &forge, "fast").await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(upstream_auth(&fake), format!("Bearer {secret}"));
    assert_eq!(fake.last_request().unwrap().body["model"], "gpt-4o-mini");

    // An item error aborts with its status and a wrapped detail.
    let items = json!([{ "provider_name": "mycorp", "api_key": "sk-0123456789abcdef" }]);
    let reply = batch(&c, &s, &jwt, &items).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    let detail = reply.body["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("Error processing 'mycorp': Error initializing provider mycorp"),
        "{detail}"
    );
    assert_hides(&reply, &["sk-0123456789abcdef"]);
    let items = json!([{ "provider_name": "newone", "base_url": "https://n.example.com/v1" }]);
    let reply = batch(&c, &s, &jwt, &items).await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    assert!(
        reply.body["detail"]
            .as_str()
            .unwrap()
            .starts_with("Error processing 'newone': ")
    );
    assert_eq!(batch(&c, &s, &jwt, &json!([])).await.body, json!([]));
    for body in [
        json!({}),
        json!([{ "api_key": "x" }]),
        json!([{ "provider_name": "x", "model_mapping": 3 }]),
    ] {
        assert_validation(&batch(&c, &s, &jwt, &body).await, &["body"]);
    }
    assert_eq!(names(&list(&c, &s, &jwt).await), vec!["openai"]);
}

on_both_backends!(
    create_and_list,
    create_errors,
    private_base_urls_need_the_operator,
    update_keeps_a_masked_secret,
    update_sets_fields_by_presence,
    delete_snapshots_and_unscopes,
    batch_upsert,
);
