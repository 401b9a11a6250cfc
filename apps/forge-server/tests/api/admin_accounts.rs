//! Spec §1.1, §2.1-2.3 and §3.1 end to end: health, registration, login, JWT sessions,
//! `/v1/users/me`, and the routing answers (both spellings, 404, 405).

use awc::Client;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use crate::harness::{
    Backend, Reply, TestServer, assert_detail, assert_hides, assert_validation, client,
    create_forge_key, get, login, post_json, read, register_and_login, send_json, send_raw,
};
use crate::on_both_backends;

const PASSWORD: &str = "correct-horse-battery";

fn register_body(name: &str, email: &str) -> Value {
    json!({ "username": name, "email": email, "password": PASSWORD })
}

async fn token_form(c: &Client, s: &TestServer, fields: &[(&str, &str)]) -> Reply {
    let resp = c.post(s.url("/v1/auth/token")).send_form(&fields).await;
    read(resp.unwrap()).await
}

/// The fields of a User object (§3.1), none of them secret.
#[track_caller]
fn assert_user_shape(body: &Value, username: &str, email: &str) {
    assert_eq!(body["username"], username, "{body}");
    assert_eq!(body["email"], email, "{body}");
    assert!(body["id"].is_i64(), "{body}");
    assert_eq!(body["is_active"], true);
    assert!(body["created_at"].is_string() && body["updated_at"].is_string());
    for hidden in ["password", "hashed_password"] {
        assert!(body.get(hidden).is_none(), "{body}");
    }
}

async fn health_routes(b: Backend) {
    let s = TestServer::start(b).await;
    let c = client();
    let root = get(&c, &s.url("/"), None).await;
    assert_eq!(root.status, 200);
    assert_eq!(
        root.body,
        json!({
            "message": "Welcome to Forge API",
            "version": "0.1.0",
            "docs": "/docs",
            "redoc": "/redoc",
            "openapi": "/openapi.json",
            "health": "/health",
            "ready": "/health/ready",
        })
    );
    for path in ["/health/ready", "/health/ready/"] {
        let reply = get(&c, &s.url(path), None).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
        assert_eq!(reply.body, json!({ "status": "ready" }));
    }
    for path in ["/health", "/health/", "/v1/health", "/v1/health/"] {
        let reply = get(&c, &s.url(path), None).await;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(
            reply.body,
            json!({ "status": "healthy", "service": "forge" })
        );
    }
    for path in ["/health/database", "/health/database/"] {
        let reply = get(&c, &s.url(path), None).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
        assert_eq!(reply.body["status"], "healthy");
        assert_eq!(reply.body["database"], "connected");
    }
    let detailed = get(&c, &s.url("/health/detailed"), None).await;
    assert_eq!(detailed.status, 200, "{}", detailed.text);
    assert_eq!(detailed.body["status"], "healthy");
    assert_eq!(detailed.body["service"], "forge");
    assert!(detailed.body["timestamp"].is_string() && detailed.body["database"].is_object());
    assert!(
        detailed.body.get("usage").is_none(),
        "usage counters are for admins only: {}",
        detailed.text
    );
    let wrong = send_raw(&c, "POST", &s.url("/health"), None, None).await;
    assert_detail(&wrong, 405, "Method Not Allowed");
}

