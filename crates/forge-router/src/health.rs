//! Per-deployment health: in-flight count, latency average, recent failures, circuit breaker.
//!
//! Keyed by the deployment's stable id so a config reload keeps what was learnt. The breaker
//! opens after `failures` failures within `window`, for a cooldown that doubles on each trip
//! (reset once the deployment has stayed healthy for a while), capped; a 429 with
//! `retry-after` cools it for that long, capped. After the cooldown one probe request is let
//! through (half-open): success closes the breaker, failure opens it again for longer.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use forge_core::Error;

use crate::config::RoutingConfig;
use crate::retry::{Verdict, classify};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HealthConfig {
    pub failures: u32,
    pub window: Duration,
    pub cooldown_base: Duration,
    pub cooldown_max: Duration,
    pub retry_after_max: Duration,
    pub ewma_alpha: f64,
}

impl From<&RoutingConfig> for HealthConfig {
    fn from(routing: &RoutingConfig) -> Self {
        let c = &routing.cooldown;
        HealthConfig {
            failures: c.failures.max(1),
            window: Duration::from_millis(c.window_ms),
            cooldown_base: Duration::from_millis(c.base_ms),
            cooldown_max: Duration::from_millis(c.max_ms),
            retry_after_max: Duration::from_millis(c.retry_after_max_ms),
            ewma_alpha: routing.ewma_alpha.clamp(f64::MIN_POSITIVE, 1.0),
        }
    }
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig::from(&RoutingConfig::default())
    }
}

/// A failure that counts against a deployment (client errors never do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    pub rate_limited: bool,
    pub retry_after: Option<Duration>,
}

impl Failure {
    /// `None` for errors that say nothing about the deployment's health (400, 401, ...).
    /// An idle timeout mid-stream is not retried but still counts against the deployment.
    pub fn from_error(error: &Error) -> Option<Failure> {
        let rate_limited = matches!(error, Error::Upstream { status: 429, .. });
        match classify(error) {
            Verdict::Retry { retry_after } => Some(Failure {
                rate_limited,
                retry_after,
            }),
            Verdict::Stop if matches!(error, Error::UpstreamTimeout { .. }) => Some(Failure {
                rate_limited: false,
                retry_after: None,
            }),
            Verdict::Stop => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Breaker {
    Closed,
    Open { until: Instant },
    HalfOpen { probing: bool },
}

/// Whether a deployment may take a request now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    Ready,
    /// The cooldown is over; the next request is the probe.
    Probe,
    /// Ejected until `until`.
    Cooling {
        until: Instant,
    },
    /// A probe is in flight; others wait for its verdict.
    ProbeInFlight,
}

impl Availability {
    pub fn usable(self) -> bool {
        matches!(self, Availability::Ready | Availability::Probe)
    }
}

#[derive(Debug, Clone)]
struct State {
    in_flight: u32,
    ewma_ms: Option<f64>,
    successes: u64,
    failures: u64,
    recent: VecDeque<Instant>,
    breaker: Breaker,
    trips: u32,
    /// Every trip since start (a metric; `trips` resets after a quiet spell).
    trips_total: u64,
    last_trip: Option<Instant>,
    rate_limited_until: Option<Instant>,
}

impl Default for State {
    fn default() -> Self {
        State {
            in_flight: 0,
            ewma_ms: None,
            successes: 0,
            failures: 0,
            recent: VecDeque::new(),
            breaker: Breaker::Closed,
            trips: 0,
            trips_total: 0,
            last_trip: None,
            rate_limited_until: None,
        }
    }
}

/// What the admin API shows for one deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthSnapshot {
    pub availability: Availability,
    pub in_flight: u32,
    /// Moving average of time to first token, in milliseconds.
    pub ewma_ttft_ms: Option<f64>,
    pub successes: u64,
    pub failures: u64,
    /// Failures inside the current window.
    pub recent_failures: usize,
    /// Consecutive breaker trips: the cooldown grows with it.
    pub trips: u32,
    /// Breaker trips since the process started.
    pub trips_total: u64,
    pub rate_limited_until: Option<Instant>,
}

#[derive(Debug, Clone, Default)]
pub struct HealthBook {
    config: HealthConfig,
    states: HashMap<String, State>,
}

impl HealthBook {
    pub fn new(config: HealthConfig) -> HealthBook {
        HealthBook {
            config,
            states: HashMap::new(),
        }
    }

