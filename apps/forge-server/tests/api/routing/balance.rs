//! Load balancing over HTTP: weights, round-robin and least-latency.

use forge_testkit::{Fault, FaultMode};

use super::common::*;
use crate::harness::{TestServer, client};

fn weighted(
    a: &forge_testkit::FakeOpenAi,
    b: &forge_testkit::FakeOpenAi,
    wa: u32,
    wb: u32,
) -> String {
    // A fixed seed: the split is a pure function of the draws, so the test cannot flake.
    format!(
        "[routing]\nseed = 20261122\n\n{}{}{}[models.m]\nstrategy = \"weighted\"\ndeployments = [{{ provider = \"a\", model = \"gpt-4o-mini\", weight = {wa} }}, {{ provider = \"b\", model = \"gpt-4o-mini\", weight = {wb} }}]\n",
        openai_provider("a", a),
        openai_provider("b", b),
        static_key(),
    )
}

#[actix_rt::test]
async fn weighted_split_matches_the_weights() {
    let a = openai();
    let b = openai();
    let server = TestServer::start_with_config(&weighted(&a, &b, 1, 3)).await;
    let c = client();
    let n = 2000;
    let replies = chats(&c, &server, "m", n, 16).await;
    assert!(replies.iter().all(|r| r.status == 200));
    let observed = [a.request_count() as f64, b.request_count() as f64];
    let expected = [n as f64 * 0.25, n as f64 * 0.75];
    let chi2: f64 = observed
        .iter()
        .zip(expected)
        .map(|(o, e)| (o - e).powi(2) / e)
        .sum();
    // One degree of freedom: 6.635 is the critical value at p = 0.01.
    assert!(chi2 < 6.635, "split {observed:?}, chi-square {chi2}");
}

#[actix_rt::test]
async fn round_robin_is_exact() {
    let a = openai();
    let b = openai();
    let config = two_deployments(&a, &b, "strategy = \"round-robin\"");
    let server = TestServer::start_with_config(&config).await;
    let c = client();
    let replies = chats(&c, &server, "m", 100, 1).await;
    let order: Vec<&str> = replies
        .iter()
        .map(|r| r.header("x-forge-provider").unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] != w[1]), "{order:?}");
    assert_eq!((a.request_count(), b.request_count()), (50, 50));
}

#[actix_rt::test]
async fn least_latency_moves_traffic_to_the_faster_deployment() {
    let a = openai();
    let b = openai();
    let config = format!(
        "[routing]\nexploration = 0.05\nseed = 7\n\n{}",
        two_deployments(&a, &b, "strategy = \"least-latency\"")
    );
    let server = TestServer::start_with_config(&config).await;
    let c = client();
    a.set_fault(Fault::DelayHeaders(80), FaultMode::Always);
    // Within a bounded number of requests, nearly everything goes to the fast one.
    let replies = chats(&c, &server, "m", 60, 1).await;
    let to_fast = replies[20..]
        .iter()
        .filter(|r| r.header("x-forge-provider") == Some("b"))
        .count();
    assert!(
        to_fast >= 34,
        "only {to_fast} of 40 went to the fast deployment"
    );
}

#[actix_rt::test]
async fn least_busy_and_fill_first_pick_as_declared() {
    let a = openai();
    let b = openai();
    // fill-first: the first deployment takes everything until it is rate limited.
    let config = two_deployments(&a, &b, "strategy = \"fill-first\"");
    let server = TestServer::start_with_config(&config).await;
    let c = client();
    let replies = chats(&c, &server, "m", 10, 1).await;
    assert!(
        replies
            .iter()
            .all(|r| r.header("x-forge-provider") == Some("a"))
    );
    a.set_fault(
        Fault::Status {
            status: 429,
            body: None,
            retry_after: Some(30),
        },
        FaultMode::Once,
    );
    let replies = chats(&c, &server, "m", 5, 1).await;
    assert_eq!(replies[0].header("x-forge-provider"), Some("b"));
    assert!(
        replies[1..]
            .iter()
            .all(|r| r.header("x-forge-provider") == Some("b"))
    );
    drop(server);

    // least-busy: with A holding a slow request, the next ones go to B.
    let a = openai();
    let b = openai();
    let config = two_deployments(&a, &b, "strategy = \"least-busy\"");
    let server = TestServer::start_with_config(&config).await;
    // Whichever deployment takes the first request holds it for 700 ms.
    a.set_fault(Fault::DelayHeaders(700), FaultMode::Once);
    b.set_fault(Fault::DelayHeaders(700), FaultMode::Once);
    let body = chat_body("m", false);
    let slow = chat(&c, &server, &body, &[]);
    let quick = async {
        actix_rt::time::sleep(std::time::Duration::from_millis(150)).await;
        let (busy, idle) = if a.in_flight() == 1 {
            ("a", "b")
        } else {
            ("b", "a")
        };
        a.clear_fault();
        b.clear_fault();
        (busy, idle, chats(&c, &server, "m", 5, 1).await)
    };
    let (slow, (busy, idle, quick)) = futures_util::future::join(slow, quick).await;
    assert_eq!(slow.header("x-forge-provider"), Some(busy));
    assert!(
        quick
            .iter()
            .all(|r| r.header("x-forge-provider") == Some(idle))
    );
}
