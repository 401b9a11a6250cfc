//! Retries, failover and cooldown over HTTP, with faults injected in the fake upstreams.

use std::time::{Duration, Instant};

use forge_testkit::{Fault, FaultMode};

use super::common::*;
use crate::harness::{TestServer, client};

#[actix_rt::test]
async fn a_deployment_failing_30_percent_never_reaches_the_client() {
    let a = openai();
    let b = openai();
    a.set_fault(Fault::status(500), FaultMode::Share { fail: 3, of: 10 });
    let config = two_deployments(&a, &b, "strategy = \"round-robin\"");
    let server = TestServer::start_with_config(&config).await;
    let c = client();
    let replies = chats(&c, &server, "m", 2000, 16).await;
    let failed: Vec<_> = replies.iter().filter(|r| r.status != 200).collect();
    assert!(
        failed.is_empty(),
        "{} failed, e.g. {}",
        failed.len(),
        failed[0].text
    );
    let total: u32 = replies.iter().map(attempts).sum();
    let average = f64::from(total) / replies.len() as f64;
    assert!(average <= 1.35, "average attempts {average}");
    // Every attempt reached an upstream, and A did fail some of them.
    assert_eq!(a.request_count() + b.request_count(), total as usize);
    assert!(a.request_count() > 0 && total > 2000);
}

#[actix_rt::test]
async fn client_errors_are_never_retried() {
    let a = openai();
    let b = openai();
    let config = two_deployments(&a, &b, "strategy = \"priority\"\nretries = 2");
    let server = TestServer::start_with_config(&config).await;
    let c = client();
    for status in [400, 401, 403, 404, 413, 422] {
        a.clear_requests();
        a.set_fault(Fault::status(status), FaultMode::Always);
        let reply = chat(&c, &server, &chat_body("m", false), &[]).await;
        assert_eq!(reply.status, status, "{}", reply.text);
        assert!(reply.body["error"]["message"].is_string(), "{}", reply.text);
        assert_eq!(a.request_count(), 1, "status {status} was retried");
        assert_eq!(attempts(&reply), 1);
    }
    assert_eq!(
        b.request_count(),
        0,
        "a client error moved to another deployment"
    );
}

#[actix_rt::test]
async fn a_cooled_deployment_gets_no_traffic_until_the_cooldown_ends() {
    let a = openai();
    let b = openai();
    let config = format!(
        "[routing.cooldown]\nfailures = 2\nwindow_ms = 60000\nbase_ms = 600\nmax_ms = 600\n\n{}",
        two_deployments(&a, &b, "strategy = \"priority\"")
    );
    let server = TestServer::start_with_config(&config).await;
    let c = client();
    a.set_fault(Fault::status(503), FaultMode::Always);
    // Two failures on A (each request then served by B) open A's breaker.
    for _ in 0..2 {
        let reply = chat(&c, &server, &chat_body("m", false), &[]).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(attempts(&reply), 2);
    }
    assert_eq!(a.request_count(), 2);
    let cooled_at = Instant::now();
    let replies = chats(&c, &server, "m", 20, 4).await;
    assert!(replies.iter().all(|r| r.status == 200 && attempts(r) == 1));
    assert_eq!(a.request_count(), 2, "A got traffic while cooling");
    // After the cooldown one probe goes to A; it recovered, so A serves again.
    a.clear_fault();
    let wait = Duration::from_millis(650).saturating_sub(cooled_at.elapsed());
    actix_rt::time::sleep(wait).await;
    let reply = chat(&c, &server, &chat_body("m", false), &[]).await;
    assert_eq!(reply.header("x-forge-provider"), Some("a"));
    assert_eq!(a.request_count(), 3);
}

#[actix_rt::test]
async fn at_most_the_configured_share_is_ejected() {
    let a = openai();
    let b = openai();
    let config = format!(
        "[routing.cooldown]\nfailures = 1\nbase_ms = 60000\nmax_ms = 60000\n\n{}",
        two_deployments(&a, &b, "strategy = \"priority\"\nmax_ejected_share = 0.5")
    );
    let server = TestServer::start_with_config(&config).await;
    let c = client();
    a.set_fault(Fault::status(503), FaultMode::Always);
    b.set_fault(Fault::status(503), FaultMode::Always);
    let reply = chat(&c, &server, &chat_body("m", false), &[]).await;
    assert_eq!(reply.status, 503);
    assert_eq!(attempts(&reply), 2, "the error says how often it was tried");
    // Both failed once and both would be cooling, but only half may be ejected: one of them
    // still takes the next request.
    let before = a.request_count() + b.request_count();
    let reply = chat(&c, &server, &chat_body("m", false), &[]).await;
    assert_eq!(reply.status, 503);
    assert_eq!(a.request_count() + b.request_count(), before + 1);
}

