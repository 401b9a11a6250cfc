//! The OpenAI-compatible proxy routes end to end.

use std::time::{Duration, Instant};

use awc::Client;
use forge_core::sse::{SseEvent, SseParser};
use forge_testkit::{FakeOpenAi, FakeOpenAiConfig, Fault, FaultMode};
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::harness::{
    Backend, TestServer, add_provider, client, create_forge_key, get, post_json, read,
    register_and_login, send_json,
};
use crate::on_both_backends;

const UPSTREAM_KEY: &str = "sk-fake-upstream-key-0001";

struct Setup {
    server: TestServer,
    fake: FakeOpenAi,
    client: Client,
    jwt: String,
    key: String,
    provider_id: i64,
}

async fn setup_with(backend: Backend, tweak: fn(&mut forge_server::config::Settings)) -> Setup {
    let fake = FakeOpenAi::start(FakeOpenAiConfig::default());
    let server = TestServer::start_with(backend, tweak).await;
    let client = client();
    let jwt = register_and_login(&client, &server, "alice").await;
    let provider_id = add_provider(
        &client,
        &server,
        &jwt,
        "openai",
        UPSTREAM_KEY,
        &fake.base_url(),
    )
    .await;
    let (_, key) = create_forge_key(&client, &server, &jwt, None).await;
    Setup {
        server,
        fake,
        client,
        jwt,
        key,
        provider_id,
    }
}

async fn setup(backend: Backend) -> Setup {
    setup_with(backend, |_| {}).await
}

async fn chat(s: &Setup, body: &Value) -> crate::harness::Reply {
    let resp = s
        .client
        .post(s.server.url("/v1/chat/completions"))
        .insert_header(("x-api-key", s.key.as_str()));
    read(resp.send_json(body).await.unwrap()).await
}

fn hello(model: &str) -> Value {
    json!({ "model": model, "messages": [{ "role": "user", "content": "hi" }] })
}

/// Reads an SSE response to its end, returning the events.
async fn sse_events(resp: awc::ClientResponse) -> Vec<SseEvent> {
    let mut resp = resp;
    let mut parser = SseParser::new();
    let mut events = Vec::new();
    while let Some(chunk) = resp.next().await {
        match chunk {
            Ok(bytes) => parser.push(&bytes, &mut events),
            Err(_) => break,
        }
    }
    parser.finish(&mut events);
    events
}

