//! Multipart uploads: the form's `model` routes the request and is the only byte the upstream
//! sees changed; a malformed form or a form without its file is the client's 400.

use forge_testkit::{FakeOpenAi, FakeOpenAiConfig};
use serde_json::json;

use crate::harness::{
    Backend, TestServer, client, create_forge_key, post_json, read, register_and_login, send_raw,
};
use crate::routing::common::OPENAI_KEY;
use crate::usage::common::wait_for;

const CT: &str = "multipart/form-data; boundary=XyZ";

fn form(model: &str, file: Option<(&str, &[u8])>) -> Vec<u8> {
    let mut body =
        format!("--XyZ\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\n{model}\r\n")
            .into_bytes();
    if let Some((filename, bytes)) = file {
        body.extend_from_slice(format!("--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: audio/wav\r\n\r\n").as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--XyZ--\r\n");
    body
}

#[actix_rt::test]
async fn a_transcription_reaches_the_provider_with_only_the_model_rewritten() {
    let fake = FakeOpenAi::start(FakeOpenAiConfig {
        models: vec!["whisper-1".to_owned()],
        ..FakeOpenAiConfig::default()
    });
    let s = TestServer::start(Backend::Sqlite).await;
    let c = client();
    let jwt = register_and_login(&c, &s, "uploader").await;
    let added = post_json(
        &c,
        &s.url("/v1/provider-keys/"),
        Some(&jwt),
        &json!({ "provider_name": "openai", "api_key": OPENAI_KEY, "base_url": fake.base_url(),
                 "model_mapping": { "stt": "whisper-1" } }),
    )
    .await;
    assert_eq!(added.status, 200, "{}", added.text);
    let (_, key) = create_forge_key(&c, &s, &jwt, None).await;
    // ASCII content, so the fake's recorded (lossy UTF-8) body compares byte for byte; the
    // fake parses the form itself and reports the file's size.
    let audio: Vec<u8> = (b'a'..=b'z').cycle().take(5000).collect();

    let sent = form("openai/stt", Some(("a.wav", &audio)));
    let resp = c
        .post(s.url("/v1/audio/transcriptions"))
        .insert_header(("authorization", format!("Bearer {key}")))
        .insert_header(("content-type", CT))
        .send_body(sent.clone())
        .await
        .unwrap();
    let reply = read(resp).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["text"], "Transcribed 5000 bytes of a.wav.");
    assert_eq!(reply.header("x-forge-provider"), Some("openai"));
    let seen = fake.requests().pop().unwrap();
    let expected = form("whisper-1", Some(("a.wav", &audio)));
    assert_eq!(seen.raw_body.as_bytes(), &expected[..]);
    assert_eq!(
        seen.headers
            .iter()
            .find(|(n, _)| n == "content-type")
            .map(|(_, v)| v.as_str()),
        Some(CT)
    );

    // The client's mistakes, in OpenAI's shape, before any upstream is tried.
    let before = fake.request_count();
    let no_file = send_raw(
        &c,
        "POST",
        &s.url("/v1/audio/transcriptions"),
        Some(&key),
        Some((CT, std::str::from_utf8(&form("openai/stt", None)).unwrap())),
    )
    .await;
    assert_eq!(no_file.status, 400, "{}", no_file.text);
    assert_eq!(no_file.body["error"]["param"], "file");
    let not_a_form = send_raw(
        &c,
        "POST",
        &s.url("/v1/audio/transcriptions"),
        Some(&key),
        Some(("application/json", "{}")),
    )
    .await;
    assert_eq!(not_a_form.status, 400, "{}", not_a_form.text);
    assert!(
        not_a_form.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("multipart")
    );
    assert_eq!(fake.request_count(), before);

    // Whisper reports a duration, not tokens: no token counts, the cost by the minute
    // (1 s at $0.006 per minute).
    let records = wait_for(&s, 1).await;
    let r = &records[0];
    assert_eq!(
        (r.endpoint.as_str(), r.upstream_model.as_str()),
        ("audio/transcriptions", "whisper-1")
    );
    assert_eq!((r.cost_nanos, r.input_tokens), (Some(100_000), 0));
    assert!(r.price_source.starts_with("table:"), "{r:?}");
}
