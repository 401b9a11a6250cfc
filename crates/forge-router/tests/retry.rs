#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{ms, rng, start, table, upstream};
use forge_core::{Error, TimeoutPhase};
use forge_router::retry::{Attempt, Plan, RetryPolicy, Verdict, backoff, classify};
use forge_router::table::RoutingTable;
use rand::rngs::SmallRng;

#[test]
fn classification_follows_status_and_phase() {
    for status in [429, 500, 502, 503, 504, 529] {
        assert!(
            matches!(classify(&upstream(status, None)), Verdict::Retry { .. }),
            "{status}"
        );
    }
    for status in [400, 401, 403, 404, 408, 409, 413, 422, 501] {
        assert_eq!(classify(&upstream(status, None)), Verdict::Stop, "{status}");
    }
    assert_eq!(
        classify(&upstream(429, Some(7))),
        Verdict::Retry {
            retry_after: Some(Duration::from_secs(7))
        }
    );
    let timeout = |phase| Error::UpstreamTimeout {
        provider: "p".into(),
        phase,
    };
    assert!(matches!(
        classify(&timeout(TimeoutPhase::Connect)),
        Verdict::Retry { .. }
    ));
    assert!(matches!(
        classify(&timeout(TimeoutPhase::FirstByte)),
        Verdict::Retry { .. }
    ));
    // The upstream had started answering: never send the request again.
    assert_eq!(classify(&timeout(TimeoutPhase::Idle)), Verdict::Stop);
    assert!(matches!(
        classify(&Error::UpstreamUnreachable {
            provider: "p".into(),
            message: "refused".into()
        }),
        Verdict::Retry { .. }
    ));
    assert_eq!(classify(&Error::invalid("x")), Verdict::Stop);
    assert_eq!(classify(&Error::Internal("x".into())), Verdict::Stop);
}

#[test]
fn backoff_is_full_jitter_capped_and_honours_retry_after() {
    let policy = RetryPolicy {
        backoff_base: ms(100),
        backoff_max: ms(1000),
        ..RetryPolicy::default()
    };
    let mut rng = rng(11);
    for retry in 0..40 {
        let ceiling = ms(100u64.saturating_mul(1 << retry.min(20))).min(ms(1000));
        let mut max_seen = Duration::ZERO;
        for _ in 0..200 {
            let delay = backoff(&policy, retry, None, &mut rng);
            assert!(delay <= ceiling, "retry {retry}: {delay:?}");
            max_seen = max_seen.max(delay);
        }
        // Full jitter spans the whole range.
        assert!(
            max_seen > ceiling.mul_f64(0.9),
            "retry {retry}: {max_seen:?}"
        );
        let delay = backoff(&policy, retry, Some(ms(800)), &mut rng);
        assert!(delay >= ms(800));
    }
}

fn plan_table() -> std::sync::Arc<RoutingTable> {
    table(
        r#"
[[providers]]
name = "p"
kind = "openai-compatible"
base_url = "http://p.test"
keys = [{ key = "k" }]

[models.main]
retries = 2
max_attempts = 10
backoff = { base_ms = 100, max_ms = 1000 }
fallbacks = ["spare"]
deployments = [{ provider = "p", model = "a" }, { provider = "p", model = "b" }]

[models.spare]
deployments = [{ provider = "p", model = "c" }]
"#,
    )
}

/// Walks a plan, failing every attempt with `error`; returns (upstream model, delay) pairs.
fn walk(
    table: &RoutingTable,
    plan: &mut Plan,
    error: &Error,
    rng: &mut SmallRng,
) -> Vec<(String, Duration)> {
    let mut now = start();
    let mut more = |name: &str, _: &mut SmallRng| {
        let route = table.resolve(name)?;
        Some((
            route.retry,
            route.targets.iter().map(|t| t.deployment).collect(),
        ))
    };
    let mut out = Vec::new();
    let mut last = None;
    while let Some(Attempt {
        deployment,
        delay,
        number,
        ..
    }) = plan.next(last, now, rng, &mut more)
    {
        assert_eq!(number as usize, out.len() + 1);
        now += delay;
        out.push((
            table.deployment(deployment).unwrap().upstream_model.clone(),
            delay,
        ));
        last = Some(error);
    }
    out
}

fn new_plan(table: &RoutingTable, now: std::time::Instant) -> Plan {
    let route = table.resolve("main").unwrap();
    let candidates = route.targets.iter().map(|t| t.deployment).collect();
    Plan::new(route, candidates, route.fallbacks.clone(), now)
}

#[test]
fn same_deployment_then_next_then_fallback() {
    let table = plan_table();
    let mut rng = rng(12);
    let mut plan = new_plan(&table, start());
    let steps = walk(&table, &mut plan, &upstream(503, None), &mut rng);
    let models: Vec<&str> = steps.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(models, ["a", "a", "a", "b", "b", "b", "c"]);
    // Moving to another deployment does not wait; retries on the same one back off.
    assert_eq!(steps[0].1, Duration::ZERO);
    assert_eq!(steps[3].1, Duration::ZERO);
    assert_eq!(steps[6].1, Duration::ZERO);
    assert!(steps[1].1 <= ms(100) && steps[2].1 <= ms(200));
    assert_eq!(plan.attempts(), 7);
}

