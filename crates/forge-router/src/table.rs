//! The effective routing table: what each client-facing name resolves to.
//!
//! Built once per config snapshot and never mutated, so the server can share it behind an
//! `Arc` and swap a new one in on reload. Each provider key is its own deployment: keys of one
//! provider fail and cool down independently.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::config::{
    Config, GatewayKeyConfig, ModelTimeouts, ProviderKind, Secret, split_qualified,
};
use crate::retry::RetryPolicy;
use crate::strategy::Strategy;

/// One upstream endpoint: a provider key serving one upstream model.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    /// `provider/upstream-model#key-index`: stable across reloads, so health survives them
    /// and operators can name a deployment in admin calls.
    pub id: String,
    pub provider: String,
    pub kind: ProviderKind,
    pub base_url: String,
    pub api_version: Option<String>,
    pub responses: Option<crate::config::ResponsesMode>,
    pub upstream_model: String,
    pub key_index: usize,
    pub api_key: Secret,
    pub rpm: Option<u32>,
    pub tpm: Option<u64>,
}

impl Deployment {
    fn of_key(
        provider: &crate::config::ProviderConfig,
        key_index: usize,
        key: &crate::config::ProviderKeyConfig,
        model: &str,
        id: String,
    ) -> Deployment {
        Deployment {
            id,
            provider: provider.name.clone(),
            kind: provider.kind,
            base_url: provider.effective_base_url().to_owned(),
            api_version: provider.api_version.clone(),
            responses: provider.responses,
            upstream_model: model.to_owned(),
            key_index,
            api_key: key.key.clone(),
            rpm: key.rpm,
            tpm: key.tpm,
        }
    }

    /// A provider's first key with no model: what a pass-through to it uses
    /// (id `provider/*#0`).
    pub fn of_provider(provider: &crate::config::ProviderConfig) -> Option<Deployment> {
        let key = provider.keys.first()?;
        let id = format!("{}/*#0", provider.name);
        Some(Deployment::of_key(provider, 0, key, "", id))
    }
}

/// A deployment as one route uses it: weights and priorities are per route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// Index into [`RoutingTable::deployments`].
    pub deployment: usize,
    /// Deployment weight times key weight.
    pub weight: u32,
    pub priority: u32,
}

/// A logical model.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub name: String,
    /// In declaration order (deployments, then keys of each provider).
    pub targets: Vec<Target>,
    pub strategy: Strategy,
    pub retry: RetryPolicy,
    pub timeouts: ModelTimeouts,
    pub fallbacks: Vec<String>,
    pub max_ejected_share: f64,
}

#[derive(Debug, Clone, Default)]
pub struct RoutingTable {
    deployments: Vec<Deployment>,
    by_id: HashMap<String, usize>,
    routes: BTreeMap<String, Route>,
    aliases: BTreeMap<String, String>,
    default_model: Option<String>,
    keys: Vec<GatewayKeyConfig>,
}

impl RoutingTable {
    pub fn from_config(config: &Config) -> RoutingTable {
        let mut table = RoutingTable {
            aliases: config.aliases.clone(),
            default_model: config.default_model.clone(),
            keys: config.keys.clone(),
            ..RoutingTable::default()
        };
        for (name, model) in &config.models {
            let mut targets = Vec::new();
            for deployment in &model.deployments {
                for (key_index, weight) in
                    table.add_provider_model(config, &deployment.provider, &deployment.model)
                {
                    targets.push(Target {
                        deployment: key_index,
                        weight: weight.saturating_mul(deployment.weight),
                        priority: deployment.priority,
                    });
                }
            }
            let route = Route {
                name: name.clone(),
                targets,
                strategy: model.strategy,
                retry: RetryPolicy {
                    retries: model.retries,
                    backoff_base: Duration::from_millis(model.backoff.base_ms),
                    backoff_max: Duration::from_millis(model.backoff.max_ms),
                    max_attempts: model.max_attempts,
                    deadline: model.deadline_ms.map(Duration::from_millis),
                    fallback_on_refusal: model.fallback_on_refusal,
                },
                timeouts: model.timeouts.clone(),
                fallbacks: model.fallbacks.clone(),
                max_ejected_share: model.max_ejected_share,
            };
            table.routes.insert(name.clone(), route);
        }
        // `provider/model` names for every pair some route uses, and for alias targets.
        let mut qualified: Vec<(String, String)> = table
            .deployments
            .iter()
            .map(|d| (d.provider.clone(), d.upstream_model.clone()))
            .collect();
        for target in config.aliases.values().chain(config.default_model.iter()) {
            if let Some((provider, model)) = split_qualified(target)
                && config.provider(provider).is_some()
            {
                qualified.push((provider.to_owned(), model.to_owned()));
            }
        }
        for (provider, model) in qualified {
            let name = format!("{provider}/{model}");
            if table.routes.contains_key(&name) {
                continue;
            }
            let targets = table
                .add_provider_model(config, &provider, &model)
                .into_iter()
                .map(|(deployment, weight)| Target {
                    deployment,
                    weight,
                    priority: 0,
                })
                .collect();
            table
                .routes
                .insert(name.clone(), direct_route(name, targets));
        }
        table
    }

