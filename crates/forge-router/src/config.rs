//! The `forge.toml` model: what an operator declares, checked as a whole before it is used.
//!
//! Every table denies unknown fields so a typo is an error, not a silently ignored setting.
//! Errors name the line and the field path; they never echo a secret's value.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::SocketAddr;

use serde::Deserialize;
use sha2::{Digest, Sha256};

pub use crate::config_error::{ConfigError, ConfigIssue};
use crate::config_error::{issue, locate, quote_key, syntax_error};
use crate::strategy::Strategy;

/// A validated configuration; only [`Config::parse`] builds one (or `default()`, the empty
/// file).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The logical model (or alias) used when a request names none.
    #[serde(default)]
    pub default_model: Option<String>,
    /// Provider names in the order the server should prefer them when a model is offered by
    /// several providers outside any declared route (user keys included).
    #[serde(default)]
    pub provider_priority: Vec<String>,
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub routing: RoutingConfig,
    #[serde(default)]
    pub providers: Vec<ProviderConfig>,
    #[serde(default)]
    pub models: BTreeMap<String, ModelConfig>,
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
    #[serde(default)]
    pub keys: Vec<GatewayKeyConfig>,
    /// Price overrides, winning over the embedded price table.
    #[serde(default)]
    pub prices: Vec<forge_usage::PriceOverride>,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub logging: LoggingConfig,
    /// Providers mounted under route prefixes (`forward.rs`).
    #[serde(default)]
    pub forward: Vec<crate::forward::ForwardMount>,
}

/// Server settings; an absent field keeps the command-line / environment value.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub bind: Option<SocketAddr>,
    pub max_body_bytes: Option<usize>,
    pub allow_private_upstreams: Option<bool>,
    pub registration: Option<Registration>,
    #[serde(default)]
    pub timeouts: ServerTimeouts,
    /// Bearer token `GET /metrics` asks for.
    pub metrics_token: Option<Secret>,
    /// A second listener serving only `/metrics` (and health), to keep it private.
    pub metrics_bind: Option<SocketAddr>,
    /// How long in-flight requests and streams may run on after SIGTERM.
    pub shutdown_grace_secs: Option<u64>,
}

/// Default upstream timeouts for requests that no route overrides.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerTimeouts {
    pub connect_ms: Option<u64>,
    pub first_byte_ms: Option<u64>,
    pub idle_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Registration {
    Open,
    Closed,
}

/// Gateway-wide routing behaviour: stickiness and the circuit breaker.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingConfig {
    /// The request header that carries a session id for stickiness.
    pub session_header: String,
    /// How long an idle session binding is kept.
    pub session_ttl_ms: u64,
    /// The most session bindings kept; the least recently used go first.
    pub max_sessions: usize,
    /// Share of least-latency requests that try a random deployment, so a slow one that
    /// recovered is noticed.
    pub exploration: f64,
    /// Weight of the newest sample in the latency moving average.
    pub ewma_alpha: f64,
    pub cooldown: CooldownConfig,
    /// Whether registered users' Forge API keys may use the routes declared here (scoped keys
    /// never do); `false` reserves them for the static `[[keys]]`.
    pub serve_user_keys: bool,
    /// Seeds the load balancer's random draws, making them reproducible (tests, debugging);
    /// drawn from the OS when absent.
    pub seed: Option<u64>,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            session_header: "x-session-id".into(),
            session_ttl_ms: 3_600_000,
            max_sessions: 100_000,
            exploration: 0.05,
            ewma_alpha: 0.3,
            cooldown: CooldownConfig::default(),
            serve_user_keys: true,
            seed: None,
        }
    }
}

/// When a deployment is ejected and for how long.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CooldownConfig {
    /// Failures within `window_ms` that open the breaker.
    pub failures: u32,
    pub window_ms: u64,
    /// First cooldown; doubles on each consecutive trip up to `max_ms`.
    pub base_ms: u64,
    pub max_ms: u64,
    /// Cap on a cooldown taken from an upstream `retry-after`.
    pub retry_after_max_ms: u64,
}

