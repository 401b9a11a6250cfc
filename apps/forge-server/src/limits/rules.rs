//! Limits stored for a Forge key or a user, or set in forge.toml, in the form admission uses.
//! Kept apart from `scopes` so the key cache, which carries them, does not depend on the
//! admission code that reads the cache.

use forge_limits::{BudgetSpec, LimitSpec, Period};
use forge_router::config::LimitSet;
use forge_storage::{BudgetLimit, BudgetPeriod, LimitValues};

/// One scope's limits in the limiter's terms, from the database or from forge.toml.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LimitRules {
    pub rates: LimitSpec,
    pub budgets: Vec<BudgetSpec>,
}

impl LimitRules {
    /// Negative stored numbers (never written by the API) admit nothing rather than
    /// everything.
    pub fn from_stored(values: &LimitValues) -> LimitRules {
        let count = |n: Option<i64>| n.map(|n| u64::try_from(n).unwrap_or(0));
        LimitRules {
            rates: LimitSpec {
                rpm: count(values.rpm),
                tpm: count(values.tpm),
                concurrency: count(values.concurrency),
            },
            budgets: values.budgets.iter().map(budget_spec).collect(),
        }
    }

    pub fn from_config(set: &LimitSet) -> LimitRules {
        LimitRules {
            rates: set.rates(),
            budgets: set.budgets(),
        }
    }
}

fn budget_spec(b: &BudgetLimit) -> BudgetSpec {
    BudgetSpec {
        period: match b.period {
            BudgetPeriod::Day => Period::Day,
            BudgetPeriod::Month => Period::Month,
            BudgetPeriod::Total => Period::Total,
        },
        max_cost_nanos: b.max_cost_nanos,
        max_tokens: b.max_tokens,
    }
}

/// A Forge key's and its user's limits as stored through the admin API, loaded with the key
/// into the key cache so admission reads no database. `None`: forge.toml's default applies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredLimits {
    pub key: Option<LimitRules>,
    pub user: Option<LimitRules>,
}

impl StoredLimits {
    pub fn from_auth(limits: &forge_storage::AuthLimits) -> StoredLimits {
        StoredLimits {
            key: limits.key.as_ref().map(LimitRules::from_stored),
            user: limits.user.as_ref().map(LimitRules::from_stored),
        }
    }
}
