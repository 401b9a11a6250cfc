//! Streaming failover: invisible before the first content, never spliced after it.

use forge_core::sse::{SseEvent, SseParser};
use forge_testkit::{Fault, FaultMode};
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::common::*;
use crate::harness::{TestServer, client};

async fn stream(
    c: &awc::Client,
    s: &TestServer,
    path: &str,
    body: &Value,
) -> (u16, Option<String>, Vec<SseEvent>) {
    let mut resp = c
        .post(s.url(path))
        .insert_header(("authorization", format!("Bearer {KEY}")))
        .insert_header(("anthropic-version", "2023-06-01"))
        .send_json(body)
        .await
        .unwrap();
    let attempts = resp
        .headers()
        .get("x-forge-attempts")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut parser = SseParser::new();
    let mut events = Vec::new();
    while let Some(chunk) = resp.next().await {
        match chunk {
            Ok(bytes) => parser.push(&bytes, &mut events),
            Err(_) => break,
        }
    }
    parser.finish(&mut events);
    (resp.status().as_u16(), attempts, events)
}

fn openai_text(events: &[SseEvent]) -> String {
    events
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(&e.data).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

fn has_error_event(events: &[SseEvent]) -> bool {
    events.iter().any(|e| {
        e.event.as_deref() == Some("error")
            || serde_json::from_str::<Value>(&e.data).is_ok_and(|v| v.get("error").is_some())
    })
}

#[actix_rt::test]
async fn a_failure_before_content_fails_over_invisibly() {
    let a = openai();
    let b = openai();
    let config = two_deployments(
        &a,
        &b,
        "strategy = \"priority\"\ntimeouts = { first_token_ms = 400 }",
    );
    let server = TestServer::start_with_config(&config).await;
    let c = client();
    for fault in [
        Fault::status(503),
        Fault::DropMidStream { after_chunks: 0 },
        Fault::HangBeforeHeaders,
    ] {
        a.clear_requests();
        b.clear_requests();
        a.set_fault(fault.clone(), FaultMode::Once);
        let (status, attempts, events) =
            stream(&c, &server, "/v1/chat/completions", &chat_body("m", true)).await;
        assert_eq!(status, 200, "{fault:?}");
        assert_eq!(attempts.as_deref(), Some("2"), "{fault:?}");
        assert!(!has_error_event(&events), "{fault:?}: {events:?}");
        assert!(events.last().unwrap().is_done(), "{fault:?}");
        assert!(openai_text(&events).contains("Hello from fake upstream"));
        assert_eq!((a.request_count(), b.request_count()), (1, 1), "{fault:?}");
    }
}

#[actix_rt::test]
async fn a_failure_after_content_ends_with_an_error_and_is_never_spliced() {
    let a = openai();
    let b = openai();
    let config = two_deployments(
        &a,
        &b,
        "strategy = \"priority\"\ntimeouts = { idle_ms = 300 }",
    );
    let server = TestServer::start_with_config(&config).await;
    let c = client();
    for fault in [
        Fault::DropMidStream { after_chunks: 3 },
        Fault::HangMidStream { after_chunks: 3 },
    ] {
        a.clear_requests();
        a.set_fault(fault.clone(), FaultMode::Once);
        let (status, _, events) =
            stream(&c, &server, "/v1/chat/completions", &chat_body("m", true)).await;
        assert_eq!(status, 200);
        let text = openai_text(&events);
        assert!(!text.is_empty(), "{fault:?}: no partial content");
        assert!(has_error_event(&events), "{fault:?}: {events:?}");
        assert!(
            !events.iter().any(|e| e.is_done()),
            "{fault:?}: a clean finish"
        );
        // Exactly one upstream attempt: the one whose content the client got.
        assert_eq!(a.request_count(), 1);
        assert_eq!(
            b.request_count(),
            0,
            "{fault:?}: spliced from another deployment"
        );
    }

    // The same in another dialect: Anthropic's client gets Anthropic's error event.
    a.set_fault(Fault::DropMidStream { after_chunks: 3 }, FaultMode::Once);
    let body = json!({
        "model": "m",
        "max_tokens": 64,
        "stream": true,
        "messages": [{"role": "user", "content": "hello"}],
    });
    let (status, _, events) = stream(&c, &server, "/v1/messages", &body).await;
    assert_eq!(status, 200);
    assert!(
        events
            .iter()
            .any(|e| e.event.as_deref() == Some("content_block_delta"))
    );
    assert_eq!(events.last().unwrap().event.as_deref(), Some("error"));
    assert_eq!(b.request_count(), 0);

    // The deployment that broke mid-stream was charged with the failures.
    let health = crate::routing::admin::deployment_failures(&server, "a/gpt-4o-mini#0").await;
    assert_eq!(health, 3);
}

#[actix_rt::test]
async fn a_total_timeout_bounds_answers_and_streams() {
    let a = openai();
    let b = openai();
    let config = two_deployments(
        &a,
        &b,
        "strategy = \"priority\"\ntimeouts = { total_ms = 400 }",
    );
    let server = TestServer::start_with_config(&config).await;
    let c = client();
    // An answer that takes longer than the total is cut at the total, not retried elsewhere
    // (the upstream had the request the whole time).
    a.set_fault(Fault::DelayHeaders(2_000), FaultMode::Once);
    let started = std::time::Instant::now();
    let reply = chat(&c, &server, &chat_body("m", false), &[]).await;
    assert_eq!(reply.status, 504, "{}", reply.text);
    assert!(started.elapsed() < std::time::Duration::from_millis(1_500));
    assert_eq!(b.request_count(), 0);
    // A stream that outlives the total ends with an error event after its partial content.
    a.set_fault(Fault::ChunkDelay(150), FaultMode::Once);
    let (status, _, events) =
        stream(&c, &server, "/v1/chat/completions", &chat_body("m", true)).await;
    assert_eq!(status, 200);
    assert!(has_error_event(&events), "{events:?}");
    assert!(!events.iter().any(|e| e.is_done()));
}