fn content_of(events: &[SseEvent]) -> String {
    events
        .iter()
        .filter(|e| !e.is_done())
        .filter_map(|e| serde_json::from_str::<Value>(&e.data).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

async fn chat_non_stream_passes_through(b: Backend) {
    let s = setup(b).await;
    let mut body = hello("openai/gpt-4o-mini");
    body["vendor_extra"] = json!({ "keep": [1, 2, 3] });
    body["temperature"] = json!(0.25);
    let reply = chat(&s, &body).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.body["choices"][0]["message"]["content"],
        "Hello from fake upstream (model gpt-4o-mini)"
    );
    assert_eq!(reply.body["object"], "chat.completion");
    let seen = s.fake.last_request().unwrap();
    assert_eq!(seen.path, "/v1/chat/completions");
    assert_eq!(
        seen.header("authorization"),
        Some(format!("Bearer {UPSTREAM_KEY}").as_str())
    );
    assert_eq!(
        seen.body["model"], "gpt-4o-mini",
        "only the model is rewritten"
    );
    assert_eq!(
        seen.body["vendor_extra"],
        json!({ "keep": [1, 2, 3] }),
        "unknown fields pass through"
    );
    assert_eq!(seen.body["temperature"], json!(0.25));
    assert_eq!(seen.body["messages"], body["messages"]);
    assert!(
        seen.header("x-api-key").is_none(),
        "the Forge key never reaches the upstream"
    );
}

async fn every_key_header_is_accepted(b: Backend) {
    let s = setup(b).await;
    for (name, value) in [
        ("x-api-key", s.key.clone()),
        ("authorization", format!("Bearer {}", s.key)),
        // Auth schemes are case-insensitive (RFC 9110).
        ("authorization", format!("bearer {}", s.key)),
        ("authorization", format!("BEARER {}", s.key)),
        ("api-key", s.key.clone()),
    ] {
        let resp = s
            .client
            .post(s.server.url("/v1/chat/completions"))
            .insert_header((name, value));
        let reply = read(resp.send_json(&hello("openai/gpt-4o-mini")).await.unwrap()).await;
        assert_eq!(reply.status, 200, "{name}: {}", reply.text);
    }
}

async fn bad_keys_are_401_in_openai_shape(b: Backend) {
    let s = setup(b).await;
    let cases: [(Option<(&str, String)>, &str); 4] = [
        (None, "API key not found in headers"),
        (
            Some(("x-api-key", "sk-not-a-forge-key".into())),
            "Invalid API key format",
        ),
        (
            Some(("x-api-key", format!("forge-{}", "0".repeat(64)))),
            "Invalid API key",
        ),
        (
            Some(("authorization", format!("Basic {}", s.key))),
            "API key not found in headers",
        ),
    ];
    for (header, message) in cases {
        let mut req = s.client.post(s.server.url("/v1/chat/completions"));
        if let Some(h) = header {
            req = req.insert_header(h);
        }
        let reply = read(req.send_json(&hello("openai/gpt-4o-mini")).await.unwrap()).await;
        assert_eq!(reply.status, 401, "{}", reply.text);
        assert_eq!(reply.body["error"]["message"], message);
        assert!(reply.body["error"]["type"].is_string());
    }
    assert_eq!(s.fake.request_count(), 0, "nothing reached the upstream");
}

async fn chat_stream_relays_chunks(b: Backend) {
    let s = setup(b).await;
    let mut body = hello("openai/gpt-4o-mini");
    body["stream"] = json!(true);
    let resp = s
        .client
        .post(s.server.url("/v1/chat/completions"))
        .insert_header(("x-api-key", s.key.as_str()));
    let resp = resp.send_json(&body).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let ct = resp
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(ct.starts_with("text/event-stream"), "{ct}");
    let events = sse_events(resp).await;
    assert!(events.len() >= 5, "several chunks: {events:?}");
    assert!(events.last().unwrap().is_done(), "ends with [DONE]");
    assert_eq!(
        content_of(&events),
        "Hello from fake upstream (model gpt-4o-mini)"
    );
    let first: Value = serde_json::from_str(&events[0].data).unwrap();
    assert_eq!(first["object"], "chat.completion.chunk");
}

async fn upstream_errors_keep_status_and_hide_secrets(b: Backend) {
    let s = setup(b).await;
    s.fake.set_fault(
        Fault::Status {
            status: 429,
            body: None,
            retry_after: Some(7),
        },
        FaultMode::Once,
    );
    let reply = chat(&s, &hello("openai/gpt-4o-mini")).await;
    assert_eq!(reply.status, 429, "{}", reply.text);
    assert_eq!(reply.header("retry-after"), Some("7"));
    let message = reply.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("openai"), "names the provider: {message}");
    assert!(!reply.text.contains(UPSTREAM_KEY));
    assert!(!reply.text.contains(&s.key));

    s.fake.set_fault(Fault::status(500), FaultMode::Once);
    assert_eq!(chat(&s, &hello("openai/gpt-4o-mini")).await.status, 500);
    s.fake.set_fault(Fault::status(503), FaultMode::Once);
    assert_eq!(chat(&s, &hello("openai/gpt-4o-mini")).await.status, 503);

    // The upstream's own 404 for a model it does not have.
    let reply = chat(&s, &hello("openai/no-such-model")).await;
    assert_eq!(reply.status, 404, "{}", reply.text);

    // A stream that fails before any content is a real HTTP error, not a 200.
    s.fake.set_fault(Fault::status(502), FaultMode::Once);
    let mut body = hello("openai/gpt-4o-mini");
    body["stream"] = json!(true);
    assert_eq!(chat(&s, &body).await.status, 502);
}

