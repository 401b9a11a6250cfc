//! The request path with a known Forge key makes no database round trip: once the key is
//! cached, the proxy keeps serving while the database refuses every connection.

use std::process::Command;

use forge_testkit::{FakeOpenAi, FakeOpenAiConfig};
use serde_json::json;

use crate::harness::{
    Backend, PG_ADMIN_URL, TestServer, add_provider, client, create_forge_key, get, read, register_and_login,
};

fn psql(sql: &str) {
    let out = Command::new("psql").args([PG_ADMIN_URL, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql]).output().unwrap();
    assert!(out.status.success(), "psql failed: {}", String::from_utf8_lossy(&out.stderr));
}

#[actix_rt::test]
async fn cached_keys_serve_while_the_database_is_gone() {
    let fake = FakeOpenAi::start(FakeOpenAiConfig::default());
    let server = TestServer::start(Backend::Postgres).await;
    let c = client();
    let jwt = register_and_login(&c, &server, "hotpath").await;
    add_provider(&c, &server, &jwt, "openai", "sk-fake-upstream-key-0001", &fake.base_url()).await;
    let (_, key) = create_forge_key(&c, &server, &jwt, None).await;
    let body = json!({ "model": "openai/gpt-4o-mini", "messages": [{ "role": "user", "content": "hi" }] });
    let call = || c.post(server.url("/v1/chat/completions")).insert_header(("x-api-key", key.as_str())).send_json(&body);
    assert_eq!(read(call().await.unwrap()).await.status, 200, "warm-up");

    let db = server.database_url.rsplit('/').next().unwrap().to_owned();
    psql(&format!("ALTER DATABASE \"{db}\" ALLOW_CONNECTIONS false"));
    psql(&format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'"));

    for _ in 0..20 {
        let reply = read(call().await.unwrap()).await;
        assert_eq!(reply.status, 200, "served from memory: {}", reply.text);
    }
    // The admin API does need the database, which proves it is really gone.
    let me = get(&c, &server.url("/v1/users/me"), Some(&jwt)).await;
    assert!(me.status >= 500, "database-backed route should fail now, got {}", me.status);

    psql(&format!("ALTER DATABASE \"{db}\" ALLOW_CONNECTIONS true"));
}
