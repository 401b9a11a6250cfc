//! What an operator configures: rate limits and budgets, and the scopes they apply to.
//!
//! `None` always means "no limit on this dimension"; `Some(0)` is a real limit that admits
//! nothing, so a key can be frozen without deleting it.

use serde::{Deserialize, Serialize};

pub use crate::scope::{Scope, ScopeParseError};

/// Per-minute rates and a concurrency cap for one scope.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSpec {
    /// Requests per minute.
    #[serde(default)]
    pub rpm: Option<u64>,
    /// Tokens (input + output) per minute.
    #[serde(default)]
    pub tpm: Option<u64>,
    /// Requests in flight at once.
    #[serde(default)]
    pub concurrency: Option<u64>,
}

impl LimitSpec {
    pub fn is_unlimited(&self) -> bool {
        self.rpm.is_none() && self.tpm.is_none() && self.concurrency.is_none()
    }

    /// The stricter of two specs, dimension by dimension: a scope listed twice in one
    /// admission is checked once, so it cannot be double-counted or half-checked.
    pub fn tighten(self, other: LimitSpec) -> LimitSpec {
        LimitSpec {
            rpm: min_opt(self.rpm, other.rpm),
            tpm: min_opt(self.tpm, other.tpm),
            concurrency: min_opt(self.concurrency, other.concurrency),
        }
    }
}

/// The calendar span a budget counts over, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    Day,
    Month,
    Total,
}

impl Period {
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Month => "month",
            Period::Total => "total",
        }
    }

    /// The number the Lua scripts use for this period.
    pub(crate) fn code(self) -> u8 {
        match self {
            Period::Day => 0,
            Period::Month => 1,
            Period::Total => 2,
        }
    }
}

/// A spend and/or token ceiling over a period. Negative maxima admit nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetSpec {
    pub period: Period,
    /// Spend ceiling in nano-dollars (1e-9 USD), the unit forge-usage prices in.
    #[serde(default)]
    pub max_cost_nanos: Option<i64>,
    /// Token (input + output) ceiling.
    #[serde(default)]
    pub max_tokens: Option<i64>,
}

impl BudgetSpec {
    pub fn is_unlimited(&self) -> bool {
        self.max_cost_nanos.is_none() && self.max_tokens.is_none()
    }

    pub(crate) fn tighten(self, other: BudgetSpec) -> BudgetSpec {
        BudgetSpec {
            period: self.period,
            max_cost_nanos: min_opt(self.max_cost_nanos, other.max_cost_nanos),
            max_tokens: min_opt(self.max_tokens, other.max_tokens),
        }
    }
}

fn min_opt<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn specs_deserialize_and_reject_unknown_fields() {
        let l: LimitSpec = serde_json::from_str(r#"{"rpm": 100, "concurrency": 4}"#).unwrap();
        assert_eq!(
            l,
            LimitSpec {
                rpm: Some(100),
                tpm: None,
                concurrency: Some(4)
            }
        );
        assert!(serde_json::from_str::<LimitSpec>(r#"{"rps": 1}"#).is_err());

        let b: BudgetSpec =
            serde_json::from_str(r#"{"period": "month", "max_cost_nanos": 5000000000}"#).unwrap();
        assert_eq!(b.period, Period::Month);
        assert_eq!(b.max_cost_nanos, Some(5_000_000_000));
        assert_eq!(b.max_tokens, None);
        assert!(serde_json::from_str::<BudgetSpec>(r#"{"period": "week"}"#).is_err());
        assert!(serde_json::from_str::<BudgetSpec>(r#"{"period": "day", "max": 1}"#).is_err());
    }

    #[test]
    fn tighten_takes_the_stricter_value_per_dimension() {
        let a = LimitSpec {
            rpm: Some(10),
            tpm: None,
            concurrency: Some(5),
        };
        let b = LimitSpec {
            rpm: Some(20),
            tpm: Some(1000),
            concurrency: None,
        };
        assert_eq!(
            a.tighten(b),
            LimitSpec {
                rpm: Some(10),
                tpm: Some(1000),
                concurrency: Some(5)
            }
        );
        assert!(LimitSpec::default().is_unlimited());
    }
}
