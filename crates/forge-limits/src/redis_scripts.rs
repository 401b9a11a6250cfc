//! The same limits enforced in Redis, for several gateway replicas sharing one view.
//!
//! This module never talks to Redis: it holds the Lua scripts and builds their `KEYS`/`ARGV`
//! and reads their replies, so the server runs them (`EVALSHA`, falling back to `EVAL`) with
//! the connection it already owns. One admission is one script call, atomic across every
//! scope: check all, then reserve all, or refuse with the first failing limit. Settling and
//! streaming share one script; releasing concurrency is a third.
//!
//! # Key layout
//!
//! With the default prefix `forge:rl` and a scope's stable string form (`key:12`, `user:3`,
//! `gkey:<name>`, `model:<name>`, `deployment:<name>`, names percent-escaped):
//!
//! | key | type | content | TTL |
//! |---|---|---|---|
//! | `forge:rl:<scope>:req` | hash | unix second → requests in it | 61 s, refreshed on write |
//! | `forge:rl:<scope>:tok` | hash | unix second → tokens in it | 61 s, refreshed on write |
//! | `forge:rl:<scope>:conc` | zset | lease id → deadline (unix ms) | longest lease, extended on write |
//! | `forge:rl:<scope>:budget:day` | hash | `pid` (days since epoch), `cost`, `tokens` | until UTC midnight |
//! | `forge:rl:<scope>:budget:month` | hash | `pid` (year·12 + month − 1), `cost`, `tokens` | until the 1st, 00:00 UTC |
//! | `forge:rl:<scope>:budget:total` | hash | `pid` (0), `cost`, `tokens` | none |
//!
//! Window hashes drop dead buckets on every admission, leases past their deadline are removed
//! before counting, and day/month budgets expire when their period does, so idle scopes leave
//! nothing behind. `total` budgets have no TTL on purpose — expiring one would silently
//! re-grant a lifetime budget; there is one per configured scope, not per request, and the
//! server should seed them from its usage records when Redis starts empty.
//!
//! # Time
//!
//! Scripts read the clock with `redis.call('TIME')` unless the caller passes a time
//! (`now_ms = Some(..)`). Redis's clock is the default because windows and leases are shared
//! by replicas whose clocks drift: with one clock, a request counted by replica A at second
//! `t` expires for replica B at the same instant. Passing the time is for tests and replays.
//! The time used comes back in the reply and is stored in the ticket, so settling finds the
//! reservation's bucket.
//!
//! # Limits
//!
//! Lua numbers are doubles: counts and nano-dollar amounts are exact up to 2^53 (≈ 9 million
//! dollars per budget). In Redis Cluster every key of one admission must share a slot: put a
//! hash tag in the prefix (`{forge}:rl`).

use std::fmt;

use crate::plan::Plan;
use crate::rejection::{LimitKind, Rejection};
use crate::snapshot::{Gauge, RateSnapshot};
use crate::spec::{BudgetSpec, LimitSpec, Period, Scope};
use crate::ticket::{BudgetHold, Deltas, RateHold, Reservation, Ticket, Usage};

/// Admission: check every limit, reserve all or nothing.
pub const ADMIT_SCRIPT: &str = concat!(
    include_str!("lua/common.lua"),
    "\n",
    include_str!("lua/admit.lua")
);
/// Settle and streaming: true a ticket up to real usage.
pub const SETTLE_SCRIPT: &str = concat!(
    include_str!("lua/common.lua"),
    "\n",
    include_str!("lua/settle.lua")
);
/// Free a ticket's concurrency leases.
pub const RELEASE_SCRIPT: &str = include_str!("lua/release.lua");

pub const DEFAULT_PREFIX: &str = "forge:rl";

/// `(KEYS, ARGV)` for one script call.
pub type ScriptArgs = (Vec<String>, Vec<String>);

/// Names the Redis keys of each scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySpace {
    prefix: String,
}

impl Default for KeySpace {
    fn default() -> Self {
        KeySpace::new(DEFAULT_PREFIX)
    }
}

impl KeySpace {
    pub fn new(prefix: impl Into<String>) -> KeySpace {
        KeySpace {
            prefix: prefix.into(),
        }
    }

    pub fn requests(&self, scope: &Scope) -> String {
        format!("{}:{scope}:req", self.prefix)
    }

    pub fn tokens(&self, scope: &Scope) -> String {
        format!("{}:{scope}:tok", self.prefix)
    }

    pub fn concurrency(&self, scope: &Scope) -> String {
        format!("{}:{scope}:conc", self.prefix)
    }

    pub fn budget(&self, scope: &Scope, period: Period) -> String {
        format!("{}:{scope}:budget:{}", self.prefix, period.as_str())
    }
}

