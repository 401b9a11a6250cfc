//! The normalised form of one admission, shared by the local limiter and the Redis scripts so
//! both check the same scopes in the same order and report the same first failure.
//!
//! Order: each rate scope in the caller's order (requests, then tokens, then concurrency),
//! then each budget in the caller's order (spend, then tokens). A scope listed twice is
//! merged with the stricter value of each dimension; specs that limit nothing are dropped.

use crate::spec::{BudgetSpec, LimitSpec, Scope};
use crate::ticket::Reservation;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    pub rate: Vec<(Scope, LimitSpec)>,
    pub budgets: Vec<(Scope, BudgetSpec)>,
    pub reservation: Reservation,
}

impl Plan {
    pub fn new(
        limits: &[(Scope, LimitSpec)],
        budgets: &[(Scope, BudgetSpec)],
        reservation: Reservation,
    ) -> Plan {
        let mut rate: Vec<(Scope, LimitSpec)> = Vec::new();
        for (scope, spec) in limits.iter().filter(|(_, s)| !s.is_unlimited()) {
            match rate.iter_mut().find(|(s, _)| s == scope) {
                Some((_, merged)) => *merged = merged.tighten(*spec),
                None => rate.push((scope.clone(), *spec)),
            }
        }
        let mut merged_budgets: Vec<(Scope, BudgetSpec)> = Vec::new();
        for (scope, spec) in budgets.iter().filter(|(_, s)| !s.is_unlimited()) {
            match merged_budgets
                .iter_mut()
                .find(|(s, b)| s == scope && b.period == spec.period)
            {
                Some((_, merged)) => *merged = merged.tighten(*spec),
                None => merged_budgets.push((scope.clone(), *spec)),
            }
        }
        Plan {
            rate,
            budgets: merged_budgets,
            reservation: reservation.normalized(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Period;

    #[test]
    fn merges_duplicates_and_drops_empty_specs() {
        let k = Scope::ForgeKey(1);
        let m = Scope::Model("m".into());
        let plan = Plan::new(
            &[
                (
                    k.clone(),
                    LimitSpec {
                        rpm: Some(10),
                        ..LimitSpec::default()
                    },
                ),
                (m.clone(), LimitSpec::default()),
                (
                    k.clone(),
                    LimitSpec {
                        rpm: Some(5),
                        tpm: Some(100),
                        concurrency: None,
                    },
                ),
            ],
            &[
                (
                    k.clone(),
                    BudgetSpec {
                        period: Period::Day,
                        max_cost_nanos: Some(9),
                        max_tokens: None,
                    },
                ),
                (
                    k.clone(),
                    BudgetSpec {
                        period: Period::Month,
                        max_cost_nanos: Some(50),
                        max_tokens: None,
                    },
                ),
                (
                    k.clone(),
                    BudgetSpec {
                        period: Period::Day,
                        max_cost_nanos: Some(7),
                        max_tokens: Some(3),
                    },
                ),
                (
                    m,
                    BudgetSpec {
                        period: Period::Total,
                        max_cost_nanos: None,
                        max_tokens: None,
                    },
                ),
            ],
            Reservation {
                cost_nanos: -5,
                ..Reservation::default()
            },
        );
        assert_eq!(
            plan.rate,
            vec![(
                k.clone(),
                LimitSpec {
                    rpm: Some(5),
                    tpm: Some(100),
                    concurrency: None
                }
            )]
        );
        assert_eq!(plan.budgets.len(), 2);
        assert_eq!(plan.budgets[0].1.max_cost_nanos, Some(7));
        assert_eq!(plan.budgets[0].1.max_tokens, Some(3));
        assert_eq!(plan.reservation.cost_nanos, 0);
    }
}
