//! Whole-request simulations over virtual time: the Router drives attempts against fake
//! deployments whose failures come from a seeded generator.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Instant;

use common::{id, ms, rng, router, start, two_deployments, upstream};
use forge_core::Error;
use forge_router::Router;
use rand::RngExt;
use rand::rngs::SmallRng;

#[derive(Default, Debug)]
struct Tally {
    requests: u64,
    attempts: u64,
    client_failures: u64,
    bad_requests: u64,
    bad_request_attempts: u64,
}

/// Runs one client request to completion; returns the attempts made and the final error.
fn run_request(
    router: &mut Router,
    now: &mut Instant,
    session: Option<&str>,
    rng: &mut SmallRng,
    upstream_result: &mut dyn FnMut(&str, &mut SmallRng) -> Result<u64, Error>,
) -> (u64, Option<Error>) {
    let mut plan = router.plan(Some("m"), session, *now, rng).unwrap();
    let mut last: Option<Error> = None;
    let mut attempts = 0;
    while let Some(attempt) = router.next_attempt(&mut plan, last.as_ref(), session, *now, rng) {
        *now += attempt.delay;
        attempts += 1;
        router.started(&attempt.id, *now);
        let name = id(router, attempt.deployment);
        match upstream_result(&name, rng) {
            Ok(ttft) => {
                *now += ms(ttft);
                router.succeeded(&attempt.id, *now, ms(ttft), session);
                return (attempts, None);
            }
            Err(error) => {
                *now += ms(5);
                router.failed(&attempt.id, *now, &error);
                last = Some(error);
            }
        }
    }
    (attempts, last)
}

fn simulate(strategy: &str, seed: u64, settings: &str, routing: &str) -> Tally {
    let mut router = router(&format!(
        "{routing}\n{}",
        two_deployments(strategy, settings)
    ));
    let mut rng = rng(seed);
    let mut faults = common::rng(seed ^ 0xfa17);
    let mut now = start();
    let mut tally = Tally::default();
    for i in 0..10_000u64 {
        // One request in 50 is malformed: every deployment rejects it the same way.
        let bad = (i % 50 == 7).then(|| [400, 401, 404, 422][(i / 50 % 4) as usize]);
        let mut upstream_result = |name: &str, _: &mut SmallRng| -> Result<u64, Error> {
            if let Some(status) = bad {
                return Err(upstream(status, None));
            }
            if name == "a/x#0" && faults.random_bool(0.3) {
                Err(upstream(503, None))
            } else {
                Ok(50)
            }
        };
        let (attempts, error) =
            run_request(&mut router, &mut now, None, &mut rng, &mut upstream_result);
        if bad.is_some() {
            tally.bad_requests += 1;
            tally.bad_request_attempts += attempts;
            assert!(error.is_some());
        } else {
            tally.requests += 1;
            tally.attempts += attempts;
            tally.client_failures += u64::from(error.is_some());
        }
        now += ms(20);
    }
    tally
}

const STRATEGIES: [&str; 6] = [
    "priority",
    "weighted",
    "round-robin",
    "least-latency",
    "least-busy",
    "fill-first",
];

#[test]
fn a_flaky_deployment_is_invisible_to_clients() {
    for strategy in STRATEGIES {
        let tally = simulate(strategy, 21, "retries = 1\nmax_attempts = 4", "");
        let mean = tally.attempts as f64 / tally.requests as f64;
        assert_eq!(tally.client_failures, 0, "{strategy}: {tally:?}");
        assert!(mean <= 1.35, "{strategy}: mean attempts {mean}");
        // 400/401/404/422 are answered after exactly one attempt: never retried.
        assert_eq!(
            tally.bad_request_attempts, tally.bad_requests,
            "{strategy}: {tally:?}"
        );
    }
}

#[test]
fn failover_alone_keeps_a_flaky_deployment_invisible() {
    // The breaker never opens here: every request that lands on A pays for its failures.
    let no_breaker = "[routing.cooldown]\nfailures = 1000000";
    for strategy in STRATEGIES {
        let tally = simulate(strategy, 31, "retries = 0\nmax_attempts = 3", no_breaker);
        let mean = tally.attempts as f64 / tally.requests as f64;
        assert_eq!(tally.client_failures, 0, "{strategy}: {tally:?}");
        assert!(mean <= 1.35, "{strategy}: mean attempts {mean}");
        assert!(
            mean > 1.05,
            "{strategy}: A should have taken traffic ({mean})"
        );
        assert_eq!(
            tally.bad_request_attempts, tally.bad_requests,
            "{strategy}: {tally:?}"
        );
    }
}

