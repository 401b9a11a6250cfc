//! Which failures are worth another attempt, how long to wait, and where to try next.
//!
//! A [`Plan`] is a small state machine rather than an iterator because the next step depends
//! on how the last attempt failed (its class and `retry-after`). It never decides that an
//! attempt that already started answering is retried: the caller stops asking once a
//! response is committed.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use forge_core::{Error, TimeoutPhase};
use rand::{Rng, RngExt};

use crate::table::Route;

/// Per-model retry settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Extra attempts on the same deployment before moving on.
    pub retries: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Attempts per client request across deployments and fallbacks.
    pub max_attempts: u32,
    /// No attempt starts after this much time since the request arrived.
    pub deadline: Option<Duration>,
    /// A content refusal moves on to the fallback models (never to another deployment).
    pub fallback_on_refusal: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 0,
            backoff_base: Duration::from_millis(200),
            backoff_max: Duration::from_secs(5),
            max_attempts: 4,
            deadline: None,
            fallback_on_refusal: false,
        }
    }
}

/// What a failed attempt means for the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Another attempt may succeed; wait at least `retry_after` before the same deployment.
    Retry { retry_after: Option<Duration> },
    /// The request itself is at fault (or the upstream already answered): no retry anywhere.
    Stop,
}

/// Retryable: connection errors, timeouts before the first byte, 429, 500, 502, 503, 504 and
/// 529. Everything else (400, 401, 403, 404, 413, 422, refusals, idle timeouts after the
/// upstream started answering) stops.
pub fn classify(error: &Error) -> Verdict {
    match error {
        Error::Upstream {
            status: 429 | 500 | 502 | 503 | 504 | 529,
            retry_after,
            ..
        } => Verdict::Retry {
            retry_after: retry_after.map(Duration::from_secs),
        },
        Error::UpstreamUnreachable { .. }
        | Error::UpstreamTimeout {
            phase: TimeoutPhase::Connect | TimeoutPhase::FirstByte,
            ..
        } => Verdict::Retry { retry_after: None },
        _ => Verdict::Stop,
    }
}

/// Exponential backoff with full jitter (uniform in `[0, min(max, base * 2^retry)]`), but
/// never shorter than the upstream's `retry-after`.
pub fn backoff<R: Rng + ?Sized>(
    policy: &RetryPolicy,
    retry: u32,
    retry_after: Option<Duration>,
    rng: &mut R,
) -> Duration {
    let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
    let ceiling = policy
        .backoff_base
        .saturating_mul(factor)
        .min(policy.backoff_max);
    let jitter = ceiling.mul_f64(rng.random::<f64>());
    retry_after.map_or(jitter, |after| jitter.max(after))
}

/// One upstream attempt to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The logical model this attempt serves (the primary or a fallback).
    pub route: String,
    /// Index into the routing table's deployments.
    pub deployment: usize,
    /// Wait this long before sending.
    pub delay: Duration,
    /// 1-based attempt number within the client request.
    pub number: u32,
    /// The deployment's stable id (filled by the router; empty from a bare [`Plan`]).
    pub id: String,
}

#[derive(Debug, Clone)]
struct Stage {
    route: String,
    policy: RetryPolicy,
    candidates: Vec<usize>,
    position: usize,
    retries_used: u32,
}

/// The attempt sequence of one client request: the current deployment up to `retries` more
/// times, then the next candidate, then each fallback model's candidates, within the
/// primary model's attempt budget and deadline.
#[derive(Debug, Clone)]
pub struct Plan {
    deadline: Option<Instant>,
    max_attempts: u32,
    attempts: u32,
    stage: Option<Stage>,
    fallbacks: VecDeque<String>,
    stopped: bool,
    /// The last attempt's deployment accepted the request (answered 2xx): never resend there.
    accepted: bool,
    primary: String,
}

/// Supplies a fallback model's retry policy and ordered candidates when the plan reaches it.
pub type Candidates<'a, R> = dyn FnMut(&str, &mut R) -> Option<(RetryPolicy, Vec<usize>)> + 'a;

impl Plan {
    /// `candidates` are the primary route's deployments, already ordered by strategy and
    /// health; `fallbacks` are the models to try after them, in order.
    pub fn new(
        route: &Route,
        candidates: Vec<usize>,
        fallbacks: Vec<String>,
        now: Instant,
    ) -> Plan {
        Plan {
            deadline: route.retry.deadline.and_then(|d| now.checked_add(d)),
            max_attempts: route.retry.max_attempts.max(1),
            attempts: 0,
            stage: Some(Stage {
                route: route.name.clone(),
                policy: route.retry,
                candidates,
                position: 0,
                retries_used: 0,
            }),
            fallbacks: fallbacks.into(),
            stopped: false,
            accepted: false,
            primary: route.name.clone(),
        }
    }

