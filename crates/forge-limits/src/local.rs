//! The in-process limiter: one gateway replica, exact, no network.
//!
//! Everything happens under one mutex, so admission across scopes is all-or-nothing by
//! construction: every limit is checked before anything is counted, and a refusal leaves no
//! trace (the "rollback" is never needing one). The lock is held for microseconds — sixty
//! buckets per scope at most — which is cheaper than per-scope locks that would need ordering
//! to avoid deadlock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::budget::BudgetCounter;
use crate::concurrency::Leases;
use crate::period::period_end_ms;
use crate::plan::Plan;
use crate::rejection::Rejection;
use crate::snapshot::RateSnapshot;
use crate::spec::{BudgetSpec, LimitSpec, Period, Scope};
use crate::ticket::{BudgetHold, Deltas, RateHold, Reservation, Ticket, Usage};
use crate::window::Window;

#[derive(Debug, Default)]
pub struct LocalLimiter {
    state: Mutex<State>,
    next_lease: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    scopes: HashMap<Scope, ScopeState>,
    budgets: HashMap<(Scope, Period), BudgetCounter>,
}

#[derive(Debug, Default)]
struct ScopeState {
    window: Window,
    leases: Leases,
}

impl LocalLimiter {
    pub fn new() -> LocalLimiter {
        LocalLimiter::default()
    }

    /// Admits one request against every limit and budget given, or refuses with the first
    /// that does not fit and counts nothing.
    pub fn admit(
        &self,
        now_ms: u64,
        limits: &[(Scope, LimitSpec)],
        budgets: &[(Scope, BudgetSpec)],
        reservation: Reservation,
    ) -> Result<Ticket, Rejection> {
        let plan = Plan::new(limits, budgets, reservation);
        let lease_id = format!("local-{}", self.next_lease.fetch_add(1, Ordering::Relaxed));
        let mut st = self.lock();
        st.prepare(&plan, now_ms);
        st.check(&plan, now_ms)?;
        Ok(st.commit(plan, now_ms, lease_id))
    }

    /// Counts streamed output tokens against TPM as they arrive.
    pub fn add_tokens(&self, now_ms: u64, ticket: &mut Ticket, n: u64) {
        let d = ticket.stream(n);
        self.lock().apply(ticket, now_ms, d);
    }

    /// Trues the ticket up to the request's real totals: adds what exceeded the reservation,
    /// gives back what it over-reserved. Idempotent for the same figures.
    pub fn settle(&self, now_ms: u64, ticket: &mut Ticket, usage: Usage) {
        let d = ticket.true_up(usage);
        self.lock().apply(ticket, now_ms, d);
    }

    /// Frees the ticket's concurrency slots.
    pub fn release(&self, ticket: Ticket) {
        let mut st = self.lock();
        for scope in ticket.leased_scopes() {
            if let Some(s) = st.scopes.get_mut(scope) {
                s.leases.release(&ticket.lease_id);
            }
        }
    }

    /// `settle` then `release`: the usual end of a request.
    pub fn finish(&self, now_ms: u64, mut ticket: Ticket, usage: Usage) {
        self.settle(now_ms, &mut ticket, usage);
        self.release(ticket);
    }

    /// The tightest gauges for these limits right now, without admitting anything.
    pub fn snapshot(&self, now_ms: u64, limits: &[(Scope, LimitSpec)]) -> RateSnapshot {
        let plan = Plan::new(limits, &[], Reservation::default());
        self.lock().snapshot(&plan, now_ms)
    }

    /// Spend and tokens counted against a budget in the period containing `now_ms`.
    pub fn budget_used(&self, now_ms: u64, scope: &Scope, period: Period) -> (i64, i64) {
        let st = self.lock();
        let Some(c) = st.budgets.get(&(scope.clone(), period)) else {
            return (0, 0);
        };
        let mut c = *c;
        c.roll(period, now_ms);
        (c.cost_nanos, c.tokens)
    }