    /// Adds (or finds) one deployment per key of `provider` for `model`; returns their
    /// indices with the key weights.
    fn add_provider_model(
        &mut self,
        config: &Config,
        provider: &str,
        model: &str,
    ) -> Vec<(usize, u32)> {
        let Some(provider) = config.provider(provider) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (key_index, key) in provider.keys.iter().enumerate() {
            let id = format!("{}/{}#{}", provider.name, model, key_index);
            let index = match self.by_id.get(&id) {
                Some(&index) => index,
                None => {
                    self.deployments.push(Deployment::of_key(
                        provider,
                        key_index,
                        key,
                        model,
                        id.clone(),
                    ));
                    let index = self.deployments.len() - 1;
                    self.by_id.insert(id, index);
                    index
                }
            };
            out.push((index, key.weight));
        }
        out
    }

    /// The route for a client-facing name: a logical model, an alias, or
    /// `provider:model` / `provider/model` over a configured provider.
    pub fn resolve(&self, name: &str) -> Option<&Route> {
        if let Some(route) = self.routes.get(name) {
            return Some(route);
        }
        if let Some(target) = self.aliases.get(name) {
            return self.resolve_direct(target);
        }
        let (provider, model) = split_qualified(name)?;
        self.routes.get(&format!("{provider}/{model}"))
    }

    fn resolve_direct(&self, target: &str) -> Option<&Route> {
        self.routes.get(target).or_else(|| {
            let (provider, model) = split_qualified(target)?;
            self.routes.get(&format!("{provider}/{model}"))
        })
    }

    /// The route for a request that names no model.
    pub fn default_route(&self) -> Option<&Route> {
        self.resolve(self.default_model.as_deref()?)
    }

    /// Every route, logical models and `provider/model` routes alike, by name.
    pub fn routes(&self) -> impl Iterator<Item = &Route> {
        self.routes.values()
    }

    pub fn aliases(&self) -> &BTreeMap<String, String> {
        &self.aliases
    }

    pub fn deployments(&self) -> &[Deployment] {
        &self.deployments
    }

    pub fn deployment(&self, index: usize) -> Option<&Deployment> {
        self.deployments.get(index)
    }

    pub fn deployment_by_id(&self, id: &str) -> Option<(usize, &Deployment)> {
        let index = *self.by_id.get(id)?;
        Some((index, self.deployments.get(index)?))
    }

    /// The static gateway key with this SHA-256 hex digest of the presented key.
    pub fn gateway_key(&self, digest: &str) -> Option<&GatewayKeyConfig> {
        self.keys.iter().find(|k| k.digest == digest)
    }

    /// Whether a static key may use the model a request named: either the name is listed,
    /// or it resolves to the same route as a listed name.
    pub fn key_allows(&self, key: &GatewayKeyConfig, requested: &str) -> bool {
        let Some(models) = &key.models else {
            return true;
        };
        let wanted = self.resolve(requested).map(|r| r.name.as_str());
        models.iter().any(|allowed| {
            allowed == requested
                || (wanted.is_some() && self.resolve(allowed).map(|r| r.name.as_str()) == wanted)
        })
    }
}

/// A route straight to one provider's model: spread over its keys, no fallbacks.
fn direct_route(name: String, targets: Vec<Target>) -> Route {
    Route {
        name,
        targets,
        strategy: Strategy::Weighted,
        retry: RetryPolicy::default(),
        timeouts: ModelTimeouts::default(),
        fallbacks: Vec::new(),
        max_ejected_share: 0.5,
    }
}