impl Default for CooldownConfig {
    fn default() -> Self {
        CooldownConfig {
            failures: 3,
            window_ms: 60_000,
            base_ms: 5_000,
            max_ms: 300_000,
            retry_after_max_ms: 600_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    pub name: String,
    pub kind: ProviderKind,
    /// Required for `openai-compatible` and `azure`; the vendor's URL otherwise.
    pub base_url: Option<String>,
    pub keys: Vec<ProviderKeyConfig>,
    /// Azure OpenAI's `api-version` query parameter.
    pub api_version: Option<String>,
    /// Whether an OpenAI-kind host serves the Responses API itself (`native`) or gets
    /// Responses requests translated to chat completions (`translate`); unset, the
    /// provider table decides by name.
    #[serde(default)]
    pub responses: Option<ResponsesMode>,
    /// Active health checks: each key's model listing is fetched this often; a failure counts
    /// against the key's deployments, a success ends their cooldown early.
    pub health_check: Option<HealthCheckConfig>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResponsesMode {
    Native,
    Translate,
}

impl ResponsesMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ResponsesMode::Native => "native",
            ResponsesMode::Translate => "translate",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthCheckConfig {
    pub interval_ms: u64,
    #[serde(default = "default_health_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_health_timeout_ms() -> u64 {
    5_000
}

impl ProviderConfig {
    /// The URL requests go to: the declared one, or the vendor's.
    pub fn effective_base_url(&self) -> &str {
        match (&self.base_url, self.kind) {
            (Some(url), _) => url,
            (None, ProviderKind::Anthropic) => "https://api.anthropic.com/v1",
            (None, ProviderKind::Gemini) => "https://generativelanguage.googleapis.com/v1beta",
            (None, ProviderKind::Cohere) => "https://api.cohere.com",
            (None, _) => "https://api.openai.com/v1",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderKind {
    OpenaiCompatible,
    Anthropic,
    Gemini,
    Azure,
    /// Cohere's native v2 Chat API.
    Cohere,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderKeyConfig {
    /// A literal key or `env:VAR`; after parsing, always the key itself.
    pub key: Secret,
    #[serde(default = "one")]
    pub weight: u32,
    /// Requests per minute this key allows (informational for the limiter).
    pub rpm: Option<u32>,
    /// Tokens per minute this key allows.
    pub tpm: Option<u64>,
}

/// A credential whose `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A logical model: one client-facing name over several deployments.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub deployments: Vec<DeploymentConfig>,
    #[serde(default)]
    pub strategy: Strategy,
    /// Retries on the same deployment before moving to the next one.
    #[serde(default)]
    pub retries: u32,
    #[serde(default)]
    pub backoff: BackoffConfig,
    #[serde(default)]
    pub timeouts: ModelTimeouts,
    /// Other logical models tried, in order, when every deployment of this one failed.
    #[serde(default)]
    pub fallbacks: Vec<String>,
    /// Upstream attempts per client request, fallbacks included.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Time after which no new attempt starts.
    pub deadline_ms: Option<u64>,
    /// The largest share of this model's deployments ever ejected at once.
    #[serde(default = "default_max_ejected_share")]
    pub max_ejected_share: f64,
    /// Limits over all traffic to this logical model.
    #[serde(default)]
    pub limits: Option<LimitSet>,
    /// On a content-policy refusal, try the fallback models (other deployments of this
    /// model are never tried: they would refuse too).
    #[serde(default)]
    pub fallback_on_refusal: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentConfig {
    pub provider: String,
    /// The model name the upstream expects.
    pub model: String,
    #[serde(default = "one")]
    pub weight: u32,
    /// Lower runs first under the `priority` strategy.
    #[serde(default)]
    pub priority: u32,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackoffConfig {
    pub base_ms: u64,
    pub max_ms: u64,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            base_ms: 200,
            max_ms: 5_000,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelTimeouts {
    pub connect_ms: Option<u64>,
    pub first_token_ms: Option<u64>,
    pub idle_ms: Option<u64>,
    pub total_ms: Option<u64>,
}

/// A static gateway key for deployments without user accounts.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayKeyConfig {
    pub name: String,
    /// `sha256:<hex>` of the key, or `env:VAR` holding the key itself.
    key: String,
    /// Logical models (or aliases) this key may use; all when absent.
    pub models: Option<Vec<String>>,
    /// Lowercase hex SHA-256 of the key, filled by [`Config::parse`].
    #[serde(skip)]
    pub digest: String,
    /// Rates, concurrency and budgets of this key.
    #[serde(default)]
    pub limits: Option<LimitSet>,
}

/// Limits and budgets for one scope (a key, a user, a logical model).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSet {
    pub rpm: Option<u64>,
    pub tpm: Option<u64>,
    pub concurrency: Option<u64>,
    #[serde(default)]
    pub budgets: Vec<BudgetConfig>,
}

impl LimitSet {
    pub fn rates(&self) -> forge_limits::LimitSpec {
        forge_limits::LimitSpec {
            rpm: self.rpm,
            tpm: self.tpm,
            concurrency: self.concurrency,
        }
    }

    pub fn budgets(&self) -> Vec<forge_limits::BudgetSpec> {
        self.budgets.iter().map(BudgetConfig::spec).collect()
    }
}

/// A spend or token ceiling; `max_cost` in currency units (`"5.00"`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetConfig {
    pub period: forge_limits::Period,
    pub max_cost: Option<forge_usage::Rate>,
    pub max_tokens: Option<i64>,
}

impl BudgetConfig {
    pub fn spec(&self) -> forge_limits::BudgetSpec {
        forge_limits::BudgetSpec {
            period: self.period,
            // A rate is nanos per million tokens: the same number as nanos per unit.
            max_cost_nanos: self
                .max_cost
                .map(|r| i64::try_from(r.nanos_per_million()).unwrap_or(i64::MAX)),
            max_tokens: self.max_tokens,
        }
    }
}

/// What an instance does when Redis (the shared limiter) is unreachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnRedisFailure {
    /// Refuse with 503: nothing is admitted that the shared counters did not see.
    FailClosed,
    /// Count in this process, with each limit divided by `expected_instances`.
    Local,
}

/// `[limits]`: defaults for registered users' keys, and the shared limiter's failure modes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Applied to every registered user's Forge key.
    pub forge_keys: Option<LimitSet>,
    /// Applied to every registered user (all their keys together).
    pub users: Option<LimitSet>,
    /// Hold `max_tokens` against token budgets at admission, so no answer can overshoot.
    pub reserve_max_tokens: bool,
    pub rates_on_redis_failure: OnRedisFailure,
    pub budgets_on_redis_failure: OnRedisFailure,
    /// Instances sharing the limits, for the `local` fallback.
    pub expected_instances: u32,
    /// Prefix of every Redis key (instances sharing limits must agree on it).
    pub redis_prefix: String,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            forge_keys: None,
            users: None,
            reserve_max_tokens: true,
            rates_on_redis_failure: OnRedisFailure::Local,
            budgets_on_redis_failure: OnRedisFailure::FailClosed,
            expected_instances: 1,
            redis_prefix: "forge:rl".into(),
        }
    }
}

/// `[logging]`: opt-in capture of request and response bodies (off unless `enabled`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingConfig {
    pub enabled: bool,
    /// Whose traffic is logged: static key names, `key:<id>` (a Forge key) or `user:<id>`;
    /// empty means everyone's.
    pub keys: Vec<String>,
    /// JSON field names (any depth, case-insensitive) whose values are replaced, on top of
    /// the credential fields that always are.
    pub redact_fields: Vec<String>,
    /// Each body is cut to this many bytes after redaction.
    pub max_body_bytes: usize,
    /// Logs older than this many days are deleted.
    pub retention_days: u32,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        LoggingConfig {
            enabled: false,
            keys: Vec::new(),
            redact_fields: Vec::new(),
            max_body_bytes: 65_536,
            retention_days: 7,
        }
    }
}