    /// Drops state that no longer limits anyone: empty windows without leases and budgets of
    /// ended periods. Call it now and then; `Total` budgets are kept for the process's life.
    pub fn sweep(&self, now_ms: u64) {
        let mut st = self.lock();
        st.scopes.retain(|_, s| {
            s.leases.purge(now_ms);
            !(s.window.is_idle(now_ms) && s.leases.is_empty())
        });
        st.budgets.retain(|(_, period), c| {
            period_end_ms(*period, c.period_id).is_none_or(|end| end > now_ms)
        });
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is plain counters; a panic elsewhere cannot leave them unusable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn tokens_for(spec: &LimitSpec, reservation: &Reservation) -> u64 {
    if spec.tpm.is_some() {
        reservation.tokens
    } else {
        0
    }
}

impl State {
    fn prepare(&mut self, plan: &Plan, now_ms: u64) {
        for (scope, _) in &plan.rate {
            self.scopes
                .entry(scope.clone())
                .or_default()
                .leases
                .purge(now_ms);
        }
        for (scope, spec) in &plan.budgets {
            self.budgets
                .entry((scope.clone(), spec.period))
                .or_default()
                .roll(spec.period, now_ms);
        }
    }

    fn check(&self, plan: &Plan, now_ms: u64) -> Result<(), Rejection> {
        let res = &plan.reservation;
        for (scope, spec) in &plan.rate {
            let Some(s) = self.scopes.get(scope) else {
                continue;
            };
            let requests = u64::from(spec.rpm.is_some());
            if let Err(d) = s
                .window
                .check(now_ms, spec, requests, tokens_for(spec, res))
            {
                return Err(Rejection::from_window(
                    scope,
                    d,
                    self.snapshot(plan, now_ms),
                ));
            }
            if let Some(limit) = spec.concurrency
                && !s.leases.has_room(limit)
            {
                return Err(Rejection::concurrency(
                    scope,
                    limit,
                    s.leases.held(),
                    self.snapshot(plan, now_ms),
                ));
            }
        }
        for (scope, spec) in &plan.budgets {
            let Some(c) = self.budgets.get(&(scope.clone(), spec.period)) else {
                continue;
            };
            if let Err(d) = c.check(spec, now_ms, res.cost_nanos, res.budget_tokens) {
                return Err(Rejection::from_budget(
                    scope,
                    spec.period,
                    d,
                    self.snapshot(plan, now_ms),
                ));
            }
        }
        Ok(())
    }

    fn commit(&mut self, plan: Plan, now_ms: u64, lease_id: String) -> Ticket {
        let res = plan.reservation;
        let mut rate = Vec::with_capacity(plan.rate.len());
        for (scope, spec) in &plan.rate {
            let s = self.scopes.entry(scope.clone()).or_default();
            s.window.commit(
                now_ms,
                u64::from(spec.rpm.is_some()),
                tokens_for(spec, &res),
            );
            if spec.concurrency.is_some() {
                s.leases.acquire(&lease_id, now_ms, res.lease_ms);
            }
            rate.push(RateHold {
                scope: scope.clone(),
                tokens: spec.tpm.is_some(),
                concurrency: spec.concurrency.is_some(),
            });
        }
        let mut budgets = Vec::with_capacity(plan.budgets.len());
        for (scope, spec) in &plan.budgets {
            let c = self
                .budgets
                .entry((scope.clone(), spec.period))
                .or_default();
            c.charge(res.cost_nanos, res.budget_tokens);
            budgets.push(BudgetHold {
                scope: scope.clone(),
                period: spec.period,
                period_id: c.period_id,
            });
        }
        Ticket {
            lease_id,
            admitted_ms: now_ms,
            rate,
            budgets,
            held_tokens: res.tokens,
            counted_tokens: res.tokens,
            charged_budget_tokens: res.budget_tokens,
            charged_cost_nanos: res.cost_nanos,
            snapshot: self.snapshot(&plan, now_ms),
        }
    }

    fn apply(&mut self, ticket: &Ticket, now_ms: u64, d: Deltas) {
        for hold in ticket.rate.iter().filter(|h| h.tokens) {
            let Some(s) = self.scopes.get_mut(&hold.scope) else {
                continue;
            };
            s.window.add_tokens(now_ms, d.add_tokens);
            s.window
                .release_tokens(now_ms, ticket.admitted_ms, d.release_tokens);
        }
        if d.cost_nanos == 0 && d.budget_tokens == 0 {
            return;
        }
        for hold in &ticket.budgets {
            if let Some(c) = self.budgets.get_mut(&(hold.scope.clone(), hold.period))
                && c.period_id == hold.period_id
            {
                c.charge(d.cost_nanos, d.budget_tokens);
            }
        }
    }

    fn snapshot(&self, plan: &Plan, now_ms: u64) -> RateSnapshot {
        let empty = Window::new();
        plan.rate
            .iter()
            .map(|(scope, spec)| {
                self.scopes
                    .get(scope)
                    .map_or(&empty, |s| &s.window)
                    .snapshot(now_ms, spec)
            })
            .fold(RateSnapshot::default(), RateSnapshot::tightest)
    }
}
