#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{id, ms, rng, router, start, two_deployments, upstream};
use forge_core::{Error, TimeoutPhase};
use forge_router::health::{Availability, HealthBook, HealthConfig};

fn book() -> HealthBook {
    HealthBook::new(HealthConfig {
        failures: 3,
        window: Duration::from_secs(60),
        cooldown_base: Duration::from_secs(5),
        cooldown_max: Duration::from_secs(40),
        retry_after_max: Duration::from_secs(120),
        ewma_alpha: 0.5,
    })
}

fn fail(book: &mut HealthBook, at: std::time::Instant, error: &Error) {
    book.started("d", at);
    book.failed("d", at, error);
}

#[test]
fn n_failures_within_the_window_open_the_breaker() {
    let mut book = book();
    let t0 = start();
    fail(&mut book, t0, &upstream(500, None));
    fail(&mut book, t0 + ms(1000), &upstream(503, None));
    assert_eq!(book.availability("d", t0 + ms(1000)), Availability::Ready);
    fail(&mut book, t0 + ms(2000), &upstream(502, None));
    let until = t0 + ms(7000);
    assert_eq!(
        book.availability("d", t0 + ms(2000)),
        Availability::Cooling { until }
    );
    assert_eq!(
        book.availability("d", t0 + ms(6999)),
        Availability::Cooling { until }
    );
    assert_eq!(book.availability("d", until), Availability::Probe);
    assert_eq!(book.snapshot("d", until).in_flight, 0);
}

#[test]
fn failures_spread_beyond_the_window_do_not_trip() {
    let mut book = book();
    let t0 = start();
    for s in [0, 30, 61, 91, 122, 152] {
        let at = t0 + Duration::from_secs(s);
        fail(
            &mut book,
            at,
            &Error::UpstreamUnreachable {
                provider: "p".into(),
                message: "refused".into(),
            },
        );
        assert_eq!(book.availability("d", at), Availability::Ready, "at {s}s");
    }
    assert_eq!(
        book.snapshot("d", t0 + Duration::from_secs(152)).failures,
        6
    );
}

#[test]
fn client_errors_never_count() {
    let mut book = book();
    let t0 = start();
    for status in [400, 401, 403, 404, 413, 422] {
        for _ in 0..5 {
            fail(&mut book, t0, &upstream(status, None));
        }
    }
    fail(&mut book, t0, &Error::invalid("bad"));
    let snapshot = book.snapshot("d", t0);
    assert_eq!(snapshot.availability, Availability::Ready);
    assert_eq!(snapshot.failures, 0);
    assert_eq!(snapshot.in_flight, 0);
}

#[test]
fn cooldown_grows_on_repeated_failure_and_is_capped() {
    let mut book = book();
    let mut now = start();
    for _ in 0..3 {
        fail(&mut book, now, &upstream(500, None));
    }
    let mut cooldowns = Vec::new();
    for _ in 0..6 {
        let Availability::Cooling { until } = book.availability("d", now) else {
            panic!("expected cooling");
        };
        cooldowns.push((until - now).as_secs());
        now = until;
        assert_eq!(book.availability("d", now), Availability::Probe);
        // The probe fails: cooled again, for longer.
        fail(
            &mut book,
            now,
            &Error::UpstreamTimeout {
                provider: "p".into(),
                phase: TimeoutPhase::FirstByte,
            },
        );
    }
    assert_eq!(cooldowns, [5, 10, 20, 40, 40, 40]);
    // A successful probe closes the breaker.
    let Availability::Cooling { until } = book.availability("d", now) else {
        panic!("expected cooling");
    };
    book.started("d", until);
    book.succeeded("d", until, ms(100));
    assert_eq!(book.availability("d", until), Availability::Ready);
    // Long healthy afterwards: the next trip starts from the base again.
    now = until + Duration::from_secs(3600);
    for _ in 0..3 {
        fail(&mut book, now, &upstream(500, None));
    }
    assert_eq!(
        book.availability("d", now),
        Availability::Cooling {
            until: now + ms(5000)
        }
    );
}

#[test]
fn half_open_lets_exactly_one_probe_through() {
    let mut book = book();
    let t0 = start();
    for _ in 0..3 {
        fail(&mut book, t0, &upstream(500, None));
    }
    let after = t0 + Duration::from_secs(5);
    assert!(book.availability("d", after).usable());
    book.started("d", after);
    assert_eq!(book.availability("d", after), Availability::ProbeInFlight);
    assert!(!book.availability("d", after).usable());
    // The probe's client went away: another probe may go.
    book.released("d");
    assert_eq!(book.availability("d", after), Availability::Probe);
}

