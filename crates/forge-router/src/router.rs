//! The routing state of one gateway process: the table plus what it has learnt.
//!
//! The server holds one `Router` behind a lock and, per request: `plan` → `next_attempt` →
//! `started` → one of `succeeded` / `failed` / `released` → `next_attempt` again on failure
//! (until it returns `None` or the response is committed). Time and randomness come in as
//! parameters, so the same calls drive tests with explicit instants and seeded generators.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use forge_core::Error;
use rand::Rng;

use crate::config::{ModelTimeouts, RoutingConfig};
use crate::health::{Availability, Failure, HealthBook, HealthConfig};
use crate::retry::{Attempt, Plan, RetryPolicy};
use crate::sticky::Sessions;
use crate::strategy::{Scored, order};
use crate::table::{Route, RoutingTable};

/// One deployment as `decide` reports it (admin: "where would this request go now").
#[derive(Debug, Clone, PartialEq)]
pub struct CandidateView {
    pub deployment: usize,
    pub id: String,
    pub availability: Availability,
    pub weight: u32,
    pub priority: u32,
    pub in_flight: u32,
    pub latency_ms: Option<f64>,
    /// Whether the request's session is bound here.
    pub sticky: bool,
}

/// One request's attempt sequence, bound to the table snapshot it was planned on.
#[derive(Debug, Clone)]
pub struct RequestPlan {
    pub plan: Plan,
    table: Arc<RoutingTable>,
    /// Timeouts of the route the latest attempt serves (a fallback may have its own).
    pub timeouts: ModelTimeouts,
}

impl RequestPlan {
    pub fn table(&self) -> &Arc<RoutingTable> {
        &self.table
    }

    pub fn attempts(&self) -> u32 {
        self.plan.attempts()
    }
}

/// The candidates of a request in the order they would be tried, then the excluded ones.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub route: String,
    pub candidates: Vec<CandidateView>,
    pub excluded: Vec<CandidateView>,
    pub fallbacks: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Router {
    table: Arc<RoutingTable>,
    health: HealthBook,
    sessions: Sessions,
    cursors: HashMap<String, usize>,
    exploration: f64,
}

impl Router {
    pub fn new(table: Arc<RoutingTable>, routing: &RoutingConfig) -> Router {
        Router {
            table,
            health: HealthBook::new(HealthConfig::from(routing)),
            sessions: Sessions::new(
                Duration::from_millis(routing.session_ttl_ms),
                routing.max_sessions,
            ),
            cursors: HashMap::new(),
            exploration: routing.exploration,
        }
    }

    pub fn table(&self) -> &Arc<RoutingTable> {
        &self.table
    }

    /// Swaps in a new table; health of deployments that still exist (same id) is kept, and
    /// plans already handed out keep their deployment indices valid only against the old
    /// table, so the server should finish them with the `Arc` it started with.
    pub fn reload(&mut self, table: Arc<RoutingTable>, routing: &RoutingConfig) {
        self.health.set_config(HealthConfig::from(routing));
        self.health
            .retain(|id| table.deployment_by_id(id).is_some());
        self.exploration = routing.exploration;
        self.cursors.retain(|name, _| table.resolve(name).is_some());
        self.table = table;
    }

    /// The route for a request's `model` (or the default model when it names none).
    pub fn route(&self, model: Option<&str>) -> Result<&Route, Error> {
        resolve(&self.table, model)
    }

    /// Starts the attempt sequence for one request. The plan keeps the table it was made
    /// from, so a reload mid-request cannot point its attempts at other deployments.
    pub fn plan<R: Rng + ?Sized>(
        &mut self,
        model: Option<&str>,
        session: Option<&str>,
        now: Instant,
        rng: &mut R,
    ) -> Result<RequestPlan, Error> {
        let table = Arc::clone(&self.table);
        let route = resolve(&table, model)?;
        let candidates = self.ordered(&table, route, session, now, rng, true);
        let plan = Plan::new(route, candidates, fallback_chain(&table, route), now);
        Ok(RequestPlan {
            timeouts: route.timeouts.clone(),
            plan,
            table,
        })
    }