/// Who a `[logging] keys` entry names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogSelector<'a> {
    GatewayKey(&'a str),
    ForgeKey(i64),
    User(i64),
}

impl<'a> LogSelector<'a> {
    /// `key:<id>`, `user:<id>`, or a static key's name (which cannot contain `:`).
    pub fn parse(entry: &'a str) -> Option<LogSelector<'a>> {
        let id = |text: &str| text.trim().parse::<i64>().ok().filter(|n| *n > 0);
        match entry.split_once(':') {
            Some(("key", n)) => id(n).map(LogSelector::ForgeKey),
            Some(("user", n)) => id(n).map(LogSelector::User),
            Some(_) => None,
            None => (!entry.is_empty()).then_some(LogSelector::GatewayKey(entry)),
        }
    }
}

fn one() -> u32 {
    1
}

fn default_max_attempts() -> u32 {
    4
}

fn default_max_ejected_share() -> f64 {
    0.5
}

impl Config {
    /// Parses, resolves `env:` references through `env` and validates the file as a whole.
    pub fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut config = deserialize(text)?;
        let mut issues = Vec::new();
        config.resolve_secrets(env, &mut issues);
        config.validate(&mut issues);
        if issues.is_empty() {
            Ok(config)
        } else {
            for issue in &mut issues {
                locate(text, issue);
            }
            Err(ConfigError { issues })
        }
    }