async fn unreachable_upstream_is_502(b: Backend) {
    let s = setup(b).await;
    // A port that nothing listens on: bind, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    add_provider(
        &s.client,
        &s.server,
        &s.jwt,
        "deadhost",
        "sk-dead",
        &format!("http://127.0.0.1:{port}/v1"),
    )
    .await;
    let reply = chat(&s, &hello("deadhost/some-model")).await;
    assert_eq!(reply.status, 502, "{}", reply.text);
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("deadhost")
    );
    assert!(!reply.text.contains("sk-dead"));
}

async fn mid_stream_drop_ends_with_error_event(b: Backend) {
    let s = setup(b).await;
    s.fake
        .set_fault(Fault::DropMidStream { after_chunks: 2 }, FaultMode::Once);
    let mut body = hello("openai/gpt-4o-mini");
    body["stream"] = json!(true);
    let resp = s
        .client
        .post(s.server.url("/v1/chat/completions"))
        .insert_header(("x-api-key", s.key.as_str()));
    let resp = resp.send_json(&body).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let events = sse_events(resp).await;
    let last = events.last().unwrap();
    assert!(!last.is_done(), "never a clean finish: {events:?}");
    let err: Value = serde_json::from_str(&last.data).unwrap();
    assert_eq!(err["error"]["type"], "stream_error");
    assert!(events.iter().all(|e| !e.is_done()));
    assert!(events.len() >= 2, "the partial content was delivered");
}

async fn timeouts_before_and_during_stream(b: Backend) {
    let s = setup_with(b, |st| {
        st.first_byte_timeout_secs = 1;
        st.idle_timeout_secs = 1;
    })
    .await;
    s.fake.set_fault(Fault::HangBeforeHeaders, FaultMode::Once);
    let reply = chat(&s, &hello("openai/gpt-4o-mini")).await;
    assert_eq!(reply.status, 504, "{}", reply.text);

    s.fake
        .set_fault(Fault::HangMidStream { after_chunks: 2 }, FaultMode::Once);
    let mut body = hello("openai/gpt-4o-mini");
    body["stream"] = json!(true);
    let resp = s
        .client
        .post(s.server.url("/v1/chat/completions"))
        .insert_header(("x-api-key", s.key.as_str()));
    let resp = resp.send_json(&body).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let events = sse_events(resp).await;
    let err: Value = serde_json::from_str(&events.last().unwrap().data).unwrap();
    assert_eq!(err["error"]["type"], "stream_error", "{events:?}");
}