/// A malformed script reply: a script/version mismatch, never a client's fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyError(String);

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unexpected rate-limit script reply: {}", self.0)
    }
}

impl std::error::Error for ReplyError {}

/// One admission, normalised (duplicates merged, empty specs dropped) exactly as the local
/// limiter does, kept to read the reply against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmitPlan {
    plan: Plan,
    lease_id: String,
}

impl AdmitPlan {
    /// `lease_id` names the concurrency lease; it must be unique across replicas (a request id).
    pub fn new(
        limits: &[(Scope, LimitSpec)],
        budgets: &[(Scope, BudgetSpec)],
        reservation: Reservation,
        lease_id: impl Into<String>,
    ) -> AdmitPlan {
        AdmitPlan {
            plan: Plan::new(limits, budgets, reservation),
            lease_id: lease_id.into(),
        }
    }
}

fn opt(n: Option<u64>) -> String {
    n.map_or_else(|| "-1".to_owned(), |n| n.to_string())
}

fn opt_i(n: Option<i64>) -> String {
    n.map_or_else(|| "-1".to_owned(), |n| n.to_string())
}

fn clock(now_ms: Option<u64>) -> String {
    now_ms.unwrap_or(0).to_string()
}

/// `KEYS`/`ARGV` for [`ADMIT_SCRIPT`]. `now_ms: None` uses the Redis clock.
pub fn admit_args(keys: &KeySpace, plan: &AdmitPlan, now_ms: Option<u64>) -> ScriptArgs {
    let p = &plan.plan;
    let r = p.reservation;
    let mut k = Vec::with_capacity(p.rate.len() * 3 + p.budgets.len());
    let mut a = vec![
        clock(now_ms),
        plan.lease_id.clone(),
        r.lease_ms.to_string(),
        r.tokens.to_string(),
        r.budget_tokens.to_string(),
        r.cost_nanos.to_string(),
        p.rate.len().to_string(),
        p.budgets.len().to_string(),
    ];
    for (scope, spec) in &p.rate {
        k.extend([
            keys.requests(scope),
            keys.tokens(scope),
            keys.concurrency(scope),
        ]);
        a.extend([opt(spec.rpm), opt(spec.tpm), opt(spec.concurrency)]);
    }
    for (scope, spec) in &p.budgets {
        k.push(keys.budget(scope, spec.period));
        a.extend([
            spec.period.code().to_string(),
            opt_i(spec.max_cost_nanos),
            opt_i(spec.max_tokens),
        ]);
    }
    (k, a)
}

/// Reads [`ADMIT_SCRIPT`]'s reply: the outer error is a malformed reply, the inner one a
/// refusal for the client.
pub fn parse_admit_reply(
    plan: &AdmitPlan,
    reply: &[i64],
) -> Result<Result<Ticket, Rejection>, ReplyError> {
    let p = &plan.plan;
    let bad = |what: &str| ReplyError(format!("{what} in {reply:?}"));
    let (&status, rest) = reply.split_first().ok_or_else(|| bad("empty reply"))?;
    let (&now, rest) = rest.split_first().ok_or_else(|| bad("missing time"))?;
    let now = u64::try_from(now).map_err(|_| bad("negative time"))?;
    match status {
        1 => {
            let (gauges, pids) =
                split_gauges(rest, p.rate.len()).ok_or_else(|| bad("short gauges"))?;
            if pids.len() != p.budgets.len() {
                return Err(bad("wrong budget count"));
            }
            Ok(Ok(ticket(plan, now, snapshot(p, gauges), pids)))
        }
        0 => {
            let [index, kind, limit, used, requested, retry, gauges @ ..] = rest else {
                return Err(bad("short refusal"));
            };
            let (gauges, extra) =
                split_gauges(gauges, p.rate.len()).ok_or_else(|| bad("short gauges"))?;
            if !extra.is_empty() {
                return Err(bad("trailing values"));
            }
            let i = usize::try_from(*index - 1).map_err(|_| bad("bad index"))?;
            let snap = snapshot(p, gauges);
            let rate_scope = || {
                p.rate
                    .get(i)
                    .map(|(scope, _)| scope)
                    .ok_or_else(|| bad("bad index"))
            };
            let budget = || p.budgets.get(i).ok_or_else(|| bad("bad index"));
            let (scope, kind) = match *kind {
                1 => (rate_scope()?, LimitKind::RequestsPerMinute),
                2 => (rate_scope()?, LimitKind::TokensPerMinute),
                3 => (rate_scope()?, LimitKind::Concurrency),
                4 => budget().map(|(scope, spec)| (scope, LimitKind::SpendBudget(spec.period)))?,
                5 => budget().map(|(scope, spec)| (scope, LimitKind::TokenBudget(spec.period)))?,
                _ => return Err(bad("unknown limit kind")),
            };
            Ok(Err(Rejection {
                scope: scope.clone(),
                kind,
                limit: *limit,
                used: *used,
                requested: *requested,
                retry_after_ms: u64::try_from(*retry).ok(),
                snapshot: Box::new(snap),
            }))
        }
        _ => Err(bad("unknown status")),
    }
}

