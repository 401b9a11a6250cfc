//! Azure OpenAI provider keys end to end: created through the admin API, called at deployment
//! URLs with `api-version` and an `api-key` header, against the OpenAI fake's Azure routes.

use awc::Client;
use forge_core::sse::SseParser;
use forge_testkit::{FakeOpenAi, FakeOpenAiConfig};
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::harness::{
    Backend, Reply, TestServer, client, create_forge_key, post_json, read, register_and_login,
};

const UPSTREAM_KEY: &str = "sk-fake-upstream-key-0001";
const API_VERSION: &str = "2024-10-21";
const REPLY: &str = "Hello from fake upstream (model gpt-4o-mini)";

struct Setup {
    server: TestServer,
    fake: FakeOpenAi,
    client: Client,
    jwt: String,
    key: String,
}

/// The Azure endpoint a user would paste: the resource root, without `/openai`.
fn resource_url(fake: &FakeOpenAi) -> String {
    format!("http://{}", fake.addr())
}

async fn create_provider_key(s: &Setup, body: &Value) -> Reply {
    post_json(
        &s.client,
        &s.server.url("/v1/provider-keys/"),
        Some(&s.jwt),
        body,
    )
    .await
}

/// A user with a Forge key and no provider key yet.
async fn bare_setup() -> Setup {
    let fake = FakeOpenAi::start(FakeOpenAiConfig::default());
    let server = TestServer::start(Backend::Sqlite).await;
    let client = client();
    let jwt = register_and_login(&client, &server, "alice").await;
    let (_, key) = create_forge_key(&client, &server, &jwt, None).await;
    Setup {
        server,
        fake,
        client,
        jwt,
        key,
    }
}

fn azure_key_body(fake: &FakeOpenAi) -> Value {
    json!({
        "provider_name": "azure",
        "api_key": UPSTREAM_KEY,
        "base_url": resource_url(fake),
        "model_mapping": null,
        "config": { "api_version": API_VERSION },
    })
}

/// [`bare_setup`] plus an Azure provider key pointing at the fake.
async fn setup() -> Setup {
    let s = bare_setup().await;
    let reply = create_provider_key(&s, &azure_key_body(&s.fake)).await;
    assert_eq!(reply.status, 200, "add azure: {}", reply.text);
    assert_eq!(reply.body["config"]["api_version"], API_VERSION);
    s
}

async fn post_as_client(s: &Setup, path: &str, body: &Value) -> awc::ClientResponse {
    s.client
        .post(s.server.url(path))
        .insert_header(("x-api-key", s.key.as_str()))
        .insert_header(("anthropic-version", "2023-06-01"))
        .send_json(body)
        .await
        .unwrap()
}

fn hello(stream: bool) -> Value {
    json!({
        "model": "azure/gpt-4o-mini",
        "messages": [{ "role": "user", "content": "hi" }],
        "stream": stream,
    })
}

/// Asserts the fake saw an Azure deployment call for `gpt-4o-mini` on `endpoint`.
#[track_caller]
fn assert_deployment_call(fake: &FakeOpenAi, endpoint: &str) -> Value {
    assert_call_to(fake, "gpt-4o-mini", endpoint)
}

#[track_caller]
fn assert_call_to(fake: &FakeOpenAi, deployment: &str, endpoint: &str) -> Value {
    let seen = fake.last_request().expect("the fake was called");
    assert_eq!(seen.method, "POST");
    assert_eq!(
        seen.path,
        format!("/openai/deployments/{deployment}/{endpoint}")
    );
    assert_eq!(seen.query, format!("api-version={API_VERSION}"));
    assert_eq!(seen.header("api-key"), Some(UPSTREAM_KEY));
    assert_eq!(seen.header("authorization"), None, "Azure takes no bearer");
    assert!(seen.header("x-api-key").is_none(), "the Forge key stays");
    let body = seen.body.as_object().expect("a JSON body");
    assert!(!body.contains_key("model"), "{}", seen.raw_body);
    seen.body
}

