//! The fake upstream over real HTTP: auth, validation, response shapes, recording, faults.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{bearer, chat_body, client, eventually, post, post_text, sse_events, url};
use forge_testkit::{
    FakeOpenAi, FakeOpenAiConfig, Fault, FaultMode, chat_prompt_tokens, fake_embedding,
    split_reply, text_tokens,
};
use futures_util::StreamExt;
use serde_json::{Value, json};

fn fake() -> FakeOpenAi {
    FakeOpenAi::start(FakeOpenAiConfig::default())
}

const DEFAULT_REPLY: &str = "Hello from fake upstream (model gpt-4o-mini)";

// ---- auth -------------------------------------------------------------------------------

#[actix_rt::test]
async fn rejects_missing_and_wrong_keys_like_openai() {
    let fake = fake();
    let mut resp = client()
        .post(url(&fake, "/chat/completions"))
        .send_json(&chat_body(false))
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(body["error"]["code"], Value::Null);

    let mut resp = client()
        .post(url(&fake, "/chat/completions"))
        .insert_header(("authorization", "Bearer sk-wrong-secret-key-abcd"))
        .send_json(&chat_body(false))
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    let err = &body["error"];
    assert_eq!(err["code"], "invalid_api_key");
    assert_eq!(err["type"], "invalid_request_error");
    assert_eq!(err["param"], Value::Null);
    let message = err["message"].as_str().unwrap();
    assert!(
        message.starts_with("Incorrect API key provided: sk-"),
        "{message}"
    );
    assert!(message.contains("abcd"), "{message}");
    assert!(
        !message.contains("wrong-secret"),
        "key must be masked: {message}"
    );
    // Rejected requests are recorded too.
    assert_eq!(fake.request_count(), 2);
}

// ---- validation ---------------------------------------------------------------------------

#[actix_rt::test]
async fn validates_bodies_like_openai() {
    let fake = fake();
    let cases = [
        (
            json!({"messages": [{"role": "user", "content": "x"}]}),
            400,
            Value::Null,
            Value::Null,
        ),
        (
            json!({"model": "gpt-nope", "messages": [{"role": "user", "content": "x"}]}),
            404,
            Value::Null,
            json!("model_not_found"),
        ),
        (
            json!({"model": "gpt-4o-mini"}),
            400,
            json!("messages"),
            json!("missing_required_parameter"),
        ),
        (
            json!({"model": "gpt-4o-mini", "messages": []}),
            400,
            json!("messages"),
            json!("empty_array"),
        ),
        (
            json!({"model": "gpt-4o-mini", "messages": [{"role": "robot", "content": "x"}]}),
            400,
            json!("messages[0].role"),
            json!("invalid_value"),
        ),
        (
            json!({"model": "gpt-4o-mini", "messages": [
                {"role": "user", "content": "x"}, {"role": "tool", "content": "r"}]}),
            400,
            json!("messages[1].tool_call_id"),
            json!("missing_required_parameter"),
        ),
        (
            json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}),
            400,
            json!("stream"),
            json!("invalid_type"),
        ),
    ];
    for (body, status, param, code) in cases {
        let (got, err) = post(&fake, "/chat/completions", &body).await;
        assert_eq!(got.as_u16(), status, "{body}");
        assert_eq!(err["error"]["param"], param, "{body}");
        assert_eq!(err["error"]["code"], code, "{body}");
        assert_eq!(err["error"]["type"], "invalid_request_error");
        assert!(
            err["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
}

#[actix_rt::test]
async fn rejects_malformed_json_wrong_content_type_and_unknown_routes() {
    let fake = fake();
    let mut resp = client()
        .post(url(&fake, "/chat/completions"))
        .insert_header(bearer(&fake))
        .insert_header(("content-type", "application/json"))
        .send_body("{not json")
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("could not parse the JSON")
    );

    let resp = client()
        .post(url(&fake, "/chat/completions"))
        .insert_header(bearer(&fake))
        .insert_header(("content-type", "text/plain"))
        .send_body(chat_body(false).to_string())
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);

    let mut resp = client()
        .get(url(&fake, "/nope"))
        .insert_header(bearer(&fake))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["message"], "Invalid URL (GET /v1/nope)");
}