fn split_gauges(values: &[i64], scopes: usize) -> Option<(&[i64], &[i64])> {
    (values.len() >= scopes * 4).then(|| values.split_at(scopes * 4))
}

fn snapshot(p: &Plan, gauges: &[i64]) -> RateSnapshot {
    let gauge = |limit: Option<u64>, used: i64, reset: i64| {
        let limit = limit?;
        let used = u64::try_from(used).ok()?;
        Some(Gauge {
            limit,
            remaining: limit.saturating_sub(used),
            reset_ms: u64::try_from(reset).unwrap_or(0),
        })
    };
    p.rate
        .iter()
        .zip(gauges.chunks_exact(4))
        .map(|((_, spec), g)| RateSnapshot {
            requests: gauge(spec.rpm, g[0], g[1]),
            tokens: gauge(spec.tpm, g[2], g[3]),
        })
        .fold(RateSnapshot::default(), RateSnapshot::tightest)
}

fn ticket(plan: &AdmitPlan, now: u64, snapshot: RateSnapshot, pids: &[i64]) -> Ticket {
    let p = &plan.plan;
    let r = p.reservation;
    Ticket {
        lease_id: plan.lease_id.clone(),
        admitted_ms: now,
        rate: p
            .rate
            .iter()
            .map(|(scope, spec)| RateHold {
                scope: scope.clone(),
                tokens: spec.tpm.is_some(),
                concurrency: spec.concurrency.is_some(),
            })
            .collect(),
        budgets: p
            .budgets
            .iter()
            .zip(pids)
            .map(|((scope, spec), &pid)| BudgetHold {
                scope: scope.clone(),
                period: spec.period,
                period_id: pid,
            })
            .collect(),
        held_tokens: r.tokens,
        counted_tokens: r.tokens,
        charged_budget_tokens: r.budget_tokens,
        charged_cost_nanos: r.cost_nanos,
        snapshot,
    }
}

/// `KEYS`/`ARGV` for [`SETTLE_SCRIPT`], truing the ticket up to `usage` (totals). The ticket
/// records the new totals at once: if the call then fails, that settle is lost rather than
/// applied twice on a retry.
pub fn settle_args(
    keys: &KeySpace,
    ticket: &mut Ticket,
    now_ms: Option<u64>,
    usage: Usage,
) -> ScriptArgs {
    let d = ticket.true_up(usage);
    settle_call(keys, ticket, now_ms, d, true)
}

/// `KEYS`/`ARGV` for [`SETTLE_SCRIPT`], counting `n` streamed tokens against TPM now.
pub fn add_tokens_args(
    keys: &KeySpace,
    ticket: &mut Ticket,
    now_ms: Option<u64>,
    n: u64,
) -> ScriptArgs {
    let d = ticket.stream(n);
    settle_call(keys, ticket, now_ms, d, false)
}

fn settle_call(
    keys: &KeySpace,
    ticket: &Ticket,
    now_ms: Option<u64>,
    d: Deltas,
    budgets: bool,
) -> ScriptArgs {
    let token_scopes: Vec<&Scope> = ticket
        .rate
        .iter()
        .filter(|h| h.tokens)
        .map(|h| &h.scope)
        .collect();
    let budgets: &[BudgetHold] = if budgets { &ticket.budgets } else { &[] };
    let mut k: Vec<String> = token_scopes.iter().map(|s| keys.tokens(s)).collect();
    k.extend(budgets.iter().map(|b| keys.budget(&b.scope, b.period)));
    let mut a = vec![
        clock(now_ms),
        ticket.admitted_ms.to_string(),
        d.add_tokens.to_string(),
        d.release_tokens.to_string(),
        token_scopes.len().to_string(),
        budgets.len().to_string(),
        d.cost_nanos.to_string(),
        d.budget_tokens.to_string(),
    ];
    a.extend(budgets.iter().map(|b| b.period_id.to_string()));
    (k, a)
}

/// `KEYS`/`ARGV` for [`RELEASE_SCRIPT`]. With no leased scope there is nothing to call:
/// `KEYS` is empty and the server may skip the round trip.
pub fn release_args(keys: &KeySpace, ticket: &Ticket) -> ScriptArgs {
    let k = ticket
        .leased_scopes()
        .map(|s| keys.concurrency(s))
        .collect();
    (k, vec![ticket.lease_id.clone()])
}

#[cfg(test)]
mod tests;