    pub fn config(&self) -> &HealthConfig {
        &self.config
    }

    pub fn set_config(&mut self, config: HealthConfig) {
        self.config = config;
    }

    /// Forgets deployments no longer in the table (after a reload).
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.states.retain(|id, _| keep(id));
    }

    pub fn availability(&self, id: &str, now: Instant) -> Availability {
        match self.states.get(id).map(|s| s.breaker) {
            None | Some(Breaker::Closed) => Availability::Ready,
            Some(Breaker::Open { until }) if until > now => Availability::Cooling { until },
            Some(Breaker::Open { .. }) | Some(Breaker::HalfOpen { probing: false }) => {
                Availability::Probe
            }
            Some(Breaker::HalfOpen { probing: true }) => Availability::ProbeInFlight,
        }
    }

    pub fn in_flight(&self, id: &str) -> u32 {
        self.states.get(id).map_or(0, |s| s.in_flight)
    }

    pub fn latency_ms(&self, id: &str) -> Option<f64> {
        self.states.get(id).and_then(|s| s.ewma_ms)
    }

    /// Whether a 429 told us to back off from this deployment until later than `now`.
    pub fn rate_limited(&self, id: &str, now: Instant) -> bool {
        self.states
            .get(id)
            .and_then(|s| s.rate_limited_until)
            .is_some_and(|until| until > now)
    }

    /// An attempt is being sent. Pair with exactly one of `succeeded`, `failed`, `released`.
    pub fn started(&mut self, id: &str, now: Instant) {
        let state = self.states.entry(id.to_owned()).or_default();
        state.in_flight += 1;
        match state.breaker {
            Breaker::Open { until } if until <= now => {
                state.breaker = Breaker::HalfOpen { probing: true }
            }
            Breaker::HalfOpen { probing: false } => {
                state.breaker = Breaker::HalfOpen { probing: true }
            }
            _ => {}
        }
    }

    /// The attempt delivered its first content after `ttft` and is finished.
    pub fn succeeded(&mut self, id: &str, now: Instant, ttft: Duration) {
        self.first_content(id, now, ttft);
        self.released(id);
    }

    /// The attempt delivered its first content after `ttft` and is still streaming: it
    /// counts as a success (closing a half-open breaker) but stays in flight until
    /// [`HealthBook::released`] or [`HealthBook::failed`].
    pub fn first_content(&mut self, id: &str, _now: Instant, ttft: Duration) {
        let alpha = self.config.ewma_alpha;
        let state = self.states.entry(id.to_owned()).or_default();
        state.successes += 1;
        let sample = ttft.as_secs_f64() * 1000.0;
        state.ewma_ms = Some(match state.ewma_ms {
            Some(old) => alpha * sample + (1.0 - alpha) * old,
            None => sample,
        });
        if matches!(state.breaker, Breaker::HalfOpen { .. }) {
            state.breaker = Breaker::Closed;
            state.recent.clear();
        }
    }

    /// The attempt failed. Errors that are the client's fault only release the slot.
    pub fn failed(&mut self, id: &str, now: Instant, error: &Error) {
        match Failure::from_error(error) {
            Some(failure) => self.record_failure(id, now, failure),
            None => self.released(id),
        }
    }

    /// The attempt ended without a verdict on the deployment (client went away, client error).
    pub fn released(&mut self, id: &str) {
        if let Some(state) = self.states.get_mut(id) {
            state.in_flight = state.in_flight.saturating_sub(1);
            if state.breaker == (Breaker::HalfOpen { probing: true }) {
                state.breaker = Breaker::HalfOpen { probing: false };
            }
        }
    }