async fn register_and_its_conflicts(b: Backend) {
    let s = TestServer::start(b).await;
    let c = client();
    let reply = post_json(
        &c,
        &s.url("/v1/auth/register"),
        None,
        &register_body("alice", "alice@example.com"),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_user_shape(&reply.body, "alice", "alice@example.com");
    assert_eq!(reply.body["forge_api_keys"], json!([]));
    assert_hides(&reply, &[PASSWORD]);

    // The email is checked before the username.
    for (name, email, detail) in [
        ("alice", "alice@example.com", "Email already registered"),
        ("alice2", "alice@example.com", "Email already registered"),
        ("alice", "other@example.com", "Username already registered"),
    ] {
        for path in ["/v1/auth/register", "/v1/users/"] {
            let reply = post_json(&c, &s.url(path), None, &register_body(name, email)).await;
            assert_detail(&reply, 400, detail);
        }
    }

    // The deprecated twin registers too, answering `forge_api_keys: null`.
    let reply = post_json(
        &c,
        &s.url("/v1/users/"),
        None,
        &register_body("bob", "bob@example.com"),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_user_shape(&reply.body, "bob", "bob@example.com");
    assert_eq!(reply.body["forge_api_keys"], Value::Null);
    assert_hides(&reply, &[PASSWORD]);
    assert_ne!(reply.body["id"], json!(null));
    // Both accounts can log in.
    login(&c, &s, "alice", PASSWORD).await;
    login(&c, &s, "bob", PASSWORD).await;
}

async fn register_rejects_bad_bodies_with_422(b: Backend) {
    let s = TestServer::start(b).await;
    let c = client();
    let url = s.url("/v1/auth/register");
    for email in ["a@localhost", "not-an-email", "@example.com", "a@", ""] {
        let reply = post_json(&c, &url, None, &register_body("alice", email)).await;
        assert_validation(&reply, &["body", "email"]);
    }
    for body in [
        json!({ "username": "alice" }),
        json!({ "email": "alice@example.com", "password": PASSWORD }),
        json!({ "username": 1, "email": "alice@example.com", "password": PASSWORD }),
        json!({ "username": "alice", "email": ["alice@example.com"], "password": PASSWORD }),
        json!({ "username": "alice", "email": "alice@example.com", "password": null }),
        json!("alice"),
    ] {
        let reply = post_json(&c, &url, None, &body).await;
        assert_validation(&reply, &["body"]);
    }
    for text in ["{not json", "", "{\"username\": \"alice\","] {
        let reply = send_raw(&c, "POST", &url, None, Some(("application/json", text))).await;
        assert_validation(&reply, &["body"]);
    }
    // None of the rejected bodies created an account.
    let reply = post_json(&c, &url, None, &register_body("alice", "alice@example.com")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

async fn token_is_an_oauth2_password_form(b: Backend) {
    let s = TestServer::start(b).await;
    let c = client();
    register_and_login(&c, &s, "alice").await;
    for path in ["/v1/auth/token", "/v1/auth/token/"] {
        let resp = c
            .post(s.url(path))
            .send_form(&[
                ("username", "alice"),
                ("password", PASSWORD),
                ("grant_type", "password"),
                ("scope", ""),
            ])
            .await
            .unwrap();
        let reply = read(resp).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
        assert_eq!(reply.body["token_type"], "bearer");
        let jwt = reply.body["access_token"].as_str().unwrap();
        assert_eq!(jwt.split('.').count(), 3, "a JWT: {jwt}");
        assert_hides(&reply, &[PASSWORD]);
    }

    for fields in [
        [("username", "alice"), ("password", "wrong-password-123")],
        [("username", "nobody"), ("password", PASSWORD)],
        // Login is by username only.
        [("username", "alice@example.com"), ("password", PASSWORD)],
        [("username", "ALICE"), ("password", PASSWORD)],
    ] {
        let reply = token_form(&c, &s, &fields).await;
        assert_detail(&reply, 401, "Incorrect username or password");
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
    }

    let reply = token_form(
        &c,
        &s,
        &[
            ("username", "alice"),
            ("password", PASSWORD),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_validation(&reply, &["body"]);
    let reply = token_form(&c, &s, &[("username", "alice")]).await;
    assert_validation(&reply, &["body"]);
    // A JSON body is not a form: the fields are missing.
    let reply = post_json(
        &c,
        &s.url("/v1/auth/token"),
        None,
        &json!({ "username": "alice", "password": PASSWORD }),
    )
    .await;
    assert_validation(&reply, &["body"]);
    assert!(!reply.text.contains("access_token"));
}

/// Every route that takes a JWT.
const JWT_ROUTES: &[(&str, &str)] = &[
    ("GET", "/v1/users/me"),
    ("PUT", "/v1/users/me"),
    ("GET", "/v1/api-keys/"),
    ("POST", "/v1/api-keys/"),
    ("PUT", "/v1/api-keys/1"),
    ("DELETE", "/v1/api-keys/1"),
    ("POST", "/v1/api-keys/1/regenerate"),
    ("GET", "/v1/provider-keys/"),
    ("POST", "/v1/provider-keys/"),
    ("PUT", "/v1/provider-keys/openai"),
    ("DELETE", "/v1/provider-keys/openai"),
    ("POST", "/v1/provider-keys/batch-upsert"),
];

fn sign(secret: &[u8], claims: &Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

async fn jwt_failures_are_401(b: Backend) {
    let s = TestServer::start(b).await;
    let c = client();
    let jwt = register_and_login(&c, &s, "alice").await;
    let secret = forge_server::secrets::load(&s.data_dir).unwrap().jwt_secret;
    let now = chrono::Utc::now().timestamp();
    // The server's own secret, so only the claim under test is wrong.
    let expired = sign(
        &secret,
        &json!({ "sub": "alice", "iat": now - 7200, "exp": now - 3600 }),
    );
    let ghost = sign(
        &secret,
        &json!({ "sub": "ghost", "iat": now, "exp": now + 600 }),
    );
    let no_sub = sign(&secret, &json!({ "iat": now, "exp": now + 600 }));
    let forged = sign(
        b"not-the-server-secret-not-the-server-secret",
        &json!({ "sub": "alice", "iat": now, "exp": now + 600 }),
    );
    // {"alg":"none","typ":"JWT"} . {"sub":"alice","exp":9999999999,"iat":0} . (no signature)
    let alg_none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6OTk5OTk5OTk5OSwiaWF0IjowfQ.";
    // The genuine token with its signature cut off.
    let unsigned = format!("{}.", jwt.rsplit_once('.').unwrap().0);
    let bad_tokens = [
        "garbage",
        expired.as_str(),
        ghost.as_str(),
        no_sub.as_str(),
        forged.as_str(),
        alg_none,
        unsigned.as_str(),
    ];

    for (method, path) in JWT_ROUTES {
        let url = s.url(path);
        let body = Some(("application/json", "{}"));
        let reply = send_raw(&c, method, &url, None, body).await;
        assert_detail(&reply, 401, "Not authenticated");
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"), "{path}");
        let resp = c
            .request(method.parse().unwrap(), url.as_str())
            .insert_header(("authorization", format!("Basic {jwt}")))
            .send()
            .await
            .unwrap();
        assert_detail(&read(resp).await, 401, "Not authenticated");
        for token in bad_tokens {
            let reply = send_raw(&c, method, &url, Some(token), body).await;
            assert_detail(&reply, 401, "Could not validate credentials for local user");
            assert_eq!(reply.header("www-authenticate"), Some("Bearer"), "{path}");
        }
    }
    // The genuine token still works.
    assert_eq!(
        get(&c, &s.url("/v1/users/me"), Some(&jwt)).await.status,
        200
    );
}

async fn users_me_is_a_masked_user(b: Backend) {
    let s = TestServer::start(b).await;
    let c = client();
    let alice = register_and_login(&c, &s, "alice").await;
    let bob = register_and_login(&c, &s, "bob").await;

    let me = get(&c, &s.url("/v1/users/me"), Some(&alice)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_user_shape(&me.body, "alice", "alice@example.com");
    assert_eq!(me.body["is_admin"], true, "the first user is an admin");
    assert_eq!(me.body["forge_api_keys"], json!([]));
    assert_hides(&me, &[&alice, PASSWORD]);

    let (_, kept) = create_forge_key(&c, &s, &alice, None).await;
    let (gone_id, gone) = create_forge_key(&c, &s, &alice, Some(vec![])).await;
    let (_, bobs) = create_forge_key(&c, &s, &bob, None).await;
    let reply = send_raw(
        &c,
        "DELETE",
        &s.url(&format!("/v1/api-keys/{gone_id}")),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);

    let me = get(&c, &s.url("/v1/users/me/"), Some(&alice)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    let masked = format!("forge-{}{}", "*".repeat(32), &kept[kept.len() - 4..]);
    assert_eq!(
        me.body["forge_api_keys"],
        json!([masked]),
        "non-deleted keys only, as masked strings"
    );
    assert_hides(&me, &[&kept, &gone, &bobs, &alice]);

    let me = get(&c, &s.url("/v1/users/me"), Some(&bob)).await;
    assert_eq!(me.body["is_admin"], false, "later users are not admins");
    assert_eq!(me.body["username"], "bob");
    assert_eq!(me.body["forge_api_keys"].as_array().unwrap().len(), 1);
    assert_hides(&me, &[&kept, &bobs]);
}

async fn put_users_me_updates_partially(b: Backend) {
    let s = TestServer::start(b).await;
    let c = client();
    let jwt = register_and_login(&c, &s, "alice").await;
    register_and_login(&c, &s, "bob").await;
    let url = s.url("/v1/users/me");

    let reply = send_json(
        &c,
        "PUT",
        &url,
        Some(&jwt),
        &json!({ "email": "al@example.org" }),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_user_shape(&reply.body, "alice", "al@example.org");
    assert_eq!(reply.body["forge_api_keys"], Value::Null);
    // Absent, null and empty fields are left alone.
    for body in [
        json!({}),
        json!({ "username": "", "email": "", "password": "" }),
        json!({ "username": null, "email": null, "password": null }),
    ] {
        let reply = send_json(&c, "PUT", &url, Some(&jwt), &body).await;
        assert_eq!(reply.status, 200, "{body}: {}", reply.text);
        assert_user_shape(&reply.body, "alice", "al@example.org");
    }
    let reply = send_json(
        &c,
        "PUT",
        &url,
        Some(&jwt),
        &json!({ "email": "a@localhost" }),
    )
    .await;
    assert_validation(&reply, &["body", "email"]);
    let reply = send_json(&c, "PUT", &url, Some(&jwt), &json!({ "username": 7 })).await;
    assert_validation(&reply, &["body"]);
    let reply = send_json(&c, "PUT", &url, Some(&jwt), &json!({ "username": "bob" })).await;
    assert_detail(&reply, 400, "Username already registered");
    let reply = send_json(
        &c,
        "PUT",
        &url,
        Some(&jwt),
        &json!({ "email": "bob@example.com" }),
    )
    .await;
    assert_detail(&reply, 400, "Email already registered");

    let new_password = "a-brand-new-password";
    let reply = send_json(
        &c,
        "PUT",
        &url,
        Some(&jwt),
        &json!({ "password": new_password }),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_hides(&reply, &[new_password, &jwt]);
    let reply = token_form(&c, &s, &[("username", "alice"), ("password", PASSWORD)]).await;
    assert_detail(&reply, 401, "Incorrect username or password");
    // A password change ends the sessions issued before it.
    let reply = get(&c, &url, Some(&jwt)).await;
    assert_detail(&reply, 401, "Could not validate credentials for local user");
    let jwt = login(&c, &s, "alice", new_password).await;

    // A rename invalidates every outstanding token too, as in Forge v1.
    let reply = send_json(
        &c,
        "PUT",
        &url,
        Some(&jwt),
        &json!({ "username": "alicia" }),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_user_shape(&reply.body, "alicia", "al@example.org");
    let reply = get(&c, &url, Some(&jwt)).await;
    assert_detail(&reply, 401, "Could not validate credentials for local user");
    let jwt = login(&c, &s, "alicia", new_password).await;
    let me = get(&c, &url, Some(&jwt)).await;
    assert_eq!(me.body["username"], "alicia");
    assert_eq!(me.body["is_admin"], true);
}

async fn unknown_paths_and_wrong_methods(b: Backend) {
    let s = TestServer::start(b).await;
    let c = client();
    let jwt = register_and_login(&c, &s, "alice").await;
    for path in [
        "/nope",
        "/v1",
        "/v1/nope",
        "/v1/auth",
        "/v1/users/you",
        "/v1/api-keys/1/2",
        "/v1/provider-keys/a/b/c",
        "/docsx",
    ] {
        for bearer in [None, Some(jwt.as_str())] {
            let reply = get(&c, &s.url(path), bearer).await;
            assert_detail(&reply, 404, "Not Found");
        }
    }
    for (method, path) in [
        ("GET", "/v1/auth/register"),
        ("GET", "/v1/auth/token"),
        ("DELETE", "/v1/users/me"),
        ("PATCH", "/v1/users/me"),
        ("GET", "/v1/users/"),
        ("DELETE", "/v1/api-keys/"),
        ("GET", "/v1/api-keys/1"),
        ("GET", "/v1/api-keys/1/regenerate"),
        ("POST", "/v1/api-keys/1"),
        ("PUT", "/v1/provider-keys/"),
        ("GET", "/v1/provider-keys/openai"),
        ("GET", "/v1/provider-keys/batch-upsert"),
        ("POST", "/"),
        ("DELETE", "/health/database"),
    ] {
        let reply = send_raw(&c, method, &s.url(path), Some(&jwt), None).await;
        assert_detail(&reply, 405, "Method Not Allowed");
    }
}

/// Both spellings of every path answer directly: never a redirect.
async fn both_spellings_answer_directly(b: Backend) {
    let s = TestServer::start(b).await;
    let c = Client::builder().disable_redirects().finish();
    let jwt = register_and_login(&c, &s, "alice").await;
    let reply = post_json(
        &c,
        &s.url("/v1/users"),
        None,
        &register_body("bob", "bob@example.com"),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let reply = post_json(
        &c,
        &s.url("/v1/auth/register/"),
        None,
        &register_body("carol", "carol@example.com"),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    for path in [
        "/health/detailed/",
        "/v1/users/me/",
        "/v1/api-keys",
        "/v1/api-keys/",
        "/v1/provider-keys",
        "/v1/provider-keys/",
    ] {
        let reply = get(&c, &s.url(path), Some(&jwt)).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
        if path.starts_with("/health") {
            // alice registered first: she is the admin, and sees the usage counters.
            assert!(reply.body["usage"].is_object(), "{}", reply.text);
        }
    }
    for (i, path) in ["/v1/provider-keys", "/v1/provider-keys/"]
        .iter()
        .enumerate()
    {
        let body = json!({ "provider_name": format!("p{i}"), "api_key": "sk-0123456789abcdef", "base_url": "https://api.example.com/v1" });
        let reply = post_json(&c, &s.url(path), Some(&jwt), &body).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
    }
    for path in ["/v1/provider-keys/p0", "/v1/provider-keys/p0/"] {
        let reply = send_json(&c, "PUT", &s.url(path), Some(&jwt), &json!({})).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
    }
    for path in [
        "/v1/provider-keys/batch-upsert",
        "/v1/provider-keys/batch-upsert/",
    ] {
        let reply = post_json(&c, &s.url(path), Some(&jwt), &json!([])).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
        assert_eq!(reply.body, json!([]));
    }
    for path in ["/v1/provider-keys/p0", "/v1/provider-keys/p1/"] {
        let reply = send_raw(&c, "DELETE", &s.url(path), Some(&jwt), None).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
    }
    for path in ["/v1/api-keys", "/v1/api-keys/"] {
        let reply = post_json(&c, &s.url(path), Some(&jwt), &json!({})).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
        let id = reply.body["id"].as_i64().unwrap();
        for (method, path) in [
            ("PUT", format!("/v1/api-keys/{id}")),
            ("PUT", format!("/v1/api-keys/{id}/")),
            ("POST", format!("/v1/api-keys/{id}/regenerate")),
            ("POST", format!("/v1/api-keys/{id}/regenerate/")),
            ("DELETE", format!("/v1/api-keys/{id}/")),
        ] {
            let reply = send_json(&c, method, &s.url(&path), Some(&jwt), &json!({})).await;
            assert_eq!(reply.status, 200, "{method} {path}: {}", reply.text);
        }
    }
    let reply = send_json(&c, "PUT", &s.url("/v1/users/me/"), Some(&jwt), &json!({})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

/// A session token names the account (its id), not the username, and a password change
/// ends every session issued before it.
async fn sessions_follow_the_account_and_end_with_the_password(b: Backend) {
    let s = TestServer::start(b).await;
    let c = client();
    let alice = register_and_login(&c, &s, "alice").await;
    let me = get(&c, &s.url("/v1/users/me"), Some(&alice)).await;
    let alice_id = me.body["id"].as_i64().unwrap();

    // Alice renames herself (which ends her sessions, as in Forge v1); Mallory registers
    // the old name. Alice's old token must not become Mallory's session.
    let rename = send_raw(
        &c,
        "PUT",
        &s.url("/v1/users/me"),
        Some(&alice),
        Some(("application/json", r#"{"username": "alice2"}"#)),
    )
    .await;
    assert_eq!(rename.status, 200, "{}", rename.text);
    let registered = post_json(
        &c,
        &s.url("/v1/auth/register"),
        None,
        &json!({ "username": "alice", "email": "mallory@example.com", "password": "correct-horse-battery" }),
    )
    .await;
    assert_eq!(registered.status, 200, "{}", registered.text);
    let mallory = login(&c, &s, "alice", "correct-horse-battery").await;
    let theirs = get(&c, &s.url("/v1/users/me"), Some(&mallory)).await;
    assert_ne!(theirs.body["id"].as_i64().unwrap(), alice_id);
    let stale = get(&c, &s.url("/v1/users/me"), Some(&alice)).await;
    assert_eq!(stale.status, 401, "{}", stale.text);
    let alice = login(&c, &s, "alice2", "correct-horse-battery").await;
    let mine = get(&c, &s.url("/v1/users/me"), Some(&alice)).await;
    assert_eq!(mine.body["id"].as_i64().unwrap(), alice_id);

    // A second session, then a password change through the first: both end.
    let other = login(&c, &s, "alice2", "correct-horse-battery").await;
    let change = send_raw(
        &c,
        "PUT",
        &s.url("/v1/users/me"),
        Some(&alice),
        Some((
            "application/json",
            r#"{"password": "a-brand-new-passphrase"}"#,
        )),
    )
    .await;
    assert_eq!(change.status, 200, "{}", change.text);
    for token in [&alice, &other] {
        let reply = get(&c, &s.url("/v1/users/me"), Some(token)).await;
        assert_eq!(reply.status, 401, "{}", reply.text);
    }
    let fresh = login(&c, &s, "alice2", "a-brand-new-passphrase").await;
    assert_eq!(
        get(&c, &s.url("/v1/users/me"), Some(&fresh)).await.status,
        200
    );

    // Signed with the server's secret, but for a stale generation or an unknown id.
    let secret = forge_server::secrets::load(&s.data_dir).unwrap().jwt_secret;
    let now = chrono::Utc::now().timestamp();
    for claims in [
        json!({ "sub": alice_id.to_string(), "gen": 1, "iat": now, "exp": now + 600 }),
        json!({ "sub": "999999", "gen": 0, "iat": now, "exp": now + 600 }),
        json!({ "sub": "alice2", "gen": 1, "iat": now, "exp": now + 600 }),
    ] {
        let token = sign(&secret, &claims);
        let reply = get(&c, &s.url("/v1/users/me"), Some(&token)).await;
        assert_eq!(reply.status, 401, "{claims}: {}", reply.text);
    }
    assert_eq!(
        get(&c, &s.url("/v1/users/me"), Some(&mallory)).await.status,
        200
    );
}

on_both_backends!(
    sessions_follow_the_account_and_end_with_the_password,
    health_routes,
    register_and_its_conflicts,
    register_rejects_bad_bodies_with_422,
    token_is_an_oauth2_password_form,
    jwt_failures_are_401,
    users_me_is_a_masked_user,
    put_users_me_updates_partially,
    unknown_paths_and_wrong_methods,
    both_spellings_answer_directly,
);
