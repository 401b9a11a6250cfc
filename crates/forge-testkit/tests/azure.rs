//! The OpenAI fake's Azure OpenAI routes over real HTTP: deployment URLs, `api-version`,
//! the `api-key` header, Azure's error bodies, and the shared recording, faults and validation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Reply, client, send, sse_events};
use forge_testkit::{FakeOpenAi, FakeOpenAiConfig, Fault, FaultMode, fake_embedding};
use futures_util::StreamExt;
use serde_json::{Value, json};

const VERSION: &str = "2024-10-21";

const ACCESS_DENIED: &str = "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.";

fn fake() -> FakeOpenAi {
    FakeOpenAi::start(FakeOpenAiConfig::default())
}

/// `http://ADDR/openai/deployments/{deployment}/{endpoint}?api-version=2024-10-21`.
fn deployment_url(fake: &FakeOpenAi, deployment: &str, endpoint: &str) -> String {
    format!(
        "http://{}/openai/deployments/{deployment}/{endpoint}?api-version={VERSION}",
        fake.addr()
    )
}

fn chat_body(stream: bool) -> Value {
    json!({"messages": [{"role": "user", "content": "Say hello"}], "stream": stream})
}

async fn azure_post(fake: &FakeOpenAi, url: &str, body: &Value) -> Reply {
    send(url, &[("api-key", fake.api_key())], Some(body)).await
}

fn assert_azure_error(reply: &Reply, status: u16, code: &str, message: &str) {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert_eq!(
        reply.json(),
        json!({"error": {"code": code, "message": message}}),
        "{}",
        reply.text
    );
}

#[actix_rt::test]
async fn chat_answers_for_the_deployment_and_records_the_call() {
    let fake = fake();
    let url = deployment_url(&fake, "gpt-4o-mini", "chat/completions");
    let reply = azure_post(&fake, &url, &chat_body(false)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Hello from fake upstream (model gpt-4o-mini)"
    );
    assert!(body["usage"]["total_tokens"].as_u64().unwrap() > 0);

    let seen = fake.last_request().unwrap();
    assert_eq!(seen.method, "POST");
    assert_eq!(
        seen.path,
        "/openai/deployments/gpt-4o-mini/chat/completions"
    );
    assert_eq!(seen.query, format!("api-version={VERSION}"));
    assert_eq!(seen.header("api-key"), Some(fake.api_key()));
    assert_eq!(seen.header("authorization"), None);
    assert_eq!(seen.body, chat_body(false));
}

#[actix_rt::test]
async fn the_deployment_wins_over_a_body_model() {
    let fake = fake();
    let mut body = chat_body(false);
    body["model"] = json!("no-such-model");
    let url = deployment_url(&fake, "gpt-4o", "chat/completions");
    let reply = azure_post(&fake, &url, &body).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["model"], "gpt-4o");
}

#[actix_rt::test]
async fn chat_streams_like_v1() {
    let fake = fake();
    let mut body = chat_body(true);
    body["stream_options"] = json!({"include_usage": true});
    let url = deployment_url(&fake, "gpt-4o-mini", "chat/completions");
    let reply = azure_post(&fake, &url, &body).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("text/event-stream")
    );
    let events = sse_events(&reply.text);
    assert_eq!(events.last(), Some(&Value::Null), "ends with [DONE]");
    let text: String = events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Hello from fake upstream (model gpt-4o-mini)");
    for event in events.iter().filter(|e| !e.is_null()) {
        assert_eq!(event["model"], "gpt-4o-mini");
    }
    let usage = &events[events.len() - 2]["usage"];
    assert!(usage["completion_tokens"].as_u64().unwrap() > 0, "{usage}");
}

#[actix_rt::test]
async fn completions_and_embeddings_route_by_deployment() {
    let fake = fake();
    let url = deployment_url(&fake, "gpt-4o-mini", "completions");
    let reply = azure_post(&fake, &url, &json!({"prompt": "Say hello"})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["object"], "text_completion");
    assert_eq!(reply.json()["model"], "gpt-4o-mini");

    let url = deployment_url(&fake, "text-embedding-3-small", "embeddings");
    let reply = azure_post(&fake, &url, &json!({"input": "hello"})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["model"], "text-embedding-3-small");
    assert_eq!(
        body["data"][0]["embedding"],
        json!(fake_embedding("hello", 8))
    );
}

#[actix_rt::test]
async fn a_missing_api_version_is_resource_not_found() {
    let fake = fake();
    let base = format!(
        "http://{}/openai/deployments/gpt-4o-mini/chat/completions",
        fake.addr()
    );
    for url in [
        base.clone(),
        format!("{base}?api-version="),
        format!("{base}?api_version={VERSION}"),
    ] {
        let reply = azure_post(&fake, &url, &chat_body(false)).await;
        assert_azure_error(&reply, 404, "404", "Resource not found");
    }
    let models = format!("http://{}/openai/models", fake.addr());
    let reply = send(&models, &[("api-key", fake.api_key())], None).await;
    assert_azure_error(&reply, 404, "404", "Resource not found");
    assert_eq!(fake.request_count(), 4, "rejected requests are recorded");
}

#[actix_rt::test]
async fn only_the_api_key_header_authenticates() {
    let fake = fake();
    let url = deployment_url(&fake, "gpt-4o-mini", "chat/completions");
    let bearer = format!("Bearer {}", fake.api_key());
    let cases: [&[(&str, &str)]; 3] = [
        &[],
        &[("api-key", "sk-wrong-key-0000000000")],
        // OpenAI's header is not Azure's: a key there is not looked at.
        &[("authorization", bearer.as_str())],
    ];
    for headers in cases {
        let reply = send(&url, headers, Some(&chat_body(false))).await;
        assert_azure_error(&reply, 401, "401", ACCESS_DENIED);
        assert!(!reply.text.contains("sk-wrong"), "{}", reply.text);
    }
}

