//! What an admitted request holds, and the arithmetic of settling it.
//!
//! Settling is a true-up to running totals rather than an "add this much": the ticket
//! remembers what it has already counted, so calling `settle` again with the same figures
//! changes nothing, and streaming increments followed by a final settle never double-count.

use crate::snapshot::RateSnapshot;
use crate::spec::{Period, Scope};

/// How long a concurrency slot is held if nobody releases it.
pub const DEFAULT_LEASE_MS: u64 = 10 * 60 * 1000;

/// What a request claims up front.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation {
    /// Counted against TPM at admission: the estimated input tokens.
    pub tokens: u64,
    /// Held against token budgets: the input estimate, plus `max_tokens` when the caller
    /// wants budgets to be un-overshootable even by the longest possible answer.
    pub budget_tokens: i64,
    /// Held against spend budgets, in nano-dollars (an estimate from the same figures).
    pub cost_nanos: i64,
    /// Deadline of the concurrency lease, from admission.
    pub lease_ms: u64,
}

impl Default for Reservation {
    fn default() -> Self {
        Reservation {
            tokens: 0,
            budget_tokens: 0,
            cost_nanos: 0,
            lease_ms: DEFAULT_LEASE_MS,
        }
    }
}

impl Reservation {
    pub(crate) fn normalized(self) -> Reservation {
        Reservation {
            budget_tokens: self.budget_tokens.max(0),
            cost_nanos: self.cost_nanos.max(0),
            lease_ms: self.lease_ms.max(1),
            ..self
        }
    }
}

/// The real figures of a finished (or finishing) request: totals, not increments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Input + output tokens.
    pub tokens: u64,
    pub cost_nanos: i64,
}

/// A scope whose window or leases this ticket touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RateHold {
    pub scope: Scope,
    pub tokens: bool,
    pub concurrency: bool,
}

/// A budget this ticket charged, and in which period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BudgetHold {
    pub scope: Scope,
    pub period: Period,
    pub period_id: i64,
}

/// Proof of admission. Settle it with the real usage and release it when the request ends;
/// an unreleased ticket's concurrency slots free themselves after the lease.
#[derive(Debug, PartialEq, Eq)]
pub struct Ticket {
    pub(crate) lease_id: String,
    pub(crate) admitted_ms: u64,
    pub(crate) rate: Vec<RateHold>,
    pub(crate) budgets: Vec<BudgetHold>,
    /// Reserved tokens still sitting in the admission bucket (can be given back).
    pub(crate) held_tokens: u64,
    /// Tokens this request has counted against TPM so far.
    pub(crate) counted_tokens: u64,
    pub(crate) charged_budget_tokens: i64,
    pub(crate) charged_cost_nanos: i64,
    pub(crate) snapshot: RateSnapshot,
}

/// Changes a settle or stream step applies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Deltas {
    pub add_tokens: u64,
    pub release_tokens: u64,
    pub cost_nanos: i64,
    pub budget_tokens: i64,
}

impl Ticket {
    pub fn lease_id(&self) -> &str {
        &self.lease_id
    }

    /// When the request was admitted (Unix ms; Redis time for tickets from Redis).
    pub fn admitted_ms(&self) -> u64 {
        self.admitted_ms
    }

    /// The tightest per-minute gauges right after admission, for response headers.
    pub fn snapshot(&self) -> RateSnapshot {
        self.snapshot
    }

    /// Scopes whose concurrency leases this ticket holds.
    pub fn leased_scopes(&self) -> impl Iterator<Item = &Scope> {
        self.rate.iter().filter(|h| h.concurrency).map(|h| &h.scope)
    }

    pub(crate) fn stream(&mut self, n: u64) -> Deltas {
        self.counted_tokens = self.counted_tokens.saturating_add(n);
        Deltas {
            add_tokens: n,
            ..Deltas::default()
        }
    }

    pub(crate) fn true_up(&mut self, usage: Usage) -> Deltas {
        let mut d = Deltas::default();
        if usage.tokens > self.counted_tokens {
            d.add_tokens = usage.tokens - self.counted_tokens;
        } else {
            // Only the reservation can be given back: streamed tokens were real.
            d.release_tokens = (self.counted_tokens - usage.tokens).min(self.held_tokens);
            self.held_tokens -= d.release_tokens;
        }
        self.counted_tokens = self.counted_tokens.saturating_add(d.add_tokens) - d.release_tokens;
        let budget_tokens = i64::try_from(usage.tokens).unwrap_or(i64::MAX);
        d.budget_tokens = budget_tokens.saturating_sub(self.charged_budget_tokens);
        d.cost_nanos = usage.cost_nanos.saturating_sub(self.charged_cost_nanos);
        self.charged_budget_tokens = budget_tokens;
        self.charged_cost_nanos = usage.cost_nanos;
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(reserved: u64, budget_tokens: i64, cost: i64) -> Ticket {
        Ticket {
            lease_id: "t".into(),
            admitted_ms: 0,
            rate: Vec::new(),
            budgets: Vec::new(),
            held_tokens: reserved,
            counted_tokens: reserved,
            charged_budget_tokens: budget_tokens,
            charged_cost_nanos: cost,
            snapshot: RateSnapshot::default(),
        }
    }

    #[test]
    fn true_up_adds_or_releases_and_is_idempotent() {
        let mut t = ticket(100, 1100, 50);
        let d = t.true_up(Usage {
            tokens: 40,
            cost_nanos: 20,
        });
        assert_eq!(
            d,
            Deltas {
                add_tokens: 0,
                release_tokens: 60,
                cost_nanos: -30,
                budget_tokens: -1060
            }
        );
        assert_eq!(
            t.true_up(Usage {
                tokens: 40,
                cost_nanos: 20
            }),
            Deltas::default()
        );
        let d = t.true_up(Usage {
            tokens: 250,
            cost_nanos: 90,
        });
        assert_eq!(
            d,
            Deltas {
                add_tokens: 210,
                release_tokens: 0,
                cost_nanos: 70,
                budget_tokens: 210
            }
        );
    }

    #[test]
    fn streamed_tokens_are_never_given_back() {
        let mut t = ticket(100, 100, 0);
        t.stream(500);
        let d = t.true_up(Usage {
            tokens: 450,
            cost_nanos: 0,
        });
        assert_eq!(d.release_tokens, 100);
        assert_eq!(t.counted_tokens, 500);
        let d = t.true_up(Usage {
            tokens: 520,
            cost_nanos: 0,
        });
        assert_eq!((d.add_tokens, d.release_tokens), (20, 0));
    }
}
