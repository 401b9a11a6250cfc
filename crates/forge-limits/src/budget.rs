//! Spend and token counters for one scope and period, reserved up front and settled later.
//!
//! The counter remembers which period it counts; the first admission in a later period
//! starts it from zero (rollover is lazy, so idle scopes cost nothing at midnight). A settle
//! for a reservation made in an earlier period is dropped: that period is closed, and charging
//! its tail to the new one would punish the client for a request it was already allowed.

use crate::period::{period_end_ms, period_id};
use crate::spec::{BudgetSpec, Period};

/// Which budget dimension refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetDimension {
    Cost,
    Tokens,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetDenied {
    pub dimension: BudgetDimension,
    pub limit: i64,
    pub used: i64,
    pub requested: i64,
    /// Until the period rolls over; `None` for `Total` or when the request can never fit.
    pub retry_after_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BudgetCounter {
    pub period_id: i64,
    pub cost_nanos: i64,
    pub tokens: i64,
}

pub(crate) fn fits(used: i64, need: i64, limit: i64) -> bool {
    used < limit && used.saturating_add(need) <= limit
}

impl BudgetCounter {
    /// Moves to the period containing `now_ms` if it is later than the one counted. A clock
    /// stepping back keeps the current period rather than reopen a closed one.
    pub fn roll(&mut self, period: Period, now_ms: u64) {
        let id = period_id(period, now_ms);
        if id > self.period_id {
            *self = BudgetCounter {
                period_id: id,
                cost_nanos: 0,
                tokens: 0,
            };
        }
    }

    /// Whether `cost` and `tokens` more fit; cost is checked before tokens, as in Lua.
    pub fn check(
        &self,
        spec: &BudgetSpec,
        now_ms: u64,
        cost: i64,
        tokens: i64,
    ) -> Result<(), BudgetDenied> {
        let until_rollover =
            period_end_ms(spec.period, self.period_id).map(|end| end.saturating_sub(now_ms));
        for (dimension, limit, used, need) in [
            (
                BudgetDimension::Cost,
                spec.max_cost_nanos,
                self.cost_nanos,
                cost,
            ),
            (
                BudgetDimension::Tokens,
                spec.max_tokens,
                self.tokens,
                tokens,
            ),
        ] {
            let Some(limit) = limit else { continue };
            if !fits(used, need, limit) {
                let hopeless = limit <= 0 || need > limit;
                return Err(BudgetDenied {
                    dimension,
                    limit,
                    used,
                    requested: need,
                    retry_after_ms: if hopeless { None } else { until_rollover },
                });
            }
        }
        Ok(())
    }

    /// Adds (or, with negative deltas, gives back) spend; never goes below zero.
    pub fn charge(&mut self, cost: i64, tokens: i64) {
        self.cost_nanos = self.cost_nanos.saturating_add(cost).max(0);
        self.tokens = self.tokens.saturating_add(tokens).max(0);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::period::utc;

    fn spec(period: Period, cost: Option<i64>, tokens: Option<i64>) -> BudgetSpec {
        BudgetSpec {
            period,
            max_cost_nanos: cost,
            max_tokens: tokens,
        }
    }

    #[test]
    fn check_charge_and_roll_at_midnight() {
        let s = spec(Period::Day, Some(1_000), None);
        let now = utc(2025, 6, 1, 23, 0);
        let mut c = BudgetCounter::default();
        c.roll(Period::Day, now);
        c.check(&s, now, 600, 0).unwrap();
        c.charge(600, 10);
        let d = c.check(&s, now, 600, 0).unwrap_err();
        assert_eq!(d.dimension, BudgetDimension::Cost);
        assert_eq!(d.retry_after_ms, Some(3_600_000));
        c.charge(400, 0);
        assert!(c.check(&s, now, 0, 0).is_err());
        c.roll(Period::Day, utc(2025, 6, 2, 0, 0));
        assert_eq!((c.cost_nanos, c.tokens), (0, 0));
        c.check(&s, utc(2025, 6, 2, 0, 0), 1_000, 0).unwrap();
    }

    #[test]
    fn hopeless_and_total_budgets_have_no_retry() {
        let now = utc(2025, 6, 1, 12, 0);
        let c = BudgetCounter::default();
        let d = c
            .check(&spec(Period::Day, None, Some(100)), now, 0, 101)
            .unwrap_err();
        assert_eq!(
            (d.dimension, d.retry_after_ms),
            (BudgetDimension::Tokens, None)
        );
        let mut c = BudgetCounter::default();
        c.charge(0, 100);
        let d = c
            .check(&spec(Period::Total, None, Some(100)), now, 0, 1)
            .unwrap_err();
        assert_eq!(d.retry_after_ms, None);
        c.charge(0, -500);
        assert_eq!(c.tokens, 0);
    }

    #[test]
    fn clock_stepping_back_keeps_the_period() {
        let mut c = BudgetCounter::default();
        c.roll(Period::Month, utc(2025, 7, 1, 0, 0));
        c.charge(5, 5);
        c.roll(Period::Month, utc(2025, 6, 30, 23, 59));
        assert_eq!(c.cost_nanos, 5);
    }
}