async fn client_disconnect_drops_the_upstream(b: Backend) {
    let s = setup(b).await;
    s.fake.set_fault(Fault::ChunkDelay(300), FaultMode::Once);
    let mut body = hello("openai/gpt-4o-mini");
    body["stream"] = json!(true);
    let resp = s
        .client
        .post(s.server.url("/v1/chat/completions"))
        .insert_header(("x-api-key", s.key.as_str()));
    let mut resp = resp.send_json(&body).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let _first = resp.next().await.unwrap().unwrap();
    assert_eq!(s.fake.in_flight(), 1);
    drop(resp);
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.fake.in_flight() != 0 {
        assert!(
            Instant::now() < deadline,
            "the upstream request was not dropped"
        );
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn unknown_model_404_and_scope_403(b: Backend) {
    let s = setup(b).await;
    // A bare name the openai key lists is discovered there; one nobody lists is a 404.
    let reply = chat(&s, &hello("gpt-4o")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("x-forge-provider"), Some("openai"));
    let reply = chat(&s, &hello("no-such-model")).await;
    assert_eq!(reply.status, 404, "{}", reply.text);
    assert_eq!(reply.body["error"]["code"], "model_not_found");
    let reply = chat(&s, &hello("nosuchprovider/gpt-4o")).await;
    assert_eq!(reply.status, 404);

    // A key restricted to nothing may not use openai.
    let (_, scoped) = create_forge_key(&s.client, &s.server, &s.jwt, Some(vec![])).await;
    let resp = s
        .client
        .post(s.server.url("/v1/chat/completions"))
        .insert_header(("x-api-key", scoped.as_str()));
    let reply = read(resp.send_json(&hello("openai/gpt-4o-mini")).await.unwrap()).await;
    assert_eq!(reply.status, 403, "{}", reply.text);
    // A key scoped to the openai provider key may.
    let (_, allowed) =
        create_forge_key(&s.client, &s.server, &s.jwt, Some(vec![s.provider_id])).await;
    let resp = s
        .client
        .post(s.server.url("/v1/chat/completions"))
        .insert_header(("x-api-key", allowed.as_str()));
    assert_eq!(
        read(resp.send_json(&hello("openai/gpt-4o-mini")).await.unwrap())
            .await
            .status,
        200
    );
}

async fn model_mapping_aliases(b: Backend) {
    let s = setup(b).await;
    let reply = send_json(
        &s.client,
        "PUT",
        &s.server.url("/v1/provider-keys/openai"),
        Some(&s.jwt),
        &json!({ "model_mapping": { "fast": "gpt-4o-mini" } }),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let reply = chat(&s, &hello("fast")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(s.fake.last_request().unwrap().body["model"], "gpt-4o-mini");
    let reply = chat(&s, &hello("openai/fast")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(s.fake.last_request().unwrap().body["model"], "gpt-4o-mini");
}

async fn models_list_is_prefixed(b: Backend) {
    let s = setup(b).await;
    let resp = s
        .client
        .get(s.server.url("/v1/models"))
        .insert_header(("x-api-key", s.key.as_str()));
    let reply = read(resp.send().await.unwrap()).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["object"], "list");
    let ids: Vec<&str> = reply.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"openai/gpt-4o-mini"), "{ids:?}");
    assert!(ids.contains(&"openai/text-embedding-3-small"));
    for m in reply.body["data"].as_array().unwrap() {
        assert_eq!(m["object"], "model");
        assert_eq!(m["owned_by"], "openai");
    }
    // Served from the cache the second time.
    let before = s.fake.request_count();
    let resp = s
        .client
        .get(s.server.url("/v1/models"))
        .insert_header(("x-api-key", s.key.as_str()));
    assert_eq!(read(resp.send().await.unwrap()).await.status, 200);
    assert_eq!(s.fake.request_count(), before);
    // A key restricted to nothing lists nothing.
    let (_, scoped) = create_forge_key(&s.client, &s.server, &s.jwt, Some(vec![])).await;
    let resp = s
        .client
        .get(s.server.url("/v1/models"))
        .insert_header(("x-api-key", scoped.as_str()));
    assert_eq!(
        read(resp.send().await.unwrap()).await.body["data"],
        json!([])
    );
}

async fn models_retrieve_one(b: Backend) {
    let s = setup(b).await;
    let get_one = |id: &str| {
        s.client
            .get(s.server.url(&format!("/v1/models/{id}")))
            .insert_header(("x-api-key", s.key.as_str()))
            .send()
    };
    let reply = read(get_one("openai/gpt-4o-mini").await.unwrap()).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["id"], "openai/gpt-4o-mini");
    assert_eq!(reply.body["object"], "model");
    let reply = read(get_one("openai%2Fgpt-4o").await.unwrap()).await;
    assert_eq!(
        reply.body["id"], "openai/gpt-4o",
        "an encoded slash works too"
    );
    let reply = read(get_one("openai/nope").await.unwrap()).await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.body["error"]["code"], "model_not_found");
}

