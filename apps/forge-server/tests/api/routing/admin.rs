//! The operator's routing endpoints: the table, decisions, health and the two levers.

use forge_testkit::{Fault, FaultMode};
use serde_json::json;

use super::common::*;
use crate::harness::{TestServer, client, get, post_json, register_and_login, send_json, send_raw};

/// A JWT of the server's admin (the first registered user), registering it on first use.
pub async fn admin_jwt(server: &TestServer) -> String {
    let c = client();
    let existing = send_raw(
        &c,
        "POST",
        &server.url("/v1/auth/token"),
        None,
        Some((
            "application/x-www-form-urlencoded",
            "username=root&password=correct-horse-battery",
        )),
    )
    .await;
    if existing.status == 200 {
        return existing.body["access_token"].as_str().unwrap().to_owned();
    }
    register_and_login(&c, server, "root").await
}

/// Failures recorded against a deployment, from `GET /v1/admin/deployments`.
pub async fn deployment_failures(server: &TestServer, id: &str) -> u64 {
    let jwt = admin_jwt(server).await;
    let reply = get(&client(), &server.url("/v1/admin/deployments"), Some(&jwt)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == id)
        .unwrap_or_else(|| panic!("no deployment {id} in {}", reply.text))["failures"]
        .as_u64()
        .unwrap()
}

#[actix_rt::test]
async fn admins_see_the_table_decisions_and_health_and_can_reset() {
    let a = openai();
    let b = openai();
    let config = format!(
        "[aliases]\nquick = \"m\"\n\n[routing.cooldown]\nfailures = 1\nbase_ms = 60000\nmax_ms = 60000\n\n{}",
        two_deployments(&a, &b, "strategy = \"priority\"\nfallbacks = []")
    );
    let server = TestServer::start_with_config(&config).await;
    let c = client();
    let jwt = admin_jwt(&server).await;

    let routes = get(&c, &server.url("/v1/admin/routes"), Some(&jwt)).await;
    assert_eq!(routes.status, 200, "{}", routes.text);
    assert_eq!(routes.body["aliases"]["quick"], "m");
    let m = routes.body["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "m")
        .unwrap();
    assert_eq!(m["strategy"], "priority");
    assert_eq!(m["deployments"][0]["id"], "a/gpt-4o-mini#0");
    assert_eq!(m["deployments"][1]["priority"], 1);
    assert!(
        routes.body["source"]
            .as_str()
            .unwrap()
            .ends_with("forge.toml")
    );
    assert!(
        !routes.text.contains(OPENAI_KEY),
        "the table shows a provider key"
    );

    // A fails once and cools down: decide shows B first and A excluded, deployments agree.
    a.set_fault(Fault::status(500), FaultMode::Once);
    let reply = chat(
        &c,
        &server,
        &chat_body("m", false),
        &[("x-session-id", "s-1")],
    )
    .await;
    assert_eq!(reply.header("x-forge-provider"), Some("b"));
    let decision = post_json(
        &c,
        &server.url("/v1/admin/routes/decide"),
        Some(&jwt),
        &json!({"model": "quick", "session_id": "s-1"}),
    )
    .await;
    assert_eq!(decision.status, 200, "{}", decision.text);
    assert_eq!(decision.body["route"], "m");
    assert_eq!(decision.body["candidates"][0]["id"], "b/gpt-4o-mini#0");
    assert_eq!(decision.body["candidates"][0]["sticky"], true);
    assert_eq!(decision.body["excluded"][0]["id"], "a/gpt-4o-mini#0");
    assert_eq!(decision.body["excluded"][0]["availability"], "cooling");
    assert!(
        decision.body["excluded"][0]["cooling_for_ms"]
            .as_u64()
            .unwrap()
            > 50_000
    );
    assert_eq!(deployment_failures(&server, "a/gpt-4o-mini#0").await, 1);

    // Reset ends the cooldown (ids are percent-encoded); unknown ids are 404.
    let reset = post_json(
        &c,
        &server.url("/v1/admin/deployments/a%2Fgpt-4o-mini%230/reset"),
        Some(&jwt),
        &json!({}),
    )
    .await;
    assert_eq!(reset.status, 200, "{}", reset.text);
    let decision = post_json(
        &c,
        &server.url("/v1/admin/routes/decide"),
        Some(&jwt),
        &json!({"model": "m"}),
    )
    .await;
    assert_eq!(decision.body["candidates"][0]["id"], "a/gpt-4o-mini#0");
    let missing = post_json(
        &c,
        &server.url("/v1/admin/deployments/nope%230/reset"),
        Some(&jwt),
        &json!({}),
    )
    .await;
    assert_eq!(missing.status, 404);
    assert!(missing.body["detail"].is_string());

    // Dropping the session: the next request is routed afresh (to A, first by priority).
    let dropped = send_json(
        &c,
        "DELETE",
        &server.url("/v1/admin/sessions/s-1"),
        Some(&jwt),
        &json!(null),
    )
    .await;
    assert_eq!(dropped.status, 204, "{}", dropped.text);
    let again = send_json(
        &c,
        "DELETE",
        &server.url("/v1/admin/sessions/s-1"),
        Some(&jwt),
        &json!(null),
    )
    .await;
    assert_eq!(again.status, 404);
    let reply = chat(
        &c,
        &server,
        &chat_body("m", false),
        &[("x-session-id", "s-1")],
    )
    .await;
    assert_eq!(reply.header("x-forge-provider"), Some("a"));

    // Unknown models in decide are 404 {"detail"}; non-admins are refused.
    let unknown = post_json(
        &c,
        &server.url("/v1/admin/routes/decide"),
        Some(&jwt),
        &json!({"model": "nope"}),
    )
    .await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.body["detail"].is_string());
    let user = register_and_login(&c, &server, "someone").await;
    for path in ["/v1/admin/routes", "/v1/admin/deployments"] {
        let reply = get(&c, &server.url(path), Some(&user)).await;
        assert_eq!(reply.status, 403, "{path}");
    }
    let reply = get(&c, &server.url("/v1/admin/routes"), None).await;
    assert_eq!(reply.status, 401);
}