#[test]
fn client_errors_are_never_retried() {
    let table = plan_table();
    let mut rng = rng(13);
    for status in [400, 401, 403, 404, 413, 422] {
        let mut plan = new_plan(&table, start());
        let steps = walk(&table, &mut plan, &upstream(status, None), &mut rng);
        assert_eq!(steps.len(), 1, "{status}");
    }
}

#[test]
fn attempt_budget_caps_everything() {
    let table = plan_table();
    let mut rng = rng(14);
    let route = table.resolve("main").unwrap();
    let mut capped = route.clone();
    capped.retry.max_attempts = 4;
    let candidates = route.targets.iter().map(|t| t.deployment).collect();
    let mut plan = Plan::new(&capped, candidates, route.fallbacks.clone(), start());
    let steps = walk(&table, &mut plan, &upstream(500, None), &mut rng);
    assert_eq!(steps.len(), 4);
}

#[test]
fn retry_after_is_honoured_or_skipped_when_longer_than_the_cap() {
    let table = plan_table();
    let mut rng = rng(15);
    let mut plan = new_plan(&table, start());
    let steps = walk(&table, &mut plan, &upstream(429, Some(1)), &mut rng);
    // retry-after 1 s equals the backoff cap: honoured on the same deployment.
    assert_eq!(steps[1], ("a".to_owned(), Duration::from_secs(1)));
    let mut plan = new_plan(&table, start());
    let steps = walk(&table, &mut plan, &upstream(429, Some(30)), &mut rng);
    // 30 s is longer than the cap: go to the next deployment at once instead.
    let models: Vec<&str> = steps.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(models, ["a", "b", "c"]);
    assert!(steps.iter().all(|(_, d)| d.is_zero()));
}

#[test]
fn deadline_stops_new_attempts() {
    let table = plan_table();
    let mut rng = rng(16);
    let t0 = start();
    let route = table.resolve("main").unwrap();
    let mut timed = route.clone();
    timed.retry.deadline = Some(ms(1500));
    let candidates: Vec<usize> = route.targets.iter().map(|t| t.deployment).collect();
    let mut more = |_: &str, _: &mut SmallRng| None;
    let mut plan = Plan::new(&timed, candidates.clone(), Vec::new(), t0);
    assert_eq!(plan.deadline(), Some(t0 + ms(1500)));
    let error = upstream(503, Some(1));
    let first = plan.next(None, t0, &mut rng, &mut more).unwrap();
    assert_eq!(first.delay, Duration::ZERO);
    // Waiting 1 s at t0 + 0.6 s would cross the deadline: move on without waiting.
    let second = plan
        .next(Some(&error), t0 + ms(600), &mut rng, &mut more)
        .unwrap();
    assert_ne!(second.deployment, first.deployment);
    assert_eq!(second.delay, Duration::ZERO);
    assert!(
        plan.next(Some(&error), t0 + ms(1500), &mut rng, &mut more)
            .is_none()
    );
    // Within the deadline a 1 s retry-after is waited out on the same deployment.
    let mut plan = Plan::new(&timed, candidates, Vec::new(), t0);
    let first = plan.next(None, t0, &mut rng, &mut more).unwrap();
    let again = plan
        .next(Some(&error), t0 + ms(100), &mut rng, &mut more)
        .unwrap();
    assert_eq!(again.deployment, first.deployment);
    assert!(again.delay >= Duration::from_secs(1));
}

#[test]
fn none_after_the_first_skips_without_blame() {
    let table = plan_table();
    let mut rng = rng(17);
    let now = start();
    let mut plan = new_plan(&table, now);
    let mut more = |_: &str, _: &mut SmallRng| None;
    let a = plan.next(None, now, &mut rng, &mut more).unwrap();
    let b = plan.next(None, now, &mut rng, &mut more).unwrap();
    assert_ne!(a.deployment, b.deployment);
    assert_eq!(b.delay, Duration::ZERO);
    assert!(
        plan.next(None, now, &mut rng, &mut more).is_none(),
        "no fallback supplied"
    );
}

#[test]
fn a_content_refusal_goes_to_the_fallbacks_only_when_configured() {
    let refusal = Error::Upstream {
        provider: "openai".into(),
        status: 400,
        message: "flagged".into(),
        retry_after: None,
        error_type: Some("invalid_request_error".into()),
        code: Some("content_policy_violation".into()),
    };
    assert!(refusal.is_content_refusal());
    for (flag, expected) in [(false, None), (true, Some("backup".to_owned()))] {
        let text = format!(
            "[[providers]]\nname = \"a\"\nkind = \"openai-compatible\"\nbase_url = \"https://a.example/v1\"\nkeys = [{{ key = \"k\" }}]\n\n[models.m]\nfallback_on_refusal = {flag}\nfallbacks = [\"backup\"]\ndeployments = [{{ provider = \"a\", model = \"x\" }}, {{ provider = \"a\", model = \"y\" }}]\n\n[models.backup]\ndeployments = [{{ provider = \"a\", model = \"z\" }}]\n"
        );
        let mut router = common::router(&text);
        let mut rng = rng(3);
        let now = common::start();
        let mut plan = router.plan(Some("m"), None, now, &mut rng).unwrap();
        let first = router
            .next_attempt(&mut plan, None, None, now, &mut rng)
            .unwrap();
        assert_eq!(first.route, "m");
        let next = router.next_attempt(&mut plan, Some(&refusal), None, now, &mut rng);
        assert_eq!(next.map(|a| a.route), expected, "flag {flag}");
    }
}