// ---- shapes -------------------------------------------------------------------------------

#[actix_rt::test]
async fn answers_chat_completion() {
    let fake = fake();
    let (status, body) = post(&fake, "/chat/completions", &chat_body(false)).await;
    assert_eq!(status, 200);
    assert!(body["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(body["object"], "chat.completion");
    assert!(body["created"].as_u64().unwrap() > 1_600_000_000);
    assert_eq!(body["model"], "gpt-4o-mini");
    let choice = &body["choices"][0];
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(choice["message"]["content"], DEFAULT_REPLY);
    assert_eq!(choice["finish_reason"], "stop");
    let prompt = chat_prompt_tokens(&chat_body(false)["messages"]);
    assert_eq!(prompt, "Say hello".len() as u64 / 4 + 1);
    let completion = text_tokens(DEFAULT_REPLY);
    assert_eq!(body["usage"]["prompt_tokens"], prompt);
    assert_eq!(body["usage"]["completion_tokens"], completion);
    assert_eq!(body["usage"]["total_tokens"], prompt + completion);
}

#[actix_rt::test]
async fn reply_is_configurable() {
    let fake = FakeOpenAi::start(FakeOpenAiConfig {
        reply: Some("Reply from {model}".to_owned()),
        ..FakeOpenAiConfig::default()
    });
    let (_, body) = post(&fake, "/chat/completions", &chat_body(false)).await;
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Reply from gpt-4o-mini"
    );
    fake.set_reply(Some("fixed".to_owned()));
    let (_, body) = post(&fake, "/chat/completions", &chat_body(false)).await;
    assert_eq!(body["choices"][0]["message"]["content"], "fixed");
}

#[actix_rt::test]
async fn streams_chat_completion_chunks() {
    let fake = fake();
    let mut resp = client()
        .post(url(&fake, "/chat/completions"))
        .insert_header(bearer(&fake))
        .send_json(&chat_body(true))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let ct = resp
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(ct.starts_with("text/event-stream"), "{ct}");
    let text = String::from_utf8(resp.body().await.unwrap().to_vec()).unwrap();
    let events = sse_events(&text);
    // role chunk + 4 content chunks + finish chunk + [DONE]
    assert_eq!(events.len(), 1 + 4 + 1 + 1);
    let id = events[0]["id"].as_str().unwrap();
    assert!(id.starts_with("chatcmpl-"));
    for e in &events[..events.len() - 1] {
        assert_eq!(e["object"], "chat.completion.chunk");
        assert_eq!(e["id"], id);
        assert_eq!(e["model"], "gpt-4o-mini");
        assert!(e.get("usage").is_none(), "no usage without include_usage");
    }
    assert_eq!(events[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(events[0]["choices"][0]["delta"]["content"], "");
    let pieces: Vec<&str> = events[1..5]
        .iter()
        .map(|e| e["choices"][0]["delta"]["content"].as_str().unwrap())
        .collect();
    assert_eq!(pieces, split_reply(DEFAULT_REPLY, 4));
    assert_eq!(pieces.concat(), DEFAULT_REPLY);
    for e in &events[..5] {
        assert_eq!(e["choices"][0]["finish_reason"], Value::Null);
    }
    assert_eq!(events[5]["choices"][0]["finish_reason"], "stop");
    assert_eq!(events[5]["choices"][0]["delta"], json!({}));
    assert_eq!(events[6], Value::Null);
    assert!(text.ends_with("data: [DONE]\n\n"));
}

#[actix_rt::test]
async fn include_usage_adds_a_usage_chunk() {
    let fake = FakeOpenAi::start(FakeOpenAiConfig {
        stream_chunks: 2,
        ..FakeOpenAiConfig::default()
    });
    let mut body = chat_body(true);
    body["stream_options"] = json!({"include_usage": true});
    let (status, text) = post_text(&fake, "/chat/completions", &body).await;
    assert_eq!(status, 200);
    let events = sse_events(&text);
    assert_eq!(events.len(), 1 + 2 + 1 + 1 + 1);
    for e in &events[..4] {
        assert_eq!(e["usage"], Value::Null);
        assert_eq!(e["choices"].as_array().unwrap().len(), 1);
    }
    let usage_chunk = &events[4];
    assert_eq!(usage_chunk["choices"], json!([]));
    let prompt = chat_prompt_tokens(&body["messages"]);
    let completion = text_tokens(DEFAULT_REPLY);
    assert_eq!(usage_chunk["usage"]["prompt_tokens"], prompt);
    assert_eq!(usage_chunk["usage"]["completion_tokens"], completion);
    assert_eq!(usage_chunk["usage"]["total_tokens"], prompt + completion);
    assert_eq!(events[5], Value::Null);
}

#[actix_rt::test]
async fn answers_legacy_completions() {
    let fake = fake();
    let body = json!({"model": "gpt-4o-mini", "prompt": "Once upon"});
    let (status, resp) = post(&fake, "/completions", &body).await;
    assert_eq!(status, 200);
    assert!(resp["id"].as_str().unwrap().starts_with("cmpl-"));
    assert_eq!(resp["object"], "text_completion");
    assert_eq!(resp["choices"][0]["text"], DEFAULT_REPLY);
    assert_eq!(resp["choices"][0]["finish_reason"], "stop");
    assert_eq!(resp["usage"]["prompt_tokens"], text_tokens("Once upon"));

    let body = json!({"model": "gpt-4o-mini", "prompt": "Once upon", "stream": true,
        "stream_options": {"include_usage": true}});
    let (status, text) = post_text(&fake, "/completions", &body).await;
    assert_eq!(status, 200);
    let events = sse_events(&text);
    // 4 text chunks + finish chunk + usage chunk + [DONE]
    assert_eq!(events.len(), 7);
    let joined: String = events[..4]
        .iter()
        .map(|e| e["choices"][0]["text"].as_str().unwrap())
        .collect();
    assert_eq!(joined, DEFAULT_REPLY);
    assert!(events[..5].iter().all(|e| e["object"] == "text_completion"));
    assert_eq!(events[4]["choices"][0]["finish_reason"], "stop");
    assert_eq!(events[5]["choices"], json!([]));
    assert_eq!(
        events[5]["usage"]["completion_tokens"],
        text_tokens(DEFAULT_REPLY)
    );
    assert_eq!(events[6], Value::Null);
}

#[actix_rt::test]
async fn answers_embeddings() {
    let fake = fake();
    let body = json!({"model": "text-embedding-3-small", "input": ["alpha", "beta"]});
    let (status, resp) = post(&fake, "/embeddings", &body).await;
    assert_eq!(status, 200);
    assert_eq!(resp["object"], "list");
    assert_eq!(resp["model"], "text-embedding-3-small");
    let data = resp["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    for (i, (item, text)) in data.iter().zip(["alpha", "beta"]).enumerate() {
        assert_eq!(item["object"], "embedding");
        assert_eq!(item["index"], i);
        let got: Vec<f32> = serde_json::from_value(item["embedding"].clone()).unwrap();
        assert_eq!(got, fake_embedding(text, 8));
    }
    let tokens = text_tokens("alpha") + text_tokens("beta");
    assert_eq!(
        resp["usage"],
        json!({"prompt_tokens": tokens, "total_tokens": tokens})
    );

    let body = json!({"model": "text-embedding-3-small", "input": "one", "dimensions": 3,
        "encoding_format": "base64"});
    let (status, resp) = post(&fake, "/embeddings", &body).await;
    assert_eq!(status, 200);
    // 3 floats = 12 bytes = 16 base64 characters.
    assert_eq!(resp["data"][0]["embedding"].as_str().unwrap().len(), 16);

    let (status, resp) = post(
        &fake,
        "/embeddings",
        &json!({"model": "text-embedding-3-small"}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(resp["error"]["param"], "input");
}

#[actix_rt::test]
async fn lists_models() {
    let fake = fake();
    let mut resp = client()
        .get(url(&fake, "/models"))
        .insert_header(bearer(&fake))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["object"], "list");
    let ids: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert_eq!(m["object"], "model");
            assert!(m["created"].is_u64());
            assert!(m["owned_by"].is_string());
            m["id"].as_str().unwrap()
        })
        .collect();
    assert_eq!(ids, ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small"]);
}

// ---- recording ----------------------------------------------------------------------------

#[actix_rt::test]
async fn records_what_it_received() {
    let fake = fake();
    let mut body = chat_body(false);
    body["x_unknown_field"] = json!({"kept": true});
    let resp = client()
        .post(format!("{}?trace=1", url(&fake, "/chat/completions")))
        .insert_header(bearer(&fake))
        .insert_header(("X-Custom-Header", "Value"))
        .send_json(&body)
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/v1/chat/completions");
    assert_eq!(r.query, "trace=1");
    assert_eq!(r.body, body);
    assert_eq!(serde_json::from_str::<Value>(&r.raw_body).unwrap(), body);
    assert!(
        r.headers
            .contains(&("x-custom-header".to_owned(), "Value".to_owned()))
    );
    assert_eq!(
        r.header("Authorization"),
        Some(format!("Bearer {}", fake.api_key()).as_str())
    );
    fake.clear_requests();
    assert_eq!(fake.request_count(), 0);
}

// ---- faults -------------------------------------------------------------------------------

#[actix_rt::test]
async fn status_fault_with_retry_after_then_recovers() {
    let fake = fake();
    fake.set_fault(
        Fault::Status {
            status: 429,
            body: None,
            retry_after: Some(2),
        },
        FaultMode::Once,
    );
    let mut resp = client()
        .post(url(&fake, "/chat/completions"))
        .insert_header(bearer(&fake))
        .send_json(&chat_body(false))
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers().get("retry-after").unwrap(), "2");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
    let (status, _) = post(&fake, "/chat/completions", &chat_body(false)).await;
    assert_eq!(status, 200, "Once applies to one request");
}

/// A route the fake does not model takes an armed fault like any other: that is how a test
/// serves a canned answer for it (the Responses API, say).
#[actix_rt::test]
async fn unknown_routes_take_an_armed_status_fault() {
    let fake = fake();
    fake.set_fault(
        Fault::Status {
            status: 200,
            body: Some(r#"{"id":"resp_canned","object":"response"}"#.to_owned()),
            retry_after: None,
        },
        FaultMode::Once,
    );
    let body = json!({"model": "gpt-4o-mini", "input": "hi"});
    let (status, answer) = post(&fake, "/responses", &body).await;
    assert_eq!(status, 200);
    assert_eq!(answer, json!({"id": "resp_canned", "object": "response"}));
    let (status, answer) = post(&fake, "/responses", &body).await;
    assert_eq!(status, 404, "Once applies to one request");
    assert_eq!(
        answer["error"]["message"],
        "Invalid URL (POST /v1/responses)"
    );
    assert_eq!(fake.requests().len(), 2, "both recorded");
}

#[actix_rt::test]
async fn fault_modes_count_requests() {
    let fake = fake();
    fake.set_fault(Fault::status(500), FaultMode::Times(2));
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(
            post(&fake, "/chat/completions", &chat_body(false))
                .await
                .0
                .as_u16(),
        );
    }
    assert_eq!(seen, [500, 500, 200]);

    fake.set_fault(
        Fault::Status {
            status: 503,
            body: Some(r#"{"custom":true}"#.to_owned()),
            retry_after: None,
        },
        FaultMode::Always,
    );
    for _ in 0..3 {
        let (status, body) = post(&fake, "/chat/completions", &chat_body(false)).await;
        assert_eq!((status.as_u16(), body), (503, json!({"custom": true})));
    }
    fake.clear_fault();
    assert_eq!(
        post(&fake, "/chat/completions", &chat_body(false)).await.0,
        200
    );
}

#[actix_rt::test]
async fn hang_before_headers_holds_until_the_client_gives_up() {
    let fake = fake();
    fake.set_fault(Fault::HangBeforeHeaders, FaultMode::Once);
    let result = client()
        .post(url(&fake, "/chat/completions"))
        .insert_header(bearer(&fake))
        .timeout(Duration::from_millis(300))
        .send_json(&chat_body(false))
        .await;
    assert!(
        matches!(result, Err(awc::error::SendRequestError::Timeout)),
        "{result:?}"
    );
    eventually("server notices the client left", || fake.in_flight() == 0).await;
    assert_eq!(
        post(&fake, "/chat/completions", &chat_body(false)).await.0,
        200
    );
}

#[actix_rt::test]
async fn delay_headers_waits_then_answers() {
    let fake = fake();
    fake.set_fault(Fault::DelayHeaders(200), FaultMode::Once);
    let started = Instant::now();
    let (status, _) = post(&fake, "/chat/completions", &chat_body(false)).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[actix_rt::test]
async fn drop_mid_stream_cuts_the_connection() {
    let fake = fake();
    fake.set_fault(Fault::DropMidStream { after_chunks: 2 }, FaultMode::Once);
    let mut resp = client()
        .post(url(&fake, "/chat/completions"))
        .insert_header(bearer(&fake))
        .send_json(&chat_body(true))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // awc reports a connection cut inside a chunked body as a clean end of stream, so what a
    // gateway can see is the missing `[DONE]` (and finish chunk), checked here.
    let mut received = Vec::new();
    while let Some(Ok(bytes)) = resp.next().await {
        received.extend_from_slice(&bytes);
    }
    let events = sse_events(&String::from_utf8(received).unwrap());
    assert_eq!(events.len(), 2);
    assert!(!events.contains(&Value::Null), "no [DONE] after a drop");

    // On the wire: the chunked body never gets its terminating chunk.
    let normal = raw_stream(&fake, None).await;
    assert!(
        normal.ends_with("data: [DONE]\n\n\r\n0\r\n\r\n"),
        "{normal}"
    );
    let cut = raw_stream(&fake, Some("drop_after=3")).await;
    assert!(cut.starts_with("HTTP/1.1 200"), "{cut}");
    assert_eq!(cut.matches("data: ").count(), 3, "{cut}");
    assert!(
        !cut.contains("[DONE]") && !cut.ends_with("0\r\n\r\n"),
        "{cut}"
    );
}

/// A streamed chat request over a plain socket, read until the server closes it.
async fn raw_stream(fake: &FakeOpenAi, fault: Option<&str>) -> String {
    let body = chat_body(true).to_string();
    let fault = fault
        .map(|f| format!("x-fake-fault: {f}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n{fault}connection: close\r\n\r\n{body}",
        fake.api_key(),
        body.len()
    );
    let addr = fake.addr();
    actix_rt::task::spawn_blocking(move || raw_exchange(addr, &request))
        .await
        .unwrap()
}

fn raw_exchange(addr: std::net::SocketAddr, request: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    String::from_utf8(response).unwrap()
}

#[actix_rt::test]
async fn hang_mid_stream_stalls_after_some_chunks() {
    let fake = fake();
    fake.set_fault(Fault::HangMidStream { after_chunks: 1 }, FaultMode::Once);
    let mut resp = client()
        .post(url(&fake, "/chat/completions"))
        .insert_header(bearer(&fake))
        .send_json(&chat_body(true))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // Read until the first whole event is in, then expect silence (not an end).
    let mut received = Vec::new();
    while !received.ends_with(b"\n\n") {
        match resp.next().await {
            Some(Ok(bytes)) => received.extend_from_slice(&bytes),
            other => panic!("stream ended before its first event: {other:?}"),
        }
    }
    let next = actix_rt::time::timeout(Duration::from_millis(300), resp.next()).await;
    assert!(next.is_err(), "expected a stall, got {next:?}");
    let events = sse_events(&String::from_utf8(received).unwrap());
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(fake.in_flight(), 1);
    drop(resp);
    eventually(
        "server drops the hung stream once the client leaves",
        || fake.in_flight() == 0,
    )
    .await;
}

#[actix_rt::test]
async fn chunk_delay_spaces_out_events() {
    let fake = fake();
    fake.set_fault(Fault::ChunkDelay(40), FaultMode::Once);
    let started = Instant::now();
    let (status, text) = post_text(&fake, "/chat/completions", &chat_body(true)).await;
    assert_eq!(status, 200);
    let events = sse_events(&text);
    assert_eq!(events.len(), 7);
    assert!(started.elapsed() >= Duration::from_millis(40 * 6));
}

#[actix_rt::test]
async fn fault_header_applies_to_one_request() {
    let fake = fake();
    fake.set_fault(Fault::status(500), FaultMode::Once);
    let mut resp = client()
        .post(url(&fake, "/chat/completions"))
        .insert_header(bearer(&fake))
        .insert_header(("x-fake-fault", "status=429;retry_after=7"))
        .send_json(&chat_body(false))
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers().get("retry-after").unwrap(), "7");
    let _ = resp.body().await;
    // The header did not consume the armed fault.
    assert_eq!(
        post(&fake, "/chat/completions", &chat_body(false)).await.0,
        500
    );

    let mut resp = client()
        .post(url(&fake, "/chat/completions"))
        .insert_header(bearer(&fake))
        .insert_header(("x-fake-fault", "drop_after=3"))
        .send_json(&chat_body(true))
        .await
        .unwrap();
    let body = resp.body().await.unwrap();
    let events = sse_events(std::str::from_utf8(&body).unwrap());
    assert_eq!(events.len(), 3, "stream cut after three events");

    let resp = client()
        .post(url(&fake, "/chat/completions"))
        .insert_header(bearer(&fake))
        .insert_header(("x-fake-fault", "explode"))
        .send_json(&chat_body(false))
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}

// ---- lifecycle ----------------------------------------------------------------------------

#[test]
fn starts_and_stops_without_an_outer_runtime() {
    let fake = fake();
    let addr = fake.addr();
    assert_eq!(
        fake.base_url(),
        format!("http://127.0.0.1:{}/v1", addr.port())
    );
    let request = format!(
        "GET /v1/models HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\nconnection: close\r\n\r\n",
        fake.api_key()
    );
    let response = raw_exchange(addr, &request);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"object\":\"list\""));
    drop(fake);
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "dropped server must stop listening"
    );
}

#[tokio::test]
async fn starts_inside_a_tokio_runtime() {
    let fake = fake();
    let conn = std::net::TcpStream::connect(fake.addr()).unwrap();
    drop(conn);
    drop(fake);
}

#[test]
fn binary_prints_its_url_and_serves() {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_forge-fake-upstream"))
        .args([
            "--api-key",
            "sk-bin-key-000000000",
            "--models",
            "m1,m2",
            "--reply",
            "bin says hi",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap()
        .to_owned();
    let (host, _) = base.split_once("/v1").unwrap();
    let body = r#"{"model":"m2","messages":[{"role":"user","content":"hi"}]}"#;
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sk-bin-key-000000000\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let response = raw_exchange(host.parse().unwrap(), &request);
    child.kill().unwrap();
    let _ = child.wait();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("bin says hi"), "{response}");
}

#[actix_rt::test]
async fn dropping_the_server_cuts_hung_requests() {
    let fake = fake();
    fake.set_fault(Fault::HangBeforeHeaders, FaultMode::Always);
    let addr = fake.addr();
    let request = format!(
        "GET /v1/models HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\n\r\n",
        fake.api_key()
    );
    let client = actix_rt::task::spawn_blocking(move || raw_exchange(addr, &request));
    eventually("the request is hanging", || fake.in_flight() == 1).await;
    let started = Instant::now();
    drop(fake);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "drop must not wait for hung requests"
    );
    let response = client.await.unwrap();
    assert!(
        response.is_empty(),
        "no response for a hung request: {response}"
    );
}