    /// The logical model the plan started from.
    pub fn route_name(&self) -> &str {
        &self.primary
    }

    /// Attempts handed out so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The current deployment already accepted the request (its answer broke before any
    /// content): the next attempt, if any, goes to another deployment, never this one again.
    pub fn accepted(&mut self) {
        self.accepted = true;
    }

    /// The next attempt, or `None` when the request should fail with `last`.
    ///
    /// `last` is the error of the previous attempt; `None` on the first call, or later to
    /// skip the current deployment without blaming it (e.g. a local rate limit).
    pub fn next<R: Rng + ?Sized>(
        &mut self,
        last: Option<&Error>,
        now: Instant,
        rng: &mut R,
        more: &mut Candidates<'_, R>,
    ) -> Option<Attempt> {
        self.next_with(last, now, rng, more, &|_| false)
    }

    /// [`Plan::next`], but a deployment for which `cooling` is true is not retried: the
    /// plan moves to the next candidate instead of waiting on a deployment just ejected.
    pub fn next_with<R: Rng + ?Sized>(
        &mut self,
        last: Option<&Error>,
        now: Instant,
        rng: &mut R,
        more: &mut Candidates<'_, R>,
        cooling: &dyn Fn(usize) -> bool,
    ) -> Option<Attempt> {
        if self.stopped
            || self.attempts >= self.max_attempts
            || self.past_deadline(now, Duration::ZERO)
        {
            return None;
        }
        let first = self.attempts == 0;
        let accepted = std::mem::take(&mut self.accepted);
        let mut delay = Duration::ZERO;
        match (first, last.map(classify)) {
            (true, _) => {}
            (false, Some(Verdict::Stop))
                if last.is_some_and(Error::is_content_refusal)
                    && self
                        .stage
                        .as_ref()
                        .is_some_and(|s| s.policy.fallback_on_refusal) =>
            {
                // Straight to the fallbacks: this model's other deployments would refuse too.
                self.stage = None;
            }
            (false, Some(Verdict::Stop)) => {
                self.stopped = true;
                return None;
            }
            (false, Some(Verdict::Retry { .. })) if accepted => self.advance(),
            (false, Some(Verdict::Retry { retry_after })) => {
                match self.same_deployment_delay(retry_after, now, rng, cooling) {
                    Some(wait) => {
                        delay = wait;
                        if let Some(stage) = &mut self.stage {
                            stage.retries_used += 1;
                        }
                    }
                    None => self.advance(),
                }
            }
            (false, None) => self.advance(),
        }
        let (route, deployment) = loop {
            let stage = match &self.stage {
                Some(stage) => stage,
                None => {
                    let name = self.fallbacks.pop_front()?;
                    if let Some((policy, candidates)) = more(&name, rng) {
                        self.stage = Some(Stage {
                            route: name,
                            policy,
                            candidates,
                            position: 0,
                            retries_used: 0,
                        });
                    }
                    continue;
                }
            };
            match stage.candidates.get(stage.position) {
                Some(&deployment) => break (stage.route.clone(), deployment),
                None => self.stage = None,
            }
        };
        self.attempts += 1;
        Some(Attempt {
            route,
            deployment,
            delay,
            number: self.attempts,
            id: String::new(),
        })
    }

    /// The wait before retrying the current deployment, or `None` to move on: its retries
    /// are spent, it is cooling down, its `retry-after` is longer than the backoff cap, or the wait would cross
    /// the deadline.
    fn same_deployment_delay<R: Rng + ?Sized>(
        &self,
        retry_after: Option<Duration>,
        now: Instant,
        rng: &mut R,
        cooling: &dyn Fn(usize) -> bool,
    ) -> Option<Duration> {
        let stage = self.stage.as_ref()?;
        if stage.retries_used >= stage.policy.retries
            || stage
                .candidates
                .get(stage.position)
                .is_some_and(|&d| cooling(d))
        {
            return None;
        }
        if retry_after.is_some_and(|after| after > stage.policy.backoff_max) {
            return None;
        }
        let delay = backoff(&stage.policy, stage.retries_used, retry_after, rng);
        (!self.past_deadline(now, delay)).then_some(delay)
    }

    fn advance(&mut self) {
        if let Some(stage) = &mut self.stage {
            stage.position += 1;
            stage.retries_used = 0;
        }
    }

    fn past_deadline(&self, now: Instant, wait: Duration) -> bool {
        self.deadline
            .is_some_and(|deadline| now.checked_add(wait).is_none_or(|at| at >= deadline))
    }
}
