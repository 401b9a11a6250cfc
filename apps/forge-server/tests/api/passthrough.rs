//! The universal pass-through (`/passthrough/{provider}/{path}`) and `[[forward]]` mounts:
//! any method, query and body reach the provider under its base URL with the provider's own
//! credentials, the answer comes back as sent, and usage is recorded (sniffed, or unknown).

use bytes::Bytes;
use forge_testkit::{Fault, FaultMode};
use serde_json::json;

use crate::harness::{
    Backend, TestServer, client, create_forge_key, post_json, read, register_and_login, send_raw,
};
use crate::routing::common::{
    ANTHROPIC_KEY, KEY, OPENAI_KEY, anthropic, key_digest, openai, openai_provider,
};
use crate::usage::common::wait_for;

/// A user with an `openai` key at `openai_url`, an `anthropic` key at `anthropic_url`,
/// and a Forge key.
async fn user(s: &TestServer, openai_url: &str, anthropic_url: &str) -> String {
    let c = client();
    let jwt = register_and_login(&c, s, "passer").await;
    for (name, key, url) in [
        ("openai", OPENAI_KEY, openai_url),
        ("anthropic", ANTHROPIC_KEY, anthropic_url),
    ] {
        let added = post_json(
            &c,
            &s.url("/v1/provider-keys/"),
            Some(&jwt),
            &json!({ "provider_name": name, "api_key": key, "base_url": url }),
        )
        .await;
        assert_eq!(added.status, 200, "{}", added.text);
    }
    create_forge_key(&c, s, &jwt, None).await.1
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

async fn every_method_reaches_the_provider(backend: Backend) {
    let oa = openai();
    let an = anthropic();
    let s = TestServer::start(backend).await;
    let key = user(&s, &oa.base_url(), &an.base_url()).await;
    let c = client();

    // GET with a query; the Forge key may come as `?key=` and never reaches the provider.
    let listed = read(
        c.get(s.url(&format!("/passthrough/openai/models?limit=2&key={key}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.body["object"], "list");
    assert_eq!(listed.header("x-forge-provider"), Some("openai"));
    let seen = oa.requests().pop().unwrap();
    assert_eq!(
        (
            seen.method.as_str(),
            seen.path.as_str(),
            seen.query.as_str()
        ),
        ("GET", "/v1/models", "limit=2")
    );
    assert_eq!(
        header(&seen.headers, "authorization"),
        Some(format!("Bearer {OPENAI_KEY}").as_str())
    );
    assert!(
        seen.headers.iter().all(|(_, v)| !v.contains(&key)),
        "{:?}",
        seen.headers
    );

    // A streamed chat comes back event by event, its usage read from the stream.
    let streamed = send_raw(
        &c,
        "POST",
        &s.url("/passthrough/openai/chat/completions"),
        Some(&key),
        Some((
            "application/json",
            &json!({ "model": "gpt-4o-mini", "stream": true,
            "stream_options": { "include_usage": true },
            "messages": [{ "role": "user", "content": "hi" }] })
            .to_string(),
        )),
    )
    .await;
    assert_eq!(streamed.status, 200, "{}", streamed.text);
    assert_eq!(streamed.header("content-type"), Some("text/event-stream"));
    assert!(
        streamed.text.trim_end().ends_with("data: [DONE]"),
        "{}",
        streamed.text
    );
    let seen = oa.requests().pop().unwrap();
    assert!(header(&seen.headers, "x-api-key").is_none() && seen.body["stream"] == true);

    // An endpoint Forge does not model: the provider's status and body as sent.
    oa.set_fault(
        Fault::Status {
            status: 201,
            body: Some(
                json!({ "id": "ftjob-1", "object": "fine_tuning.job", "status": "queued" })
                    .to_string(),
            ),
            retry_after: None,
        },
        FaultMode::Once,
    );
    let job = post_json(
        &c,
        &s.url("/passthrough/openai/fine_tuning/jobs"),
        Some(&key),
        &json!({ "model": "gpt-4o-mini", "training_file": "file-1" }),
    )
    .await;
    assert_eq!(job.status, 201, "{}", job.text);
    assert_eq!(job.body["id"], "ftjob-1");
    assert_eq!(oa.requests().pop().unwrap().path, "/v1/fine_tuning/jobs");

    // Any method; the provider's error is relayed, not re-rendered.
    let deleted = send_raw(
        &c,
        "DELETE",
        &s.url("/passthrough/openai/files/file-abc"),
        Some(&key),
        None,
    )
    .await;
    assert_eq!(deleted.status, 404, "{}", deleted.text);
    assert_eq!(
        deleted.body["error"]["message"],
        "No such File object: file-abc"
    );

    // Anthropic's own credential header and version.
    let message = post_json(
        &c,
        &s.url("/passthrough/anthropic/messages"),
        Some(&key),
        &json!({ "model": "claude-sonnet-4-5", "max_tokens": 50,
                 "messages": [{ "role": "user", "content": "hi" }] }),
    )
    .await;
    assert_eq!(message.status, 200, "{}", message.text);
    assert_eq!(message.body["type"], "message");
    let seen = an.requests().pop().unwrap();
    assert_eq!(header(&seen.headers, "x-api-key"), Some(ANTHROPIC_KEY));
    assert_eq!(
        header(&seen.headers, "anthropic-version"),
        Some("2023-06-01")
    );
    assert!(header(&seen.headers, "authorization").is_none());

    // Refusals in Forge's own shape.
    let unknown = send_raw(
        &c,
        "GET",
        &s.url("/passthrough/groq/models"),
        Some(&key),
        None,
    )
    .await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    assert!(
        unknown.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("groq")
    );
    let anonymous = send_raw(&c, "GET", &s.url("/passthrough/openai/models"), None, None).await;
    assert_eq!(anonymous.status, 401);

    // One record per forwarded request: usage where the answer carried it, else unknown.
    let records = wait_for(&s, 5).await;
    let by_model = |m: &str| {
        records
            .iter()
            .find(|r| r.upstream_model == m)
            .unwrap_or_else(|| panic!("{m}: {records:?}"))
    };
    let chat = by_model("chat/completions");
    assert!(chat.input_tokens > 0 && chat.output_tokens > 0, "{chat:?}");
    assert_eq!(
        (chat.endpoint.as_str(), chat.requested_model.as_str()),
        ("passthrough", "openai/chat/completions")
    );
    let message = by_model("messages");
    assert!(
        message.output_tokens > 0 && message.provider == "anthropic",
        "{message:?}"
    );
    for unknown in ["models?limit=2", "fine_tuning/jobs", "files/file-abc"] {
        let r = records
            .iter()
            .find(|r| r.upstream_model == unknown.split('?').next().unwrap())
            .unwrap_or_else(|| panic!("{unknown}: {records:?}"));
        assert_eq!(r.price_source, "tokens_unknown", "{r:?}");
        assert_eq!(r.cost_nanos, None);
    }
    assert_eq!(by_model("files/file-abc").status, 404);
}

#[actix_rt::test]
async fn the_pass_through_forwards_any_method_on_sqlite() {
    every_method_reaches_the_provider(Backend::Sqlite).await;
}

#[actix_rt::test]
async fn the_pass_through_forwards_any_method_on_postgres() {
    every_method_reaches_the_provider(Backend::Postgres).await;
}

#[actix_rt::test]
async fn request_bodies_stream_up_within_the_body_limit() {
    let oa = openai();
    let s =
        TestServer::start_with(Backend::Sqlite, |settings| settings.max_body_bytes = 4096).await;
    let key = user(&s, &oa.base_url(), "https://api.anthropic.com/v1").await;
    let c = client();
    // Declared too long: refused before anything is sent.
    let declared = send_raw(
        &c,
        "POST",
        &s.url("/passthrough/openai/files"),
        Some(&key),
        Some(("application/octet-stream", &"x".repeat(5000))),
    )
    .await;
    assert_eq!(declared.status, 413, "{}", declared.text);
    // Streamed without a length: cut at the limit, still a 413.
    let chunks = futures_util::stream::iter(
        (0..8).map(|_| Ok::<_, actix_web::Error>(Bytes::from(vec![b'y'; 1024]))),
    );
    let streamed = read(
        c.post(s.url("/passthrough/openai/files"))
            .insert_header(("authorization", format!("Bearer {key}")))
            .send_stream(chunks)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(streamed.status, 413, "{}", streamed.text);
    // Within the limit, a chunked upload arrives whole.
    let chunks = futures_util::stream::iter(
        (0..3).map(|_| Ok::<_, actix_web::Error>(Bytes::from(vec![b'z'; 1000]))),
    );
    let fine = read(
        c.post(s.url("/passthrough/openai/uploads"))
            .insert_header(("authorization", format!("Bearer {key}")))
            .send_stream(chunks)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        fine.status, 404,
        "the fake has no such route: {}",
        fine.text
    );
    let seen = oa.requests().pop().unwrap();
    assert_eq!(seen.raw_body.len(), 3000);
}

#[actix_rt::test]
async fn a_forward_mount_serves_a_forge_toml_provider_under_its_prefix() {
    let oa = openai();
    let config = format!(
        "{}[[keys]]\nname = \"tests\"\nkey = \"sha256:{}\"\n\n[[forward]]\nprefix = \"/ollama\"\nprovider = \"oa\"\n",
        openai_provider("oa", &oa),
        key_digest()
    );
    let s = TestServer::start_with_config(&config).await;
    let c = client();
    let listed = send_raw(&c, "GET", &s.url("/ollama/models"), Some(KEY), None).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.body["object"], "list");
    let seen = oa.requests().pop().unwrap();
    assert_eq!(seen.path, "/v1/models");
    assert_eq!(
        header(&seen.headers, "authorization"),
        Some(format!("Bearer {OPENAI_KEY}").as_str())
    );
    let chat = post_json(
        &c,
        &s.url("/ollama/chat/completions"),
        Some(KEY),
        &json!({ "model": "gpt-4o-mini", "messages": [{ "role": "user", "content": "hi" }] }),
    )
    .await;
    assert_eq!(chat.status, 200, "{}", chat.text);
    assert_eq!(chat.header("x-forge-provider"), Some("oa"));
    // Outside the mount: a plain 404.
    let other = send_raw(&c, "GET", &s.url("/ollamax/models"), Some(KEY), None).await;
    assert_eq!(other.status, 404);
    assert_eq!(other.body, json!({ "detail": "Not Found" }));
    let records = wait_for(&s, 2).await;
    let r = records
        .iter()
        .find(|r| r.upstream_model == "chat/completions")
        .unwrap();
    assert!(
        r.gateway_key.as_deref() == Some("tests") && r.deployment.as_deref() == Some("oa/*#0"),
        "{r:?}"
    );
    assert!(r.input_tokens > 0, "{r:?}");
}

#[actix_rt::test]
async fn the_mock_provider_answers_through_the_pass_through() {
    let s = TestServer::start(Backend::Sqlite).await;
    let c = client();
    let jwt = register_and_login(&c, &s, "mockpass").await;
    let added = post_json(
        &c,
        &s.url("/v1/provider-keys/"),
        Some(&jwt),
        &json!({ "provider_name": "mock", "api_key": "x" }),
    )
    .await;
    assert_eq!(added.status, 200, "{}", added.text);
    let (_, key) = create_forge_key(&c, &s, &jwt, None).await;
    let chat = post_json(&c, &s.url("/passthrough/mock/chat/completions"), Some(&key),
        &json!({ "model": "mock-only-gpt-4o", "messages": [{ "role": "user", "content": "ping" }] })).await;
    assert_eq!(chat.status, 200, "{}", chat.text);
    assert_eq!(
        chat.body["choices"][0]["message"]["content"],
        "Mock reply from mock-only-gpt-4o: you said \"ping\"."
    );
    let unknown = send_raw(
        &c,
        "GET",
        &s.url("/passthrough/mock/vector_stores"),
        Some(&key),
        None,
    )
    .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body["error"]["code"], "unknown_url");
}

#[actix_rt::test]
async fn model_limited_keys_dot_segments_and_encoded_keys_are_refused() {
    let oa = openai();
    let limited = "gw-limited-key-0123456789";
    let limited_digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(limited.as_bytes()));
    let config = format!(
        "{}[models.m]\ndeployments = [{{ provider = \"oa\", model = \"gpt-4o-mini\" }}]\n\n[[keys]]\nname = \"tests\"\nkey = \"sha256:{}\"\n\n[[keys]]\nname = \"limited\"\nkey = \"sha256:{limited_digest}\"\nmodels = [\"m\"]\n",
        openai_provider("oa", &oa),
        key_digest()
    );
    let s = TestServer::start_with_config(&config).await;
    let c = client();
    // A key held to some models cannot use arbitrary paths on the operator's credential.
    let refused = send_raw(
        &c,
        "GET",
        &s.url("/passthrough/oa/models"),
        Some(limited),
        None,
    )
    .await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    // Paths may not climb out of the base URL's own path.
    for path in [
        "/passthrough/oa/%2e%2e/admin",
        "/passthrough/oa/a/%2E%2E/%2e%2e/x",
    ] {
        let climbing = send_raw(&c, "GET", &s.url(path), Some(KEY), None).await;
        assert_eq!(climbing.status, 400, "{path}: {}", climbing.text);
    }
    // The Forge key in any spelling of `?key=` stays here.
    let before = oa.request_count();
    let listed = send_raw(
        &c,
        "GET",
        &s.url(&format!("/passthrough/oa/models?%6Bey={KEY}&limit=1")),
        None,
        None,
    )
    .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(oa.request_count(), before + 1);
    let seen = oa.requests().pop().unwrap();
    assert_eq!(seen.query, "limit=1");
    assert!(seen.headers.iter().all(|(_, v)| !v.contains(KEY)));
}