async fn completions_and_embeddings(b: Backend) {
    let s = setup(b).await;
    let resp = s
        .client
        .post(s.server.url("/v1/embeddings"))
        .insert_header(("x-api-key", s.key.as_str()));
    let reply = read(
        resp.send_json(&json!({ "model": "openai/text-embedding-3-small", "input": ["a", "b"] }))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["data"].as_array().unwrap().len(), 2);
    assert_eq!(
        s.fake.last_request().unwrap().body["model"],
        "text-embedding-3-small"
    );

    let resp = s
        .client
        .post(s.server.url("/v1/completions"))
        .insert_header(("x-api-key", s.key.as_str()));
    let reply = read(
        resp.send_json(&json!({ "model": "openai/gpt-4o-mini", "prompt": "Say hi" }))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(s.fake.last_request().unwrap().path, "/v1/completions");
}

async fn bad_bodies_get_openai_errors(b: Backend) {
    let s = setup_with(b, |st| st.max_body_bytes = 4096).await;
    let url = s.server.url("/v1/chat/completions");
    let post = |body: &'static str| {
        s.client
            .post(url.clone())
            .insert_header(("x-api-key", s.key.as_str()))
            .insert_header(("content-type", "application/json"))
            .send_body(body)
    };
    for (body, status) in [
        ("{not json", 400),
        ("[1,2,3]", 400),
        ("{\"model\": 42, \"messages\": []}", 400),
        ("{\"messages\": []}", 400),
        (
            "{\"model\": \"openai/gpt-4o-mini\", \"stream\": \"yes\"}",
            400,
        ),
    ] {
        let reply = read(post(body).await.unwrap()).await;
        assert_eq!(reply.status, status, "{body}: {}", reply.text);
        assert!(
            reply.body["error"]["message"].is_string(),
            "{body}: {}",
            reply.text
        );
    }
    let big = json!({ "model": "openai/gpt-4o-mini", "messages": [{ "role": "user", "content": "x".repeat(10_000) }] });
    let reply = chat(&s, &big).await;
    assert_eq!(reply.status, 413, "{}", reply.text);
    assert!(reply.body["error"]["message"].is_string());
    assert_eq!(s.fake.request_count(), 0);
}

async fn revoked_and_disabled_keys_stop_at_once(b: Backend) {
    let s = setup(b).await;
    assert_eq!(chat(&s, &hello("openai/gpt-4o-mini")).await.status, 200);
    let (id, other) = create_forge_key(&s.client, &s.server, &s.jwt, None).await;
    let use_other = || {
        s.client
            .post(s.server.url("/v1/chat/completions"))
            .insert_header(("x-api-key", other.as_str()))
            .send_json(&hello("openai/gpt-4o-mini"))
    };
    assert_eq!(read(use_other().await.unwrap()).await.status, 200);
    let reply = send_json(
        &s.client,
        "PUT",
        &s.server.url(&format!("/v1/api-keys/{id}")),
        Some(&s.jwt),
        &json!({ "is_active": false }),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(read(use_other().await.unwrap()).await.status, 401);
    let reply = send_json(
        &s.client,
        "PUT",
        &s.server.url(&format!("/v1/api-keys/{id}")),
        Some(&s.jwt),
        &json!({ "is_active": true }),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(read(use_other().await.unwrap()).await.status, 200);
    let reply = send_json(
        &s.client,
        "DELETE",
        &s.server.url(&format!("/v1/api-keys/{id}")),
        Some(&s.jwt),
        &json!({}),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(read(use_other().await.unwrap()).await.status, 401);
    // Deleting the provider key makes its models unknown at once.
    let reply = send_json(
        &s.client,
        "DELETE",
        &s.server.url("/v1/provider-keys/openai"),
        Some(&s.jwt),
        &json!({}),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(chat(&s, &hello("openai/gpt-4o-mini")).await.status, 404);
}

async fn restart_keeps_provider_keys_decryptable(b: Backend) {
    let mut s = setup(b).await;
    s.server.restart().await;
    let reply = chat(&s, &hello("openai/gpt-4o-mini")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        s.fake.last_request().unwrap().header("authorization"),
        Some(format!("Bearer {UPSTREAM_KEY}").as_str())
    );
    // The JWT issued before the restart still works (the secret persisted too).
    assert_eq!(
        get(&s.client, &s.server.url("/v1/users/me"), Some(&s.jwt))
            .await
            .status,
        200
    );
    let _ = post_json;
}

on_both_backends!(
    chat_non_stream_passes_through,
    every_key_header_is_accepted,
    bad_keys_are_401_in_openai_shape,
    chat_stream_relays_chunks,
    upstream_errors_keep_status_and_hide_secrets,
    unreachable_upstream_is_502,
    mid_stream_drop_ends_with_error_event,
    timeouts_before_and_during_stream,
    client_disconnect_drops_the_upstream,
    unknown_model_404_and_scope_403,
    model_mapping_aliases,
    models_list_is_prefixed,
    models_retrieve_one,
    completions_and_embeddings,
    bad_bodies_get_openai_errors,
    revoked_and_disabled_keys_stop_at_once,
    restart_keeps_provider_keys_decryptable,
);
