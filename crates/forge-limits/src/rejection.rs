//! Why a request was refused, in the terms a 429 response needs.

use std::fmt;

use crate::budget::{BudgetDenied, BudgetDimension};
use crate::snapshot::RateSnapshot;
use crate::spec::{Period, Scope};
use crate::window::{Denied, Dimension};

/// How long a client refused for concurrency should wait: nothing says when a slot frees, and
/// most requests finish within seconds, so a short hint beats the lease deadline.
pub const CONCURRENCY_RETRY_MS: u64 = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    RequestsPerMinute,
    TokensPerMinute,
    Concurrency,
    SpendBudget(Period),
    TokenBudget(Period),
}

impl LimitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LimitKind::RequestsPerMinute => "requests_per_minute",
            LimitKind::TokensPerMinute => "tokens_per_minute",
            LimitKind::Concurrency => "concurrency",
            LimitKind::SpendBudget(Period::Day) => "spend_budget_day",
            LimitKind::SpendBudget(Period::Month) => "spend_budget_month",
            LimitKind::SpendBudget(Period::Total) => "spend_budget_total",
            LimitKind::TokenBudget(Period::Day) => "token_budget_day",
            LimitKind::TokenBudget(Period::Month) => "token_budget_month",
            LimitKind::TokenBudget(Period::Total) => "token_budget_total",
        }
    }

    /// Budgets are quotas (OpenAI answers `insufficient_quota`); the rest are rate limits.
    pub fn is_budget(self) -> bool {
        matches!(self, LimitKind::SpendBudget(_) | LimitKind::TokenBudget(_))
    }
}

/// The first limit that refused, with enough to answer the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub scope: Scope,
    pub kind: LimitKind,
    pub limit: i64,
    pub used: i64,
    pub requested: i64,
    /// `None` when waiting cannot help: the request alone exceeds the limit, the limit is
    /// zero, or a `Total` budget is spent.
    pub retry_after_ms: Option<u64>,
    /// Per-minute gauges at the moment of refusal (nothing was reserved). Boxed to keep
    /// `Result<Ticket, Rejection>` small on the hot, admitted path.
    pub snapshot: Box<RateSnapshot>,
}

impl Rejection {
    /// Whole seconds for `Retry-After`, rounded up so a client that obeys is not refused again.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after_ms.map(|ms| ms.div_ceil(1000))
    }

    pub(crate) fn from_window(scope: &Scope, d: Denied, snapshot: RateSnapshot) -> Rejection {
        Rejection {
            scope: scope.clone(),
            kind: match d.dimension {
                Dimension::Requests => LimitKind::RequestsPerMinute,
                Dimension::Tokens => LimitKind::TokensPerMinute,
            },
            limit: sat(d.limit),
            used: sat(d.used),
            requested: sat(d.requested),
            retry_after_ms: d.retry_after_ms,
            snapshot: Box::new(snapshot),
        }
    }

    pub(crate) fn concurrency(
        scope: &Scope,
        limit: u64,
        held: u64,
        snapshot: RateSnapshot,
    ) -> Rejection {
        Rejection {
            scope: scope.clone(),
            kind: LimitKind::Concurrency,
            limit: sat(limit),
            used: sat(held),
            requested: 1,
            retry_after_ms: (limit > 0).then_some(CONCURRENCY_RETRY_MS),
            snapshot: Box::new(snapshot),
        }
    }

    pub(crate) fn from_budget(
        scope: &Scope,
        period: Period,
        d: BudgetDenied,
        snapshot: RateSnapshot,
    ) -> Rejection {
        Rejection {
            scope: scope.clone(),
            kind: match d.dimension {
                BudgetDimension::Cost => LimitKind::SpendBudget(period),
                BudgetDimension::Tokens => LimitKind::TokenBudget(period),
            },
            limit: d.limit,
            used: d.used,
            requested: d.requested,
            retry_after_ms: d.retry_after_ms,
            snapshot: Box::new(snapshot),
        }
    }
}

pub(crate) fn sat(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} limit reached for {}: limit {}, used {}, requested {}",
            self.kind.as_str(),
            self.scope,
            self.limit,
            self.used,
            self.requested
        )?;
        match self.retry_after_secs() {
            Some(s) => write!(f, ", retry after {s}s"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for Rejection {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_and_display_names_the_limit() {
        let r = Rejection {
            scope: Scope::ForgeKey(7),
            kind: LimitKind::RequestsPerMinute,
            limit: 100,
            used: 100,
            requested: 1,
            retry_after_ms: Some(1_001),
            snapshot: Box::default(),
        };
        assert_eq!(r.retry_after_secs(), Some(2));
        assert_eq!(
            r.to_string(),
            "requests_per_minute limit reached for key:7: limit 100, used 100, requested 1, retry after 2s"
        );
        assert_eq!(
            Rejection {
                retry_after_ms: Some(0),
                ..r.clone()
            }
            .retry_after_secs(),
            Some(0)
        );
        assert!(LimitKind::SpendBudget(Period::Day).is_budget());
    }
}
