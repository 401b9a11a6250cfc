//! Ordering a route's usable deployments for one request.
//!
//! The first element is where the request goes; the rest are its failover order. Every
//! strategy returns all of its input, so a strategy never removes a fallback.

use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// By `priority` (lower first), then declaration order.
    #[default]
    Priority,
    /// Random, proportional to weight.
    Weighted,
    /// Rotating start, exact over time.
    RoundRobin,
    /// Lowest moving-average time to first token, exploring at random now and then.
    LeastLatency,
    /// Fewest requests in flight.
    LeastBusy,
    /// Declaration order, but a deployment that is rate limited goes last.
    FillFirst,
}

/// What a strategy knows about one usable deployment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    /// Index into the routing table's deployments.
    pub deployment: usize,
    pub weight: u32,
    pub priority: u32,
    pub in_flight: u32,
    /// Moving average of time to first token; `None` until measured.
    pub latency_ms: Option<f64>,
    pub rate_limited: bool,
}

/// Orders `items` (in declaration order) for one request. `cursor` is the route's
/// round-robin position; `exploration` the share of least-latency requests sent to a random
/// deployment first.
pub fn order<R: Rng + ?Sized>(
    strategy: Strategy,
    items: &[Scored],
    cursor: &mut usize,
    exploration: f64,
    rng: &mut R,
) -> Vec<usize> {
    let mut items = items.to_vec();
    match strategy {
        Strategy::Priority => items.sort_by_key(|s| s.priority),
        Strategy::Weighted => weighted_shuffle(&mut items, rng),
        Strategy::RoundRobin => {
            if !items.is_empty() {
                let start = *cursor % items.len();
                items.rotate_left(start);
            }
            *cursor = cursor.wrapping_add(1);
        }
        Strategy::LeastLatency => {
            // Unmeasured deployments sort first so each gets measured.
            items.sort_by(|a, b| {
                a.latency_ms
                    .unwrap_or(0.0)
                    .total_cmp(&b.latency_ms.unwrap_or(0.0))
            });
            if items.len() > 1 && rng.random_bool(exploration.clamp(0.0, 1.0)) {
                let pick = rng.random_range(0..items.len());
                let chosen = items.remove(pick);
                items.insert(0, chosen);
            }
        }
        Strategy::LeastBusy => {
            // Shuffle first so ties spread instead of piling on the first declared.
            shuffle(&mut items, rng);
            items.sort_by_key(|s| s.in_flight);
        }
        Strategy::FillFirst => items.sort_by_key(|s| s.rate_limited),
    }
    items.into_iter().map(|s| s.deployment).collect()
}

/// Weighted random order without replacement (Efraimidis–Spirakis): each item's key is
/// `ln(u) / weight`; sorting by key descending makes the first pick proportional to weight.
fn weighted_shuffle<R: Rng + ?Sized>(items: &mut Vec<Scored>, rng: &mut R) {
    let mut keyed: Vec<(f64, Scored)> = items
        .drain(..)
        .map(|s| {
            let u = 1.0 - rng.random::<f64>(); // (0, 1]
            (u.ln() / f64::from(s.weight.max(1)), s)
        })
        .collect();
    keyed.sort_by(|a, b| b.0.total_cmp(&a.0));
    items.extend(keyed.into_iter().map(|(_, s)| s));
}

fn shuffle<R: Rng + ?Sized>(items: &mut [Scored], rng: &mut R) {
    for i in (1..items.len()).rev() {
        let j = rng.random_range(0..=i);
        items.swap(i, j);
    }
}