    pub fn record_failure(&mut self, id: &str, now: Instant, failure: Failure) {
        let config = self.config;
        let state = self.states.entry(id.to_owned()).or_default();
        state.in_flight = state.in_flight.saturating_sub(1);
        state.failures += 1;
        state.recent.push_back(now);
        while state
            .recent
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= config.window)
        {
            state.recent.pop_front();
        }
        if failure.rate_limited {
            let wait = failure
                .retry_after
                .unwrap_or(config.cooldown_base)
                .min(config.retry_after_max);
            state.rate_limited_until = now.checked_add(wait);
        }
        let retry_after = failure
            .retry_after
            .filter(|_| failure.rate_limited)
            .map(|after| after.min(config.retry_after_max));
        match state.breaker {
            Breaker::HalfOpen { .. } => trip(state, &config, now, retry_after),
            _ if retry_after.is_some() => {
                // The upstream said how long: cool for exactly that, without growing.
                let until = retry_after
                    .and_then(|after| now.checked_add(after))
                    .unwrap_or(now);
                let until = match state.breaker {
                    Breaker::Open { until: old } => old.max(until),
                    _ => until,
                };
                state.breaker = Breaker::Open { until };
            }
            Breaker::Closed if state.recent.len() >= config.failures as usize => {
                trip(state, &config, now, None);
            }
            _ => {}
        }
    }

    /// An active health check failed: counts like a failed request, without an attempt.
    pub fn check_failed(&mut self, id: &str, now: Instant, failure: Failure) {
        self.states.entry(id.to_owned()).or_default().in_flight += 1;
        self.record_failure(id, now, failure);
    }

    /// An active health check passed: a cooling deployment gets its probe now instead of at
    /// the end of its cooldown.
    pub fn check_passed(&mut self, id: &str) {
        if let Some(state) = self.states.get_mut(id)
            && matches!(state.breaker, Breaker::Open { .. })
        {
            state.breaker = Breaker::HalfOpen { probing: false };
        }
    }

    /// Ends a cooldown now (admin reset); learnt latency is kept.
    pub fn reset(&mut self, id: &str) -> bool {
        match self.states.get_mut(id) {
            Some(state) => {
                state.breaker = Breaker::Closed;
                state.recent.clear();
                state.trips = 0;
                state.rate_limited_until = None;
                true
            }
            None => false,
        }
    }

    pub fn snapshot(&self, id: &str, now: Instant) -> HealthSnapshot {
        let availability = self.availability(id, now);
        match self.states.get(id) {
            Some(s) => HealthSnapshot {
                availability,
                in_flight: s.in_flight,
                ewma_ttft_ms: s.ewma_ms,
                successes: s.successes,
                failures: s.failures,
                recent_failures: s
                    .recent
                    .iter()
                    .filter(|t| now.saturating_duration_since(**t) < self.config.window)
                    .count(),
                trips: s.trips,
                trips_total: s.trips_total,
                rate_limited_until: s.rate_limited_until.filter(|t| *t > now),
            },
            None => HealthSnapshot {
                availability,
                in_flight: 0,
                ewma_ttft_ms: None,
                successes: 0,
                failures: 0,
                recent_failures: 0,
                trips: 0,
                trips_total: 0,
                rate_limited_until: None,
            },
        }
    }
}

/// Opens the breaker. The cooldown doubles per consecutive trip; a deployment that has not
/// tripped for longer than `cooldown_max + window` starts again from the base.
fn trip(state: &mut State, config: &HealthConfig, now: Instant, at_least: Option<Duration>) {
    let quiet = config.cooldown_max.saturating_add(config.window);
    if state.last_trip.is_some_and(|last| {
        now.saturating_duration_since(last) > quiet.saturating_add(cooldown(config, state.trips))
    }) {
        state.trips = 0;
    }
    state.trips = state.trips.saturating_add(1);
    state.trips_total = state.trips_total.saturating_add(1);
    state.last_trip = Some(now);
    let wait = cooldown(config, state.trips).max(at_least.unwrap_or_default());
    state.breaker = Breaker::Open {
        until: now.checked_add(wait).unwrap_or(now),
    };
    state.recent.clear();
}

fn cooldown(config: &HealthConfig, trips: u32) -> Duration {
    let factor = 1u32
        .checked_shl(trips.saturating_sub(1).min(31))
        .unwrap_or(u32::MAX);
    config
        .cooldown_base
        .saturating_mul(factor)
        .min(config.cooldown_max)
}
