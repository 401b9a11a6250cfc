//! A user may tighten their own keys but never loosen them past their account: every
//! dimension limited on the account must be limited on the key, at most as high. A looser
//! key limit would never apply (the account's is checked too), so accepting it would only
//! mislead whoever reads it back.

use forge_limits::Period;
use forge_storage::{BudgetPeriod, LimitValues};
use serde_json::{Value, json};

use super::body::{error, money};
use crate::limits::rules::LimitRules;

/// The 422 entries for every way `key` is looser than `account` (none if it is not).
pub fn looser_than(key: &LimitValues, account: &LimitRules) -> Vec<Value> {
    let mut errors = Vec::new();
    let rates = [
        ("rpm", key.rpm, account.rates.rpm, "requests per minute"),
        ("tpm", key.tpm, account.rates.tpm, "tokens per minute"),
        (
            "concurrency",
            key.concurrency,
            account.rates.concurrency,
            "concurrent requests",
        ),
    ];
    for (name, wanted, cap, what) in rates {
        let Some(cap) = cap else { continue };
        let why = format!("the administrator limits your account to {cap} {what}");
        let cap = i64::try_from(cap).unwrap_or(i64::MAX);
        check(
            &mut errors,
            json!(["body", name]),
            wanted,
            cap,
            &why,
            &|n| n.to_string(),
        );
    }
    for cap in &account.budgets {
        let period = cap.period;
        let found = key
            .budgets
            .iter()
            .enumerate()
            .find(|(_, b)| same_period(b.period, period));
        let Some((i, budget)) = found else {
            errors.push(error(
                json!(["body", "budgets"]),
                format!(
                    "a {} budget is required: the administrator gives your account one",
                    adjective(period)
                ),
                "missing",
            ));
            continue;
        };
        let at = |field: &str| json!(["body", "budgets", i, field]);
        if let Some(max) = cap.max_cost_nanos {
            let why = format!(
                "the administrator limits your account's {} spend to {}",
                adjective(period),
                money(max)
            );
            check(
                &mut errors,
                at("max_cost"),
                budget.max_cost_nanos,
                max,
                &why,
                &money,
            );
        }
        if let Some(max) = cap.max_tokens {
            let why = format!(
                "the administrator limits your account's {} tokens to {max}",
                adjective(period)
            );
            check(
                &mut errors,
                at("max_tokens"),
                budget.max_tokens,
                max,
                &why,
                &|n| n.to_string(),
            );
        }
    }
    errors
}

fn check(
    errors: &mut Vec<Value>,
    loc: Value,
    wanted: Option<i64>,
    cap: i64,
    why: &str,
    show: &dyn Fn(i64) -> String,
) {
    match wanted {
        None => errors.push(error(
            loc,
            format!("must be set, at most {}: {why}", show(cap)),
            "missing",
        )),
        Some(n) if n > cap => errors.push(error(
            loc,
            format!("must be at most {}: {why}", show(cap)),
            "less_than_equal",
        )),
        Some(_) => {}
    }
}

fn adjective(period: Period) -> &'static str {
    match period {
        Period::Day => "daily",
        Period::Month => "monthly",
        Period::Total => "total",
    }
}

fn same_period(stored: BudgetPeriod, period: Period) -> bool {
    matches!(
        (stored, period),
        (BudgetPeriod::Day, Period::Day)
            | (BudgetPeriod::Month, Period::Month)
            | (BudgetPeriod::Total, Period::Total)
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use forge_limits::{BudgetSpec, LimitSpec};
    use forge_storage::BudgetLimit;

    use super::*;

    fn account() -> LimitRules {
        LimitRules {
            rates: LimitSpec {
                rpm: Some(3),
                tpm: None,
                concurrency: None,
            },
            budgets: vec![BudgetSpec {
                period: Period::Day,
                max_cost_nanos: Some(5_000_000_000),
                max_tokens: None,
            }],
        }
    }

    fn key(rpm: Option<i64>, day_cost: Option<i64>) -> LimitValues {
        LimitValues {
            rpm,
            tpm: Some(10),
            concurrency: None,
            budgets: day_cost
                .map(|c| BudgetLimit {
                    period: BudgetPeriod::Day,
                    max_cost_nanos: Some(c),
                    max_tokens: Some(7),
                })
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn tighter_or_equal_keys_pass() {
        assert!(looser_than(&key(Some(3), Some(5_000_000_000)), &account()).is_empty());
        assert!(looser_than(&key(Some(1), Some(1)), &account()).is_empty());
        assert!(looser_than(&key(None, None), &LimitRules::default()).is_empty());
    }

    #[test]
    fn looser_or_missing_dimensions_are_named() {
        let errors = looser_than(&key(Some(10), Some(6_000_000_000)), &account());
        let msgs: Vec<&str> = errors.iter().map(|e| e["msg"].as_str().unwrap()).collect();
        assert_eq!(
            msgs,
            [
                "must be at most 3: the administrator limits your account to 3 requests per minute",
                "must be at most 5.00: the administrator limits your account's daily spend to 5.00",
            ]
        );
        assert_eq!(errors[1]["loc"], json!(["body", "budgets", 0, "max_cost"]));
        let errors = looser_than(&key(None, None), &account());
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0]["type"], "missing");
        assert!(
            errors[1]["msg"]
                .as_str()
                .unwrap()
                .starts_with("a daily budget is required")
        );
    }
}
