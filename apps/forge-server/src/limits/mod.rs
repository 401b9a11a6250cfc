//! Admission control: rates, concurrency and budgets per Forge key, user, logical model and
//! deployment. One process counts in memory; with `REDIS_URL`, instances share the counters
//! through one atomic Lua script per admission. A request reserves its estimated tokens
//! (and, for token budgets, `max_tokens`) up front and settles with the real figures, so
//! concurrent requests cannot overshoot a budget.

pub mod charge;
pub mod rules;
pub mod scopes;
pub mod shared;

use std::sync::Arc;

use forge_core::Error;
use forge_limits::{
    BudgetSpec, LimitSpec, LocalLimiter, Rejection, Reservation, Scope, Ticket, Usage,
};
use forge_router::config::{LimitsConfig, OnRedisFailure};

use crate::limits::shared::SharedLimiter;

/// Where a ticket was issued, so it is settled and released in the same place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Issuer {
    Local,
    Redis,
}

pub struct Limits {
    local: LocalLimiter,
    shared: Option<SharedLimiter>,
}

/// What an admission refused.
pub enum Refused {
    Over(Rejection),
    /// The shared limiter is unreachable and the configuration says fail closed.
    Unavailable,
}

pub struct Admitted {
    pub ticket: Ticket,
    pub issuer: Issuer,
}

impl Limits {
    pub fn new(shared: Option<SharedLimiter>) -> Limits {
        Limits {
            local: LocalLimiter::new(),
            shared,
        }
    }

    pub fn shared(&self) -> Option<&SharedLimiter> {
        self.shared.as_ref()
    }

    /// Checks and reserves across every scope at once (all or nothing).
    pub async fn admit(
        &self,
        config: &LimitsConfig,
        limits: &[(Scope, LimitSpec)],
        budgets: &[(Scope, BudgetSpec)],
        reservation: Reservation,
        lease_id: &str,
    ) -> Result<Admitted, Refused> {
        if let Some(shared) = &self.shared {
            match shared.admit(limits, budgets, reservation, lease_id).await {
                Ok(Ok(ticket)) => {
                    return Ok(Admitted {
                        ticket,
                        issuer: Issuer::Redis,
                    });
                }
                Ok(Err(rejection)) => return Err(Refused::Over(rejection)),
                Err(e) => {
                    tracing::warn!(error = %e, "shared limiter unreachable");
                    let budgets_closed = !budgets.is_empty()
                        && config.budgets_on_redis_failure == OnRedisFailure::FailClosed;
                    let rates_closed = !limits.is_empty()
                        && config.rates_on_redis_failure == OnRedisFailure::FailClosed;
                    if budgets_closed || rates_closed {
                        return Err(Refused::Unavailable);
                    }
                    let share = u64::from(config.expected_instances.max(1));
                    let divided: Vec<(Scope, LimitSpec)> = limits
                        .iter()
                        .map(|(scope, spec)| (scope.clone(), divide(*spec, share)))
                        .collect();
                    return self.admit_local(&divided, budgets, reservation);
                }
            }
        }
        self.admit_local(limits, budgets, reservation)
    }

    fn admit_local(
        &self,
        limits: &[(Scope, LimitSpec)],
        budgets: &[(Scope, BudgetSpec)],
        reservation: Reservation,
    ) -> Result<Admitted, Refused> {
        self.local
            .admit(now_ms(), limits, budgets, reservation)
            .map(|ticket| Admitted {
                ticket,
                issuer: Issuer::Local,
            })
            .map_err(Refused::Over)
    }

    /// Trues the ticket up to the request's real totals so far.
    pub fn settle(self: &Arc<Self>, issuer: Issuer, ticket: &mut Ticket, usage: Usage) {
        match (issuer, &self.shared) {
            (Issuer::Redis, Some(shared)) => shared.settle(ticket, usage),
            _ => self.local.settle(now_ms(), ticket, usage),
        }
    }

    /// Counts `n` streamed tokens against the ticket's TPM windows now.
    pub fn add_tokens(self: &Arc<Self>, issuer: Issuer, ticket: &mut Ticket, n: u64) {
        match (issuer, &self.shared) {
            (Issuer::Redis, Some(shared)) => shared.add_tokens(ticket, n),
            _ => self.local.add_tokens(now_ms(), ticket, n),
        }
    }

    /// Frees the ticket's concurrency slots.
    pub fn release(self: &Arc<Self>, issuer: Issuer, ticket: Ticket) {
        match (issuer, &self.shared) {
            (Issuer::Redis, Some(shared)) => shared.release(ticket),
            _ => self.local.release(ticket),
        }
    }
}

fn divide(spec: LimitSpec, share: u64) -> LimitSpec {
    let part = |n: Option<u64>| n.map(|n| (n / share).max(1));
    LimitSpec {
        rpm: part(spec.rpm),
        tpm: part(spec.tpm),
        concurrency: part(spec.concurrency),
    }
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The client's error for a refusal: 429 with what was exceeded, or 503.
pub fn refusal_error(refused: &Refused) -> Error {
    match refused {
        Refused::Unavailable => Error::Limited {
            status: 503,
            message: "The rate limiter is unavailable; try again shortly".into(),
            retry_after: Some(1),
            error_type: "server_error".into(),
            code: "limiter_unavailable".into(),
        },
        Refused::Over(r) => {
            let (message, error_type, code) = if r.kind.is_budget() {
                (
                    format!(
                        "Budget exceeded: the {} of {} is used up",
                        describe(r.kind),
                        owner(&r.scope)
                    ),
                    "insufficient_quota",
                    "insufficient_quota",
                )
            } else {
                (
                    format!(
                        "Rate limit reached for {}: {} (limit {}, used {})",
                        owner(&r.scope),
                        describe(r.kind),
                        r.limit,
                        r.used
                    ),
                    if r.kind == forge_limits::LimitKind::TokensPerMinute {
                        "tokens"
                    } else {
                        "requests"
                    },
                    "rate_limit_exceeded",
                )
            };
            Error::Limited {
                status: 429,
                message,
                retry_after: r.retry_after_secs(),
                error_type: error_type.into(),
                code: code.into(),
            }
        }
    }
}

fn describe(kind: forge_limits::LimitKind) -> String {
    use forge_limits::LimitKind as K;
    match kind {
        K::RequestsPerMinute => "requests per minute".into(),
        K::TokensPerMinute => "tokens per minute".into(),
        K::Concurrency => "concurrent requests".into(),
        K::SpendBudget(p) => format!("{} spend budget", period(p)),
        K::TokenBudget(p) => format!("{} token budget", period(p)),
    }
}

fn period(p: forge_limits::Period) -> &'static str {
    match p {
        forge_limits::Period::Day => "daily",
        forge_limits::Period::Month => "monthly",
        forge_limits::Period::Total => "total",
    }
}

fn owner(scope: &Scope) -> String {
    match scope {
        Scope::ForgeKey(_) => "this API key".into(),
        Scope::User(_) => "your account".into(),
        Scope::GatewayKey(_) => "this API key".into(),
        Scope::Model(m) => format!("model '{m}'"),
        Scope::Deployment(d) => format!("deployment '{d}'"),
    }
}
