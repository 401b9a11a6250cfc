#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;

use common::{id, ms, rng, router, start, two_deployments};
use forge_router::strategy::{Scored, Strategy, order};

fn scored(deployment: usize, weight: u32) -> Scored {
    Scored {
        deployment,
        weight,
        priority: 0,
        in_flight: 0,
        latency_ms: None,
        rate_limited: false,
    }
}

/// Pearson's chi-square statistic of observed counts against expected shares.
fn chi_square(observed: &[u64], weights: &[f64]) -> f64 {
    let n: u64 = observed.iter().sum();
    let total: f64 = weights.iter().sum();
    observed
        .iter()
        .zip(weights)
        .map(|(&o, &w)| {
            let e = n as f64 * w / total;
            (o as f64 - e).powi(2) / e
        })
        .sum()
}

#[test]
fn weighted_split_matches_weights_by_chi_square() {
    // Critical value of chi-square with 3 degrees of freedom at p = 0.01.
    const CRITICAL: f64 = 11.345;
    let items: Vec<Scored> = (0..4).map(|i| scored(i, i as u32 + 1)).collect();
    for seed in 0..5 {
        let mut rng = rng(seed);
        let mut counts = [0u64; 4];
        for _ in 0..10_000 {
            let ordered = order(Strategy::Weighted, &items, &mut 0, 0.0, &mut rng);
            assert_eq!(ordered.len(), 4, "weighted keeps every fallback");
            counts[ordered[0]] += 1;
        }
        let statistic = chi_square(&counts, &[1.0, 2.0, 3.0, 4.0]);
        assert!(
            statistic < CRITICAL,
            "seed {seed}: {counts:?} gives {statistic}"
        );
        // The same counts are far from a uniform split: the test can tell them apart.
        assert!(chi_square(&counts, &[1.0; 4]) > CRITICAL);
    }
}

#[test]
fn round_robin_is_exact() {
    let mut router = router(&two_deployments("round-robin", ""));
    let mut rng = rng(1);
    let now = start();
    let mut firsts = Vec::new();
    for _ in 0..1000 {
        let mut plan = router.plan(Some("m"), None, now, &mut rng).unwrap();
        let attempt = router
            .next_attempt(&mut plan, None, None, now, &mut rng)
            .unwrap();
        firsts.push(attempt.deployment);
    }
    let a = firsts[0];
    for (i, d) in firsts.iter().enumerate() {
        assert_eq!(*d == a, i % 2 == 0, "request {i}");
    }
    assert_eq!(firsts.iter().filter(|d| **d == a).count(), 500);
}

#[test]
fn priority_fill_first_and_least_busy() {
    let mut rng = rng(3);
    let mut items = vec![scored(0, 1), scored(1, 1), scored(2, 1)];
    items[0].priority = 2;
    items[2].priority = 1;
    assert_eq!(
        order(Strategy::Priority, &items, &mut 0, 0.0, &mut rng),
        [1, 2, 0]
    );

    items[0].rate_limited = true;
    assert_eq!(
        order(Strategy::FillFirst, &items, &mut 0, 0.0, &mut rng),
        [1, 2, 0]
    );
    items[0].rate_limited = false;
    assert_eq!(
        order(Strategy::FillFirst, &items, &mut 0, 0.0, &mut rng),
        [0, 1, 2]
    );

    items[0].in_flight = 5;
    items[1].in_flight = 1;
    items[2].in_flight = 3;
    assert_eq!(
        order(Strategy::LeastBusy, &items, &mut 0, 0.0, &mut rng),
        [1, 2, 0]
    );
}

#[test]
fn least_busy_spreads_ties() {
    let items = vec![scored(0, 1), scored(1, 1)];
    let mut rng = rng(4);
    let zeros = (0..1000)
        .filter(|_| order(Strategy::LeastBusy, &items, &mut 0, 0.0, &mut rng)[0] == 0)
        .count();
    assert!((400..600).contains(&zeros), "{zeros}");
}

#[test]
fn least_latency_moves_traffic_to_the_faster_deployment() {
    let mut router = router(&two_deployments("least-latency", ""));
    let mut rng = rng(5);
    let mut now = start();
    let ttft: HashMap<String, u64> = HashMap::from([("a/x#0".into(), 400), ("b/x#0".into(), 40)]);
    let mut to_fast = Vec::new();
    for _ in 0..1010 {
        let mut plan = router.plan(Some("m"), None, now, &mut rng).unwrap();
        let attempt = router
            .next_attempt(&mut plan, None, None, now, &mut rng)
            .unwrap();
        let name = id(&router, attempt.deployment);
        router.started(&attempt.id, now);
        router.succeeded(&attempt.id, now, ms(ttft[&name]), None);
        to_fast.push(name == "b/x#0");
        now += ms(10);
    }
    // Both unmeasured deployments are tried first, then the fast one wins from request 3.
    assert!(
        to_fast[2..12].iter().filter(|f| **f).count() >= 9,
        "{:?}",
        &to_fast[..12]
    );
    let share = to_fast[10..].iter().filter(|f| **f).count() as f64 / 1000.0;
    // Exploration (5%) sends about one request in 40 to the slow one.
    assert!(share > 0.95, "{share}");
    assert!(
        share < 1.0,
        "exploration keeps measuring the slow deployment"
    );
}

#[test]
fn strategies_never_drop_candidates() {
    let mut items: Vec<Scored> = (0..5).map(|i| scored(i, 1)).collect();
    items[3].latency_ms = Some(3.0);
    let mut rng = rng(6);
    for strategy in [
        Strategy::Priority,
        Strategy::Weighted,
        Strategy::RoundRobin,
        Strategy::LeastLatency,
        Strategy::LeastBusy,
        Strategy::FillFirst,
    ] {
        let mut out = order(strategy, &items, &mut 7, 1.0, &mut rng);
        out.sort();
        assert_eq!(out, [0, 1, 2, 3, 4], "{strategy:?}");
        assert!(order(strategy, &[], &mut 0, 1.0, &mut rng).is_empty());
    }
}