    /// The provider declared under `name`; a name that differs only in case finds it too
    /// (callers lowercase the names clients send), the exact spelling first.
    pub fn provider(&self, name: &str) -> Option<&ProviderConfig> {
        self.providers.iter().find(|p| p.name == name).or_else(|| {
            self.providers
                .iter()
                .find(|p| p.name.eq_ignore_ascii_case(name))
        })
    }

    fn resolve_secrets(
        &mut self,
        env: &dyn Fn(&str) -> Option<String>,
        issues: &mut Vec<ConfigIssue>,
    ) {
        for (p, provider) in self.providers.iter_mut().enumerate() {
            for (k, key) in provider.keys.iter_mut().enumerate() {
                let path = format!("providers[{p}].keys[{k}].key");
                if let Some(var) = key.key.0.strip_prefix("env:") {
                    match env(var) {
                        Some(value) if !value.is_empty() => key.key = Secret(value),
                        _ => issues.push(issue(
                            path,
                            format!("environment variable {var} is not set"),
                        )),
                    }
                } else if key.key.0.is_empty() {
                    issues.push(issue(path, "empty key"));
                }
            }
        }
        for (i, gateway_key) in self.keys.iter_mut().enumerate() {
            let path = format!("keys[{i}].key");
            if let Some(var) = gateway_key.key.strip_prefix("env:") {
                match env(var) {
                    Some(value) if !value.is_empty() => {
                        gateway_key.digest = hex::encode(Sha256::digest(value.as_bytes()));
                    }
                    _ => issues.push(issue(
                        path,
                        format!("environment variable {var} is not set"),
                    )),
                }
            } else if let Some(digest) = gateway_key.key.strip_prefix("sha256:") {
                if digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()) {
                    gateway_key.digest = digest.to_ascii_lowercase();
                } else {
                    issues.push(issue(path, "a sha256 digest is 64 hex digits"));
                }
            } else {
                issues.push(issue(
                    path,
                    "expected `sha256:<hex digest>` or `env:VAR` (keys are never stored in clear)",
                ));
            }
            // The raw form may hold an env var name only; drop it so nothing else reads it.
            gateway_key.key = String::new();
        }
    }

    fn validate(&self, issues: &mut Vec<ConfigIssue>) {
        self.validate_routing(issues);
        self.validate_logging(issues);
        crate::forward::validate(&self.forward, issues);
        for (i, price) in self.prices.iter().enumerate() {
            if let Err(e) = price.validate() {
                issues.push(issue(format!("prices[{i}]"), e.to_string()));
            }
        }
        let mut provider_names = BTreeSet::new();
        for (p, provider) in self.providers.iter().enumerate() {
            let at = format!("providers[{p}]");
            check_name(&provider.name, &format!("{at}.name"), issues);
            if !provider_names.insert(provider.name.as_str()) {
                issues.push(issue(
                    format!("{at}.name"),
                    format!("duplicate provider `{}`", provider.name),
                ));
            }
            match &provider.base_url {
                Some(url) if !(url.starts_with("http://") || url.starts_with("https://")) => {
                    issues.push(issue(
                        format!("{at}.base_url"),
                        "must start with http:// or https://",
                    ));
                }
                None if matches!(
                    provider.kind,
                    ProviderKind::OpenaiCompatible | ProviderKind::Azure
                ) =>
                {
                    issues.push(issue(format!("{at}.base_url"), "required for this kind"));
                }
                _ => {}
            }
            if let Some(check) = &provider.health_check
                && check.interval_ms < 100
            {
                issues.push(issue(
                    format!("{at}.health_check.interval_ms"),
                    "must be at least 100",
                ));
            }
            match (provider.kind, &provider.api_version) {
                (ProviderKind::Azure, None) => {
                    issues.push(issue(format!("{at}.api_version"), "required for azure"));
                }
                (kind, Some(_)) if kind != ProviderKind::Azure => {
                    issues.push(issue(
                        format!("{at}.api_version"),
                        "only azure takes an api_version",
                    ));
                }
                _ => {}
            }
            if provider.keys.is_empty() {
                issues.push(issue(format!("{at}.keys"), "at least one key is required"));
            }
            for (k, key) in provider.keys.iter().enumerate() {
                if key.weight == 0 {
                    issues.push(issue(
                        format!("{at}.keys[{k}].weight"),
                        "must be greater than 0",
                    ));
                }
            }
        }

        for (name, model) in &self.models {
            let at = format!("models.{}", quote_key(name));
            check_name(name, &at, issues);
            if self.aliases.contains_key(name) {
                issues.push(issue(at.clone(), "also declared as an alias"));
            }
            if model.deployments.is_empty() {
                issues.push(issue(
                    format!("{at}.deployments"),
                    "at least one deployment is required",
                ));
            }
            for (d, deployment) in model.deployments.iter().enumerate() {
                let at = format!("{at}.deployments[{d}]");
                if !provider_names.contains(deployment.provider.as_str()) {
                    issues.push(issue(
                        format!("{at}.provider"),
                        format!("unknown provider `{}`", deployment.provider),
                    ));
                }
                if deployment.model.is_empty() {
                    issues.push(issue(format!("{at}.model"), "must not be empty"));
                }
                if deployment.weight == 0 {
                    issues.push(issue(format!("{at}.weight"), "must be greater than 0"));
                }
            }
            let mut seen = BTreeSet::new();
            for (f, fallback) in model.fallbacks.iter().enumerate() {
                let path = format!("{at}.fallbacks[{f}]");
                if !self.models.contains_key(fallback) {
                    issues.push(issue(path, format!("unknown model `{fallback}`")));
                } else if fallback == name {
                    issues.push(issue(path, "a model cannot fall back to itself"));
                } else if !seen.insert(fallback) {
                    issues.push(issue(path, format!("`{fallback}` listed twice")));
                }
            }
            if model.max_attempts == 0 {
                issues.push(issue(format!("{at}.max_attempts"), "must be at least 1"));
            }
            if model.deadline_ms == Some(0) {
                issues.push(issue(format!("{at}.deadline_ms"), "must be greater than 0"));
            }
            if !(0.0..=1.0).contains(&model.max_ejected_share) {
                issues.push(issue(
                    format!("{at}.max_ejected_share"),
                    "must be between 0 and 1",
                ));
            }
            if model.backoff.base_ms > model.backoff.max_ms {
                issues.push(issue(
                    format!("{at}.backoff.base_ms"),
                    "must not exceed backoff.max_ms",
                ));
            }
        }
        if let Some(cycle) = self.fallback_cycle() {
            issues.push(issue(
                format!("models.{}.fallbacks", quote_key(&cycle[0])),
                format!("fallback cycle: {}", cycle.join(" -> ")),
            ));
        }

        for (alias, target) in &self.aliases {
            let path = format!("aliases.{}", quote_key(alias));
            if alias.is_empty() {
                issues.push(issue(path.clone(), "empty alias"));
            }
            if let Err(message) = self.check_target(target, false) {
                issues.push(issue(path, message));
            }
        }
        if let Some(model) = &self.default_model
            && let Err(message) = self.check_target(model, true)
        {
            issues.push(issue("default_model", message));
        }
        let mut priorities = BTreeSet::new();
        for (i, provider) in self.provider_priority.iter().enumerate() {
            if !priorities.insert(provider) {
                issues.push(issue(
                    format!("provider_priority[{i}]"),
                    format!("`{provider}` listed twice"),
                ));
            }
        }

        let mut key_names = BTreeSet::new();
        let mut digests = BTreeSet::new();
        for (i, key) in self.keys.iter().enumerate() {
            check_name(&key.name, &format!("keys[{i}].name"), issues);
            if !key_names.insert(&key.name) {
                issues.push(issue(
                    format!("keys[{i}].name"),
                    format!("duplicate key `{}`", key.name),
                ));
            }
            if !key.digest.is_empty() && !digests.insert(&key.digest) {
                issues.push(issue(
                    format!("keys[{i}].key"),
                    "the same key is declared twice",
                ));
            }
            for (m, model) in key.models.iter().flatten().enumerate() {
                if let Err(message) = self.check_target(model, true) {
                    issues.push(issue(format!("keys[{i}].models[{m}]"), message));
                }
            }
        }
    }

    fn validate_logging(&self, issues: &mut Vec<ConfigIssue>) {
        let logging = &self.logging;
        for (i, entry) in logging.keys.iter().enumerate() {
            let path = format!("logging.keys[{i}]");
            match LogSelector::parse(entry) {
                None => issues.push(issue(
                    path,
                    "expected a static key name, `key:<id>` or `user:<id>`",
                )),
                Some(LogSelector::GatewayKey(name))
                    if !self.keys.iter().any(|k| k.name == name) =>
                {
                    issues.push(issue(path, format!("unknown static key `{name}`")));
                }
                Some(_) => {}
            }
        }
        for (i, field) in logging.redact_fields.iter().enumerate() {
            if field.trim().is_empty() {
                issues.push(issue(
                    format!("logging.redact_fields[{i}]"),
                    "must not be empty",
                ));
            }
        }
        if logging.max_body_bytes < 256 {
            issues.push(issue("logging.max_body_bytes", "must be at least 256"));
        }
        if logging.retention_days == 0 {
            issues.push(issue("logging.retention_days", "must be at least 1"));
        }
    }

    fn validate_routing(&self, issues: &mut Vec<ConfigIssue>) {
        let routing = &self.routing;
        let header_ok = !routing.session_header.is_empty()
            && routing
                .session_header
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !header_ok {
            issues.push(issue("routing.session_header", "not a valid header name"));
        }
        if !(0.0..=1.0).contains(&routing.exploration) {
            issues.push(issue("routing.exploration", "must be between 0 and 1"));
        }
        if !(routing.ewma_alpha > 0.0 && routing.ewma_alpha <= 1.0) {
            issues.push(issue("routing.ewma_alpha", "must be in (0, 1]"));
        }
        let cooldown = &routing.cooldown;
        if cooldown.failures == 0 {
            issues.push(issue("routing.cooldown.failures", "must be at least 1"));
        }
        if cooldown.window_ms == 0 {
            issues.push(issue(
                "routing.cooldown.window_ms",
                "must be greater than 0",
            ));
        }
        if cooldown.base_ms > cooldown.max_ms {
            issues.push(issue(
                "routing.cooldown.base_ms",
                "must not exceed cooldown.max_ms",
            ));
        }
    }

    /// Whether `name` is a model, an alias (if `via_alias`), or `provider:model` /
    /// `provider/model` over a declared provider. Aliases may not point at aliases: one hop
    /// keeps resolution obvious.
    fn check_target(&self, name: &str, via_alias: bool) -> Result<(), String> {
        if self.models.contains_key(name) {
            return Ok(());
        }
        if self.aliases.contains_key(name) {
            return if via_alias {
                Ok(())
            } else {
                Err(format!("`{name}` is itself an alias"))
            };
        }
        match split_qualified(name) {
            Some((provider, _)) if self.provider(provider).is_some() => Ok(()),
            Some((provider, _)) => Err(format!("unknown provider `{provider}` in `{name}`")),
            None => Err(format!("unknown model `{name}`")),
        }
    }

    /// The first cycle in the fallback graph, as the list of models around it.
    fn fallback_cycle(&self) -> Option<Vec<String>> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            Open,
            Done,
        }
        fn visit<'a>(
            config: &'a Config,
            name: &'a str,
            marks: &mut BTreeMap<&'a str, Mark>,
            stack: &mut Vec<&'a str>,
        ) -> Option<Vec<String>> {
            match marks.get(name) {
                Some(Mark::Done) => return None,
                Some(Mark::Open) => {
                    let start = stack.iter().position(|n| *n == name).unwrap_or(0);
                    let mut cycle: Vec<String> =
                        stack[start..].iter().map(|s| (*s).to_owned()).collect();
                    cycle.push(name.to_owned());
                    return Some(cycle);
                }
                None => {}
            }
            marks.insert(name, Mark::Open);
            stack.push(name);
            if let Some(model) = config.models.get(name) {
                for fallback in &model.fallbacks {
                    if fallback != name
                        && let Some(cycle) = visit(config, fallback, marks, stack)
                    {
                        return Some(cycle);
                    }
                }
            }
            stack.pop();
            marks.insert(name, Mark::Done);
            None
        }
        let mut marks = BTreeMap::new();
        for name in self.models.keys() {
            let mut stack = Vec::new();
            if let Some(cycle) = visit(self, name, &mut marks, &mut stack) {
                return Some(cycle);
            }
        }
        None
    }
}