#[actix_rt::test]
async fn an_unknown_deployment_is_deployment_not_found() {
    let fake = fake();
    let url = deployment_url(&fake, "gpt-nope", "chat/completions");
    let reply = azure_post(&fake, &url, &chat_body(false)).await;
    assert_azure_error(
        &reply,
        404,
        "DeploymentNotFound",
        "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.",
    );
    // The key is checked before the deployment, so deployments cannot be probed without one.
    let reply = send(&url, &[], Some(&chat_body(false))).await;
    assert_eq!(reply.status, 401, "{}", reply.text);
}

#[actix_rt::test]
async fn unknown_azure_paths_are_resource_not_found() {
    let fake = fake();
    let key = [("api-key", fake.api_key())];
    let url = deployment_url(&fake, "gpt-4o-mini", "chat/completions");
    let reply = send(&url, &key, None).await;
    assert_azure_error(&reply, 404, "404", "Resource not found");
    let url = deployment_url(&fake, "gpt-4o-mini", "images/generations");
    let reply = send(&url, &key, Some(&json!({}))).await;
    assert_azure_error(&reply, 404, "404", "Resource not found");
    // Outside `/openai/` the fake still answers like OpenAI.
    let url = format!("http://{}/nowhere", fake.addr());
    let reply = send(&url, &key, None).await;
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.json()["error"]["message"],
        "Invalid URL (GET /nowhere)"
    );
}

#[actix_rt::test]
async fn lists_models_the_azure_way() {
    let fake = fake();
    let url = format!("http://{}/openai/models?api-version={VERSION}", fake.addr());
    let reply = send(&url, &[("api-key", fake.api_key())], None).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["object"], "list");
    let data = body["data"].as_array().unwrap();
    let ids: Vec<&str> = data.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small"]);
    for model in data {
        assert_eq!(model["object"], "model");
        assert_eq!(model["status"], "succeeded");
        assert!(model["created_at"].is_u64(), "{model}");
    }
    assert_eq!(data[0]["capabilities"]["chat_completion"], true);
    assert_eq!(data[2]["capabilities"]["embeddings"], true);
    let seen = fake.last_request().unwrap();
    assert_eq!(
        (seen.method.as_str(), seen.path.as_str()),
        ("GET", "/openai/models")
    );

    let reply = send(&url, &[], None).await;
    assert_azure_error(&reply, 401, "401", ACCESS_DENIED);
}

#[actix_rt::test]
async fn bodies_are_validated_like_v1() {
    let fake = fake();
    let url = deployment_url(&fake, "gpt-4o-mini", "chat/completions");
    let reply = azure_post(&fake, &url, &json!({"messages": []})).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert_eq!(reply.json()["error"]["param"], "messages");
    assert_eq!(reply.json()["error"]["code"], "empty_array");

    let reply = azure_post(&fake, &url, &json!({"messages": [], "stream": "yes"})).await;
    assert_eq!(reply.status, 400, "{}", reply.text);

    let url = deployment_url(&fake, "text-embedding-3-small", "embeddings");
    let reply = azure_post(&fake, &url, &json!({})).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert_eq!(reply.json()["error"]["param"], "input");
}

#[actix_rt::test]
async fn faults_apply_with_azure_bodies_for_gateway_statuses() {
    let fake = fake();
    let url = deployment_url(&fake, "gpt-4o-mini", "chat/completions");
    fake.set_fault(
        Fault::Status {
            status: 429,
            body: None,
            retry_after: Some(7),
        },
        FaultMode::Once,
    );
    let reply = azure_post(&fake, &url, &chat_body(false)).await;
    assert_eq!(reply.status, 429, "{}", reply.text);
    assert_eq!(reply.header("retry-after").as_deref(), Some("7"));
    let error = &reply.json()["error"];
    assert_eq!(error["code"], "429");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("retry after 7 seconds"),
        "{error}"
    );
    // Taken once: the next call is answered.
    let reply = azure_post(&fake, &url, &chat_body(false)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);

    // Statuses from the model service keep OpenAI's shape.
    let reply = send(
        &url,
        &[("api-key", fake.api_key()), ("x-fake-fault", "status=500")],
        Some(&chat_body(false)),
    )
    .await;
    assert_eq!(reply.status, 500, "{}", reply.text);
    assert_eq!(reply.json()["error"]["type"], "server_error");

    let reply = send(
        &url,
        &[("api-key", fake.api_key()), ("x-fake-fault", "status=401")],
        Some(&chat_body(false)),
    )
    .await;
    assert_azure_error(&reply, 401, "401", ACCESS_DENIED);
}

#[actix_rt::test]
async fn stream_faults_cut_azure_streams() {
    let fake = fake();
    let url = deployment_url(&fake, "gpt-4o-mini", "chat/completions");
    fake.set_fault(Fault::DropMidStream { after_chunks: 2 }, FaultMode::Once);
    let mut resp = client()
        .post(url)
        .insert_header(("api-key", fake.api_key()))
        .send_json(&chat_body(true))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut received = Vec::new();
    while let Some(Ok(bytes)) = resp.next().await {
        received.extend_from_slice(&bytes);
    }
    let events = sse_events(&String::from_utf8(received).unwrap());
    assert_eq!(events.len(), 2);
    assert!(!events.contains(&Value::Null), "no [DONE] after a drop");
}
