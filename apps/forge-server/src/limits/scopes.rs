//! Which limits apply to a request: its key's and user's (set through the admin API, else
//! forge.toml's defaults for registered users; the static key's own), and its logical model's.

use forge_limits::{BudgetSpec, LimitSpec, Scope};
use forge_router::config::LimitSet;

use crate::auth::key_cache::AuthContext;
use crate::limits::rules::LimitRules;
use crate::routing::Snapshot;

#[derive(Default)]
pub struct Applicable {
    pub limits: Vec<(Scope, LimitSpec)>,
    pub budgets: Vec<(Scope, BudgetSpec)>,
}

impl Applicable {
    pub fn is_empty(&self) -> bool {
        self.limits.is_empty() && self.budgets.is_empty()
    }

    fn add(&mut self, scope: Scope, set: Option<&LimitSet>) {
        let Some(set) = set else { return };
        self.push(scope, set.rates(), set.budgets());
    }

    fn add_rules(&mut self, scope: Scope, rules: &LimitRules) {
        self.push(scope, rules.rates, rules.budgets.iter().copied());
    }

    fn push(
        &mut self,
        scope: Scope,
        rates: LimitSpec,
        budgets: impl IntoIterator<Item = BudgetSpec>,
    ) {
        if !rates.is_unlimited() {
            self.limits.push((scope.clone(), rates));
        }
        for budget in budgets {
            if !budget.is_unlimited() {
                self.budgets.push((scope.clone(), budget));
            }
        }
    }
}

/// The request-level scopes; `route` is the forge.toml logical model serving it, if any.
pub fn for_request(snapshot: &Snapshot, ctx: &AuthContext, route: Option<&str>) -> Applicable {
    let mut out = Applicable::default();
    let config = &snapshot.config.limits;
    match &ctx.gateway {
        Some(key) => out.add(Scope::GatewayKey(key.name.clone()), key.limits.as_ref()),
        None => {
            let key = Scope::ForgeKey(ctx.key_id);
            match &ctx.limits.key {
                Some(rules) => out.add_rules(key, rules),
                None => out.add(key, config.forge_keys.as_ref()),
            }
            let user = Scope::User(ctx.user_id);
            match &ctx.limits.user {
                Some(rules) => out.add_rules(user, rules),
                None => out.add(user, config.users.as_ref()),
            }
        }
    }
    if let Some(name) = route
        && let Some(model) = snapshot.config.models.get(name)
    {
        out.add(Scope::Model(name.to_owned()), model.limits.as_ref());
    }
    out
}

/// A deployment's own rates (its provider key's `rpm` / `tpm`).
pub fn for_deployment(d: &forge_router::table::Deployment) -> Option<(Scope, LimitSpec)> {
    let spec = LimitSpec {
        rpm: d.rpm.map(u64::from),
        tpm: d.tpm,
        concurrency: None,
    };
    (!spec.is_unlimited()).then(|| (Scope::Deployment(d.id.clone()), spec))
}