/// Splits `provider:model` or `provider/model` at the first separator.
pub fn split_qualified(name: &str) -> Option<(&str, &str)> {
    let at = name.find([':', '/'])?;
    let (provider, model) = (&name[..at], &name[at + 1..]);
    (!provider.is_empty() && !model.is_empty()).then_some((provider, model))
}

fn deserialize(text: &str) -> Result<Config, ConfigError> {
    let deserializer =
        toml::de::Deserializer::parse(text).map_err(|e| syntax_error(text, "", &e))?;
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        syntax_error(text, &path, e.inner())
    })
}

fn check_name(name: &str, path: &str, issues: &mut Vec<ConfigIssue>) {
    if name.is_empty() {
        issues.push(issue(path, "must not be empty"));
    } else if name.contains([':', '/']) {
        // Names with separators would be ambiguous with `provider:model` references.
        issues.push(issue(path, "must not contain `:` or `/`"));
    }
}

#[cfg(test)]
mod logging_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, &|_| None)
    }

    #[test]
    fn logging_is_off_by_default_and_checked_when_set() {
        let config = parse("").unwrap();
        assert!(!config.logging.enabled);
        assert_eq!(config.logging.max_body_bytes, 65_536);
        let digest = "0".repeat(64);
        let ok = format!(
            "[[keys]]\nname = \"team\"\nkey = \"sha256:{digest}\"\n\n[logging]\nenabled = true\nkeys = [\"team\", \"key:12\", \"user:3\"]\nredact_fields = [\"ssn\"]\n"
        );
        assert_eq!(parse(&ok).unwrap().logging.keys.len(), 3);
        let bad = "[logging]\nkeys = [\"nobody\", \"key:x\", \"\"]\nredact_fields = [\" \"]\nmax_body_bytes = 10\nretention_days = 0\n";
        let paths: Vec<String> = parse(bad)
            .unwrap_err()
            .issues
            .into_iter()
            .map(|i| i.path)
            .collect();
        assert_eq!(
            paths,
            [
                "logging.keys[0]",
                "logging.keys[1]",
                "logging.keys[2]",
                "logging.redact_fields[0]",
                "logging.max_body_bytes",
                "logging.retention_days",
            ]
        );
        assert!(parse("[logging]\nenable = true\n").is_err());
    }

    #[test]
    fn selectors_parse() {
        assert_eq!(
            LogSelector::parse("key:12"),
            Some(LogSelector::ForgeKey(12))
        );
        assert_eq!(LogSelector::parse("user:3"), Some(LogSelector::User(3)));
        assert_eq!(
            LogSelector::parse("team"),
            Some(LogSelector::GatewayKey("team"))
        );
        assert_eq!(LogSelector::parse("key:0"), None);
        assert_eq!(LogSelector::parse("group:1"), None);
    }
}
