//! The built-in `mock` provider: a stored key named `mock` (any api key, no base URL) answers
//! every dialect locally, streamed or not, with usage recorded as for a real provider.

use serde_json::{Value, json};

use crate::harness::{
    Backend, TestServer, client, create_forge_key, get, post_json, register_and_login,
};
use crate::usage::common::wait_for;

async fn setup(backend: Backend) -> (TestServer, String) {
    let s = TestServer::start(backend).await;
    let c = client();
    let jwt = register_and_login(&c, &s, "mocker").await;
    let added = post_json(
        &c,
        &s.url("/v1/provider-keys/"),
        Some(&jwt),
        &json!({ "provider_name": "mock", "api_key": "anything" }),
    )
    .await;
    assert_eq!(added.status, 200, "{}", added.text);
    let (_, key) = create_forge_key(&c, &s, &jwt, None).await;
    (s, key)
}

/// The `data:` payloads of an SSE body.
fn events(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

async fn every_dialect_and_endpoint(backend: Backend) {
    let (s, key) = setup(backend).await;
    let c = client();
    let raw_key = key.clone();
    let key = Some(key.as_str());
    let model = "mock/mock-only-gpt-4o";
    let reply = "Mock reply from mock-only-gpt-4o: you said \"Hello mock\".";

    let models = get(&c, &s.url("/v1/models"), key).await;
    assert_eq!(models.status, 200, "{}", models.text);
    let ids: Vec<&str> = models.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["owned_by"] == "mock")
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"mock/mock-only-gpt-4o"), "{ids:?}");

    let messages = json!([{ "role": "user", "content": "Hello mock" }]);
    let chat = post_json(
        &c,
        &s.url("/v1/chat/completions"),
        key,
        &json!({ "model": model, "messages": messages }),
    )
    .await;
    assert_eq!(chat.status, 200, "{}", chat.text);
    assert_eq!(chat.body["choices"][0]["message"]["content"], reply);
    assert_eq!(chat.header("x-forge-provider"), Some("mock"));

    let streamed = post_json(
        &c,
        &s.url("/v1/chat/completions"),
        key,
        &json!({ "model": model, "messages": messages, "stream": true }),
    )
    .await;
    assert_eq!(streamed.status, 200, "{}", streamed.text);
    let text: String = events(&streamed.text)
        .iter()
        .filter_map(|e| {
            e["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(text, reply);
    assert!(streamed.text.trim_end().ends_with("data: [DONE]"));
    // Forge asked for the usage chunk; the client did not, so it does not see it (the other
    // chunks carry `"usage": null`, as OpenAI's do once it is asked for).
    assert!(
        events(&streamed.text).iter().all(|e| e["usage"].is_null()),
        "{}",
        streamed.text
    );

    // Anthropic Messages, translated both ways.
    let mut req = c
        .post(s.url("/v1/messages"))
        .insert_header(("x-api-key", raw_key.as_str()))
        .insert_header(("anthropic-version", "2023-06-01"));
    req = req.insert_header(("content-type", "application/json"));
    let messages_reply = crate::harness::read(
        req.send_json(&json!({ "model": model,
        "max_tokens": 100, "messages": messages }))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(messages_reply.status, 200, "{}", messages_reply.text);
    assert_eq!(messages_reply.body["content"][0]["text"], reply);
    assert_eq!(messages_reply.body["stop_reason"], "end_turn");

    // Gemini, streamed.
    let gemini = c
        .post(s.url(&format!(
            "/v1beta/models/{model}:streamGenerateContent?alt=sse"
        )))
        .insert_header(("x-goog-api-key", raw_key.as_str()))
        .send_json(
            &json!({ "contents": [{ "role": "user", "parts": [{ "text": "Hello mock" }] }] }),
        )
        .await
        .unwrap();
    let gemini = crate::harness::read(gemini).await;
    assert_eq!(gemini.status, 200, "{}", gemini.text);
    let text: String = events(&gemini.text)
        .iter()
        .filter_map(|e| {
            e["candidates"][0]["content"]["parts"][0]["text"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(text, reply);

    let embeddings = post_json(&c, &s.url("/v1/embeddings"), key,
        &json!({ "model": "mock/mock-only-text-embedding-3-small", "input": ["a", "b"], "dimensions": 4 })).await;
    assert_eq!(embeddings.status, 200, "{}", embeddings.text);
    assert_eq!(
        embeddings.body["data"][1]["embedding"]
            .as_array()
            .unwrap()
            .len(),
        4
    );

    let completion = post_json(
        &c,
        &s.url("/v1/completions"),
        key,
        &json!({ "model": "mock/mock-only-gpt-4o-mini", "prompt": "Say" }),
    )
    .await;
    assert_eq!(completion.status, 200, "{}", completion.text);
    assert_eq!(
        completion.body["choices"][0]["text"],
        " mock completion 0 from mock-only-gpt-4o-mini"
    );

    // Images, moderations and speech (binary, streamed through as it comes).
    let images = post_json(
        &c,
        &s.url("/v1/images/generations"),
        key,
        &json!({ "model": "mock/mock-only-dall-e-3", "prompt": "a cat", "n": 2 }),
    )
    .await;
    assert_eq!(images.status, 200, "{}", images.text);
    assert_eq!(images.body["data"].as_array().unwrap().len(), 2);
    let moderation = post_json(
        &c,
        &s.url("/v1/moderations"),
        key,
        &json!({ "model": "mock/mock-only-gpt-4o", "input": "hello" }),
    )
    .await;
    assert_eq!(
        moderation.body["results"][0]["flagged"], false,
        "{}",
        moderation.text
    );
    let mut speech = c.post(s.url("/v1/audio/speech"))
        .insert_header(("authorization", format!("Bearer {raw_key}")))
        .send_json(&json!({ "model": "mock/mock-only-gpt-4o", "voice": "alloy", "input": "x".repeat(100) }))
        .await
        .unwrap();
    assert_eq!(speech.status().as_u16(), 200);
    assert_eq!(speech.headers().get("content-type").unwrap(), "audio/wav");
    let audio = speech.body().await.unwrap();
    assert_eq!((&audio[..4], audio.len()), (&b"RIFF"[..], 44 + 3 * 800 * 2));

    // A failing mock model fails like an upstream: the status and error come through.
    let failing = post_json(
        &c,
        &s.url("/v1/chat/completions"),
        key,
        &json!({ "model": "mock/mock-only-fail-429", "messages": messages }),
    )
    .await;
    assert_eq!(failing.status, 429, "{}", failing.text);

    // One usage record per request that reached the mock, with its token counts.
    let records = wait_for(&s, 10).await;
    let chats: Vec<_> = records
        .iter()
        .filter(|r| r.upstream_model == "mock-only-gpt-4o")
        .filter(|r| !matches!(r.endpoint.as_str(), "moderations" | "audio/speech"))
        .collect();
    assert_eq!(chats.len(), 4, "{records:?}");
    for r in &chats {
        assert_eq!(r.status, 200);
        assert_eq!(r.output_tokens, 8, "{r:?}"); // the reply's eight words
        assert!(r.input_tokens > 0 && !r.estimated, "{r:?}");
    }
    let embedded = records.iter().find(|r| r.endpoint == "embeddings").unwrap();
    assert_eq!(embedded.input_tokens, 2);
}

#[actix_rt::test]
async fn the_mock_provider_serves_every_dialect_on_sqlite() {
    every_dialect_and_endpoint(Backend::Sqlite).await;
}

#[actix_rt::test]
async fn the_mock_provider_serves_every_dialect_on_postgres() {
    every_dialect_and_endpoint(Backend::Postgres).await;
}