#[test]
fn stickiness_holds_while_healthy_and_falls_over_when_cooled() {
    let mut router = router(&two_deployments("round-robin", ""));
    let mut rng = rng(22);
    let mut now = start();
    let mut ok = |_: &str, _: &mut SmallRng| -> Result<u64, Error> { Ok(30) };
    run_request(&mut router, &mut now, Some("s1"), &mut rng, &mut ok);
    let decision = router.decide(Some("m"), Some("s1"), now, &mut rng).unwrap();
    let bound = decision.candidates[0].id.clone();
    assert!(decision.candidates[0].sticky);
    // Round-robin would alternate; the session keeps its deployment.
    for _ in 0..20 {
        let mut plan = router.plan(Some("m"), Some("s1"), now, &mut rng).unwrap();
        let attempt = router
            .next_attempt(&mut plan, None, Some("s1"), now, &mut rng)
            .unwrap();
        assert_eq!(id(&router, attempt.deployment), bound);
        // Stickiness reorders only: the other deployment is still the fallback.
        let next = router
            .next_attempt(
                &mut plan,
                Some(&upstream(502, None)),
                Some("s1"),
                now,
                &mut rng,
            )
            .unwrap();
        assert_ne!(id(&router, next.deployment), bound);
    }
    // Cool the bound deployment down: the session falls over to the other one and sticks there.
    for _ in 0..3 {
        router.started(&bound, now);
        router.failed(&bound, now, &upstream(500, None));
    }
    let (attempts, error) = run_request(&mut router, &mut now, Some("s1"), &mut rng, &mut ok);
    assert_eq!((attempts, error.is_none()), (1, true));
    let decision = router.decide(Some("m"), Some("s1"), now, &mut rng).unwrap();
    assert_ne!(decision.candidates[0].id, bound);
    assert!(decision.candidates[0].sticky);
    // Once the cooldown is over the session stays where it is now: it only moves on failure.
    now += ms(60_000);
    let decision = router.decide(Some("m"), Some("s1"), now, &mut rng).unwrap();
    assert_ne!(decision.candidates[0].id, bound);
    assert!(router.drop_session("s1"));
    assert!(!router.drop_session("s1"));
}

#[test]
fn reload_keeps_health_of_surviving_deployments() {
    let mut router = router(&two_deployments("priority", ""));
    let now = start();
    for _ in 0..3 {
        router.started("a/x#0", now);
        router.failed("a/x#0", now, &upstream(500, None));
    }
    let config = common::config(&two_deployments("weighted", ""));
    router.reload(
        std::sync::Arc::new(forge_router::RoutingTable::from_config(&config)),
        &config.routing,
    );
    assert!(!router.health().availability("a/x#0", now).usable());
    let mut rng = rng(23);
    let decision = router.decide(Some("m"), None, now, &mut rng).unwrap();
    assert_eq!(decision.candidates.len(), 1);
    assert!(router.reset_deployment("a/x#0"));
    let decision = router.decide(Some("m"), None, now, &mut rng).unwrap();
    assert_eq!(decision.candidates.len(), 2);
}

#[test]
fn unknown_and_missing_models() {
    let mut router = router(&two_deployments("priority", ""));
    let mut rng = rng(24);
    let now = start();
    assert!(matches!(
        router.plan(Some("nope"), None, now, &mut rng),
        Err(Error::ModelNotFound { .. })
    ));
    assert!(matches!(
        router.plan(None, None, now, &mut rng),
        Err(Error::InvalidRequest { .. })
    ));
}

#[test]
fn a_deployment_ejected_by_the_last_failure_is_not_retried() {
    let text = format!(
        "[routing.cooldown]\nfailures = 1\n{}",
        two_deployments("priority", "retries = 3")
    );
    let mut router = router(&text);
    let mut rng = rng(25);
    let now = start();
    let mut plan = router.plan(Some("m"), None, now, &mut rng).unwrap();
    let first = router
        .next_attempt(&mut plan, None, None, now, &mut rng)
        .unwrap();
    router.started(&first.id, now);
    let error = upstream(500, None);
    router.failed(&first.id, now, &error);
    let second = router
        .next_attempt(&mut plan, Some(&error), None, now, &mut rng)
        .unwrap();
    assert_ne!(second.deployment, first.deployment);
    assert!(second.delay.is_zero());
    // With the breaker closed the same failure is retried on the same deployment.
    let mut router = self::router(&two_deployments("priority", "retries = 3"));
    let mut plan = router.plan(Some("m"), None, now, &mut rng).unwrap();
    let first = router
        .next_attempt(&mut plan, None, None, now, &mut rng)
        .unwrap();
    router.started(&first.id, now);
    router.failed(&first.id, now, &error);
    let second = router
        .next_attempt(&mut plan, Some(&error), None, now, &mut rng)
        .unwrap();
    assert_eq!(second.deployment, first.deployment);
}