#[actix_rt::test]
async fn creating_needs_api_version_and_base_url() {
    let s = bare_setup().await;
    let cases = [
        json!({ "provider_name": "azure", "api_key": UPSTREAM_KEY, "base_url": resource_url(&s.fake), "config": null }),
        json!({ "provider_name": "azure", "api_key": UPSTREAM_KEY, "base_url": resource_url(&s.fake), "config": { "api_version": " " } }),
        json!({ "provider_name": "azure", "api_key": UPSTREAM_KEY, "base_url": null, "config": { "api_version": API_VERSION } }),
        json!({ "provider_name": "azure", "api_key": UPSTREAM_KEY, "config": { "api_version": API_VERSION } }),
    ];
    for body in cases {
        let reply = create_provider_key(&s, &body).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.text);
        let detail = reply.body["detail"].as_str().unwrap_or_default();
        assert!(
            detail.starts_with("Error initializing provider azure: "),
            "{body}: {}",
            reply.text
        );
        assert!(!reply.text.contains(UPSTREAM_KEY), "{}", reply.text);
    }
    let reply = create_provider_key(&s, &azure_key_body(&s.fake)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

#[actix_rt::test]
async fn chat_goes_to_the_deployment() {
    let s = setup().await;
    let reply = read(post_as_client(&s, "/v1/chat/completions", &hello(false)).await).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["object"], "chat.completion");
    assert_eq!(reply.body["choices"][0]["message"]["content"], REPLY);
    let sent = assert_deployment_call(&s.fake, "chat/completions");
    assert_eq!(sent["messages"], hello(false)["messages"]);
}

#[actix_rt::test]
async fn chat_streams_from_the_deployment() {
    let s = setup().await;
    let mut resp = post_as_client(&s, "/v1/chat/completions", &hello(true)).await;
    assert_eq!(resp.status(), 200);
    let mut parser = SseParser::new();
    let mut events = Vec::new();
    while let Some(chunk) = resp.next().await {
        parser.push(&chunk.unwrap(), &mut events);
    }
    parser.finish(&mut events);
    assert!(events.last().is_some_and(|e| e.is_done()), "{events:?}");
    let text: String = events
        .iter()
        .filter(|e| !e.is_done())
        .filter_map(|e| serde_json::from_str::<Value>(&e.data).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(text, REPLY);
    let sent = assert_deployment_call(&s.fake, "chat/completions");
    assert_eq!(sent["stream"], true);
}

#[actix_rt::test]
async fn completions_and_embeddings_go_to_their_deployments() {
    let s = setup().await;
    let body = json!({ "model": "azure/gpt-4o-mini", "prompt": "Say hello" });
    let reply = read(post_as_client(&s, "/v1/completions", &body).await).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["choices"][0]["text"], REPLY);
    let sent = assert_deployment_call(&s.fake, "completions");
    assert_eq!(sent["prompt"], "Say hello");

    let body = json!({ "model": "azure/text-embedding-3-small", "input": "hello" });
    let reply = read(post_as_client(&s, "/v1/embeddings", &body).await).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.body["data"][0]["embedding"],
        json!(forge_testkit::fake_embedding("hello", 8))
    );
    let sent = assert_call_to(&s.fake, "text-embedding-3-small", "embeddings");
    assert_eq!(sent["input"], "hello");
}

#[actix_rt::test]
async fn models_are_listed_with_the_azure_prefix() {
    let s = setup().await;
    let resp = s
        .client
        .get(s.server.url("/v1/models"))
        .insert_header(("x-api-key", s.key.as_str()))
        .send()
        .await
        .unwrap();
    let reply = read(resp).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let mut ids: Vec<&str> = reply.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            "azure/gpt-4o",
            "azure/gpt-4o-mini",
            "azure/text-embedding-3-small"
        ]
    );
    let seen = s.fake.last_request().unwrap();
    assert_eq!(
        (seen.method.as_str(), seen.path.as_str()),
        ("GET", "/openai/models")
    );
    assert_eq!(seen.query, format!("api-version={API_VERSION}"));
    assert_eq!(seen.header("api-key"), Some(UPSTREAM_KEY));
    assert_eq!(seen.header("authorization"), None);
}

#[actix_rt::test]
async fn anthropic_messages_are_translated_for_azure() {
    let s = setup().await;
    let body = json!({
        "model": "azure/gpt-4o-mini",
        "max_tokens": 64,
        "messages": [{ "role": "user", "content": "hi" }],
    });
    let reply = read(post_as_client(&s, "/v1/messages", &body).await).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["type"], "message");
    assert_eq!(reply.body["role"], "assistant");
    assert_eq!(reply.body["content"][0]["type"], "text");
    assert_eq!(reply.body["content"][0]["text"], REPLY);
    let sent = assert_deployment_call(&s.fake, "chat/completions");
    assert_eq!(sent["messages"][0]["role"], "user");
}

#[actix_rt::test]
async fn azure_errors_reach_the_client() {
    let s = setup().await;
    let mut body = hello(false);
    body["model"] = json!("azure/gpt-nope");
    let reply = read(post_as_client(&s, "/v1/chat/completions", &body).await).await;
    assert_eq!(reply.status, 404, "{}", reply.text);
    assert!(
        reply
            .text
            .contains("deployment for this resource does not exist"),
        "{}",
        reply.text
    );
    assert!(!reply.text.contains(UPSTREAM_KEY), "{}", reply.text);
    let seen = s.fake.last_request().unwrap();
    assert_eq!(seen.path, "/openai/deployments/gpt-nope/chat/completions");
}