#[actix_rt::test]
async fn retry_after_and_the_deadline_are_respected() {
    let a = openai();
    let b = openai();
    // A 429 asking for 5 s is longer than the backoff cap: move to B at once, never sleep.
    let config = two_deployments(
        &a,
        &b,
        "strategy = \"priority\"\nretries = 3\nbackoff = { base_ms = 50, max_ms = 1000 }",
    );
    let server = TestServer::start_with_config(&config).await;
    let c = client();
    a.set_fault(
        Fault::Status {
            status: 429,
            body: None,
            retry_after: Some(5),
        },
        FaultMode::Always,
    );
    let started = Instant::now();
    let reply = chat(&c, &server, &chat_body("m", false), &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("x-forge-provider"), Some("b"));
    assert_eq!(a.request_count(), 1);
    assert!(started.elapsed() < Duration::from_secs(2));
    // The 429 cooled A for its retry-after: the next request goes straight to B.
    let reply = chat(&c, &server, &chat_body("m", false), &[]).await;
    assert_eq!((attempts(&reply), a.request_count()), (1, 1));
    drop(server);

    // Both hang: the deadline stops new attempts; the client gets a timeout well before
    // the retries could have run.
    let a = openai();
    let b = openai();
    let config = two_deployments(
        &a,
        &b,
        "strategy = \"priority\"\nretries = 5\nmax_attempts = 10\ndeadline_ms = 500\ntimeouts = { first_token_ms = 300 }",
    );
    let server = TestServer::start_with_config(&config).await;
    a.set_fault(Fault::HangBeforeHeaders, FaultMode::Always);
    b.set_fault(Fault::HangBeforeHeaders, FaultMode::Always);
    let started = Instant::now();
    let reply = chat(&c, &server, &chat_body("m", false), &[]).await;
    let took = started.elapsed();
    assert_eq!(reply.status, 504, "{}", reply.text);
    assert!(took < Duration::from_millis(1500), "{took:?}");
    assert!(a.request_count() + b.request_count() <= 2);
}

#[actix_rt::test]
async fn stickiness_holds_and_falls_over_when_cooled() {
    let a = openai();
    let b = openai();
    let config = format!(
        "[routing.cooldown]\nfailures = 1\nbase_ms = 60000\nmax_ms = 60000\n\n{}",
        two_deployments(&a, &b, "strategy = \"round-robin\"")
    );
    let server = TestServer::start_with_config(&config).await;
    let c = client();
    let session = [("x-session-id", "conversation-1")];
    let first = chat(&c, &server, &chat_body("m", false), &session).await;
    let bound = first.header("x-forge-provider").unwrap().to_owned();
    for _ in 0..10 {
        let reply = chat(&c, &server, &chat_body("m", false), &session).await;
        assert_eq!(reply.header("x-forge-provider"), Some(bound.as_str()));
    }
    // Without a session, round-robin alternates.
    let providers: Vec<String> = chats(&c, &server, "m", 4, 1)
        .await
        .iter()
        .map(|r| r.header("x-forge-provider").unwrap().to_owned())
        .collect();
    assert_ne!(providers[0], providers[1]);
    // The bound deployment fails: the session moves over and sticks to the other one.
    let (bound_fake, other) = if bound == "a" { (&a, "b") } else { (&b, "a") };
    bound_fake.set_fault(Fault::status(500), FaultMode::Always);
    let reply = chat(&c, &server, &chat_body("m", false), &session).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("x-forge-provider"), Some(other));
    bound_fake.clear_fault();
    for _ in 0..5 {
        let reply = chat(&c, &server, &chat_body("m", false), &session).await;
        assert_eq!(reply.header("x-forge-provider"), Some(other));
        assert_eq!(attempts(&reply), 1);
    }
}

#[actix_rt::test]
async fn active_health_checks_eject_a_dead_key_before_any_request() {
    let a = openai();
    let b = openai();
    a.set_fault(Fault::status(503), FaultMode::Always);
    let config = format!(
        "[routing.cooldown]\nfailures = 2\nbase_ms = 60000\nmax_ms = 60000\n\n{}",
        two_deployments(&a, &b, "strategy = \"priority\"")
    )
    .replacen(
        "keys = [{ key = \"sk-fake-upstream-key-0001\" }]\n",
        "keys = [{ key = \"sk-fake-upstream-key-0001\" }]\nhealth_check = { interval_ms = 100 }\n",
        1,
    );
    let server = TestServer::start_with_config(&config).await;
    let c = client();
    // The checks alone (GET /models) open A's breaker: no client request ever reaches it.
    let started = Instant::now();
    while a.request_count() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "no health checks ran"
        );
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
    actix_rt::time::sleep(Duration::from_millis(50)).await;
    assert!(a.requests().iter().all(|r| r.method == "GET"));
    let reply = chat(&c, &server, &chat_body("m", false), &[]).await;
    assert_eq!(
        (reply.header("x-forge-provider"), attempts(&reply)),
        (Some("b"), 1)
    );
    // A recovers: the next check ends its 60 s cooldown, and traffic returns to it.
    a.clear_fault();
    let started = Instant::now();
    loop {
        let reply = chat(&c, &server, &chat_body("m", false), &[]).await;
        if reply.header("x-forge-provider") == Some("a") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "A never came back"
        );
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
}