#[test]
fn retry_after_cools_for_that_long_capped() {
    let mut book = book();
    let t0 = start();
    fail(&mut book, t0, &upstream(429, Some(30)));
    assert_eq!(
        book.availability("d", t0),
        Availability::Cooling {
            until: t0 + Duration::from_secs(30)
        }
    );
    assert!(book.rate_limited("d", t0 + Duration::from_secs(29)));
    let mut other = self::book();
    fail(&mut other, t0, &upstream(429, Some(86_400)));
    assert_eq!(
        other.availability("d", t0),
        Availability::Cooling {
            until: t0 + Duration::from_secs(120)
        }
    );
    // A 429 without retry-after counts like any failure.
    let mut plain = self::book();
    fail(&mut plain, t0, &upstream(429, None));
    assert_eq!(plain.availability("d", t0), Availability::Ready);
    assert!(plain.rate_limited("d", t0));
}

#[test]
fn ewma_tracks_time_to_first_token() {
    let mut book = book();
    let t0 = start();
    for ttft in [100, 200, 200] {
        book.started("d", t0);
        book.succeeded("d", t0, ms(ttft));
    }
    // alpha 0.5: 100 -> 150 -> 175.
    assert_eq!(book.latency_ms("d"), Some(175.0));
    assert!(book.reset("d"));
    assert!(!book.reset("unknown"));
}

#[test]
fn a_cooled_deployment_gets_no_traffic_until_the_cooldown_ends() {
    let mut router = router(&two_deployments("round-robin", ""));
    let mut rng = rng(7);
    let t0 = start();
    let a = router.table().resolve("m").unwrap().targets[0].deployment;
    let a_id = router.table().deployment(a).unwrap().id.clone();
    for _ in 0..3 {
        router.started(&a_id, t0);
        router.failed(&a_id, t0, &upstream(503, None));
    }
    let mut now = t0;
    while now < t0 + Duration::from_secs(5) {
        let mut plan = router.plan(Some("m"), None, now, &mut rng).unwrap();
        let attempt = router
            .next_attempt(&mut plan, None, None, now, &mut rng)
            .unwrap();
        assert_ne!(attempt.deployment, a, "at {:?}", now - t0);
        // Fallback order still includes only usable deployments: A is not retried either.
        assert!(
            router
                .next_attempt(&mut plan, Some(&upstream(503, None)), None, now, &mut rng)
                .is_none()
        );
        now += ms(250);
    }
    let mut seen_a = false;
    for _ in 0..2 {
        let mut plan = router.plan(Some("m"), None, now, &mut rng).unwrap();
        seen_a |= router
            .next_attempt(&mut plan, None, None, now, &mut rng)
            .unwrap()
            .deployment
            == a;
    }
    assert!(seen_a, "the probe goes to A once its cooldown ended");
}

#[test]
fn never_more_than_the_configured_share_is_ejected() {
    let text = r#"
[[providers]]
name = "p"
kind = "openai-compatible"
base_url = "http://p.test"
keys = [{ key = "k0" }, { key = "k1" }, { key = "k2" }, { key = "k3" }]

[models.m]
max_ejected_share = 0.5
deployments = [{ provider = "p", model = "x" }]
"#;
    let mut router = router(text);
    let mut rng = rng(8);
    let t0 = start();
    let targets: Vec<usize> = router
        .table()
        .resolve("m")
        .unwrap()
        .targets
        .iter()
        .map(|t| t.deployment)
        .collect();
    // Eject three of four, the third one last (its cooldown ends latest).
    for (i, &d) in targets.iter().take(3).enumerate() {
        let at = t0 + ms(i as u64 * 100);
        let d_id = router.table().deployment(d).unwrap().id.clone();
        for _ in 0..3 {
            router.started(&d_id, at);
            router.failed(&d_id, at, &upstream(500, None));
        }
    }
    let now = t0 + ms(300);
    let decision = router.decide(Some("m"), None, now, &mut rng).unwrap();
    let usable: Vec<&str> = decision.candidates.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(usable.len(), 2, "{decision:?}");
    // The one closest to the end of its cooldown is readmitted, with the healthy one.
    assert_eq!(usable, ["p/x#0", "p/x#3"]);
    assert_eq!(decision.excluded.len(), 2);
    let mut plan = router.plan(Some("m"), None, now, &mut rng).unwrap();
    let first = router
        .next_attempt(&mut plan, None, None, now, &mut rng)
        .unwrap();
    assert_eq!(id(&router, first.deployment), "p/x#0");
}

#[test]
fn active_checks_eject_and_bring_back_without_touching_in_flight() {
    let mut book = HealthBook::new(HealthConfig::default());
    let now = start();
    book.started("d", now);
    let failure = forge_router::health::Failure {
        rate_limited: false,
        retry_after: None,
    };
    for _ in 0..3 {
        book.check_failed("d", now, failure);
    }
    assert!(!book.availability("d", now).usable());
    assert_eq!(book.in_flight("d"), 1, "a check is not a request");
    book.check_passed("d");
    assert_eq!(book.availability("d", now), Availability::Probe);
    book.check_passed("unknown");
    assert_eq!(book.availability("unknown", now), Availability::Ready);
}