    /// The next attempt of `plan` after `last` failed (or the first, with `None`).
    pub fn next_attempt<R: Rng + ?Sized>(
        &mut self,
        plan: &mut RequestPlan,
        last: Option<&Error>,
        session: Option<&str>,
        now: Instant,
        rng: &mut R,
    ) -> Option<Attempt> {
        let table = Arc::clone(&plan.table);
        // Health as of now, so a deployment ejected by the last failure is not retried.
        let cooling: Vec<bool> = table
            .deployments()
            .iter()
            .map(|d| !self.health.availability(&d.id, now).usable())
            .collect();
        let cooling = |d: usize| cooling.get(d).copied().unwrap_or(false);
        let mut more = |name: &str, rng: &mut R| -> Option<(RetryPolicy, Vec<usize>)> {
            let route = table.resolve(name)?;
            Some((
                route.retry,
                self.ordered(&table, route, session, now, rng, true),
            ))
        };
        let mut attempt = plan.plan.next_with(last, now, rng, &mut more, &cooling)?;
        let deployment = table.deployment(attempt.deployment)?;
        attempt.id = deployment.id.clone();
        if let Some(route) = table.resolve(&attempt.route) {
            plan.timeouts = route.timeouts.clone();
        }
        Some(attempt)
    }

    /// An attempt on deployment `id` is being sent.
    pub fn started(&mut self, id: &str, now: Instant) {
        self.health.started(id, now);
    }

    /// The attempt produced its first content after `ttft` and is finished; the session
    /// sticks to it.
    pub fn succeeded(&mut self, id: &str, now: Instant, ttft: Duration, session: Option<&str>) {
        self.first_content(id, now, ttft, session);
        self.health.released(id);
    }

    /// The attempt produced its first content and goes on streaming: it stays in flight
    /// until `released` (clean end) or `failed` (broke mid-stream).
    pub fn first_content(&mut self, id: &str, now: Instant, ttft: Duration, session: Option<&str>) {
        self.health.first_content(id, now, ttft);
        if let Some(session) = session {
            self.sessions.bind(session, id, now);
        }
    }

    pub fn failed(&mut self, id: &str, now: Instant, error: &Error) {
        self.health.failed(id, now, error);
    }

    /// The attempt ended without saying anything (more) about the deployment.
    pub fn released(&mut self, id: &str) {
        self.health.released(id);
    }

    /// An active health check of deployment `id` failed; any error counts, since a key that
    /// fails its listing (even with 401) will fail requests too.
    pub fn check_failed(&mut self, id: &str, now: Instant, error: &Error) {
        let failure = Failure::from_error(error).unwrap_or(Failure {
            rate_limited: false,
            retry_after: None,
        });
        self.health.check_failed(id, now, failure);
    }

    /// An active health check of deployment `id` passed.
    pub fn check_passed(&mut self, id: &str) {
        self.health.check_passed(id);
    }

    pub fn health(&self) -> &HealthBook {
        &self.health
    }

    /// Ends a deployment's cooldown (admin); false if it has no health record.
    pub fn reset_deployment(&mut self, id: &str) -> bool {
        self.health.reset(id)
    }

    /// Drops a stickiness binding (admin).
    pub fn drop_session(&mut self, session: &str) -> bool {
        self.sessions.remove(session)
    }

    /// Where a request would go now, without changing any state (the round-robin cursor is
    /// read, not advanced).
    pub fn decide<R: Rng + ?Sized>(
        &mut self,
        model: Option<&str>,
        session: Option<&str>,
        now: Instant,
        rng: &mut R,
    ) -> Result<Decision, Error> {
        let table = Arc::clone(&self.table);
        let route = resolve(&table, model)?;
        let ordered = self.ordered(&table, route, session, now, rng, false);
        let bound = session.and_then(|s| self.sessions.get(s, now));
        let view = |deployment: usize| -> Option<CandidateView> {
            let d = table.deployment(deployment)?;
            let target = route.targets.iter().find(|t| t.deployment == deployment)?;
            Some(CandidateView {
                deployment,
                id: d.id.clone(),
                availability: self.health.availability(&d.id, now),
                weight: target.weight,
                priority: target.priority,
                in_flight: self.health.in_flight(&d.id),
                latency_ms: self.health.latency_ms(&d.id),
                sticky: bound == Some(d.id.as_str()),
            })
        };
        let candidates: Vec<CandidateView> = ordered.iter().filter_map(|&d| view(d)).collect();
        let excluded = route
            .targets
            .iter()
            .filter(|t| !ordered.contains(&t.deployment))
            .filter_map(|t| view(t.deployment))
            .collect();
        Ok(Decision {
            route: route.name.clone(),
            candidates,
            excluded,
            fallbacks: fallback_chain(&table, route),
        })
    }

    /// The route's usable deployments in the order to try them: cooled ones left out (but
    /// never more than `max_ejected_share` of them), ordered by strategy, the session's
    /// deployment first when it is among them.
    fn ordered<R: Rng + ?Sized>(
        &mut self,
        table: &RoutingTable,
        route: &Route,
        session: Option<&str>,
        now: Instant,
        rng: &mut R,
        advance: bool,
    ) -> Vec<usize> {
        let ids: Vec<&str> = route
            .targets
            .iter()
            .map(|t| table.deployment(t.deployment).map_or("", |d| d.id.as_str()))
            .collect();
        let availability: Vec<Availability> = ids
            .iter()
            .map(|id| self.health.availability(id, now))
            .collect();
        let mut admitted: Vec<bool> = availability.iter().map(|a| a.usable()).collect();
        let max_ejected =
            (route.max_ejected_share.clamp(0.0, 1.0) * route.targets.len() as f64).floor() as usize;
        let mut ejected: Vec<(Instant, usize)> = availability
            .iter()
            .enumerate()
            .filter(|(_, a)| !a.usable())
            .map(|(i, a)| match a {
                Availability::Cooling { until } => (*until, i),
                _ => (now, i),
            })
            .collect();
        if ejected.len() > max_ejected {
            // Readmit the ones closest to the end of their cooldown.
            ejected.sort();
            for &(_, i) in ejected.iter().take(ejected.len() - max_ejected) {
                admitted[i] = true;
            }
        }
        let scored: Vec<Scored> = route
            .targets
            .iter()
            .zip(&ids)
            .zip(&admitted)
            .filter(|(_, admitted)| **admitted)
            .map(|((t, id), _)| Scored {
                deployment: t.deployment,
                weight: t.weight,
                priority: t.priority,
                in_flight: self.health.in_flight(id),
                latency_ms: self.health.latency_ms(id),
                rate_limited: self.health.rate_limited(id, now),
            })
            .collect();
        let mut scratch = self.cursors.get(&route.name).copied().unwrap_or(0);
        let mut out = order(route.strategy, &scored, &mut scratch, self.exploration, rng);
        if advance {
            self.cursors.insert(route.name.clone(), scratch);
        }
        if let Some(bound) = session.and_then(|s| self.sessions.get(s, now))
            && let Some(pos) = out
                .iter()
                .position(|&d| table.deployment(d).is_some_and(|d| d.id == bound))
        {
            let sticky = out.remove(pos);
            out.insert(0, sticky);
        }
        out
    }
}

fn resolve<'t>(table: &'t RoutingTable, model: Option<&str>) -> Result<&'t Route, Error> {
    match model {
        Some(name) => table.resolve(name).ok_or_else(|| Error::ModelNotFound {
            model: name.to_owned(),
        }),
        None => table
            .default_route()
            .ok_or_else(|| Error::invalid("you must provide a model parameter")),
    }
}

/// Fallback models in the order to try them: the route's own, then theirs, each once.
fn fallback_chain(table: &RoutingTable, route: &Route) -> Vec<String> {
    let mut seen: HashSet<&str> = HashSet::from([route.name.as_str()]);
    let mut queue: VecDeque<&str> = route.fallbacks.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    while let Some(name) = queue.pop_front() {
        if !seen.insert(name) {
            continue;
        }
        if let Some(next) = table.resolve(name) {
            out.push(name.to_owned());
            queue.extend(next.fallbacks.iter().map(String::as_str));
        }
    }
    out
}
