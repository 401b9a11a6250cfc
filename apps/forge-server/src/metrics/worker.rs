//! One worker's metric handles and the per-request observation.
//!
//! A family lookup in prometheus-client takes a read lock; here each worker (single-threaded)
//! keeps the handles it already used in plain maps keyed by the raw names, so a request costs
//! a hash lookup and a few atomic adds, and the folding of unknown names into `other` runs
//! once per distinct name. The maps are cleared if they ever grow past `MAX_KEYS` (made-up
//! names), which only costs new lookups.
//!
//! [`RequestObs`] lives as long as the request: the handler holds it, every attempt's meter
//! holds a clone, and a stream's meter keeps it until the last event. When the last holder
//! lets go, the request is counted with its final status, route and provider.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::header::HeaderMap;
use forge_core::usage_record::UsageRecord;
use opentelemetry_sdk::trace::SdkTracer;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use std::sync::atomic::AtomicU64;

use super::histogram::Timer;
use super::{
    AttemptLabels, DialectLabels, EndpointLabels, Metrics, RequestLabels, RouteLabels, TokenLabels,
    UpstreamLabels,
};
use crate::traces::{AttemptSpan, RequestSpan};

const MAX_KEYS: usize = 4096;
/// What a name no route, price or provider table knows is counted as.
pub const OTHER: &str = "other";

type RequestKey = (&'static str, &'static str, Rc<str>, Rc<str>, &'static str);
type AttemptKey = (String, String, Option<String>, bool, String);

struct RequestHandles {
    count: Counter,
    duration: Timer,
}

struct AttemptHandles {
    /// The folded labels, shared with the requests this attempt ends.
    provider: Rc<str>,
    route: Rc<str>,
    count: Counter,
    ttfb: Timer,
    ttft: Timer,
    upstream: Timer,
    /// input, output, cached_input, cache_write, reasoning.
    tokens: [Counter; 5],
    cost: Counter<f64, AtomicU64>,
}

/// A worker's handles (one per worker, made in the app factory).
pub struct WorkerMetrics {
    metrics: Arc<Metrics>,
    requests: RefCell<HashMap<RequestKey, RequestHandles>>,
    overheads: RefCell<HashMap<(&'static str, &'static str), Timer>>,
    in_flight: RefCell<HashMap<&'static str, Gauge>>,
    attempts: RefCell<HashMap<AttemptKey, Rc<AttemptHandles>>>,
    routes: RefCell<HashMap<Rc<str>, (Counter, Counter)>>,
    none: Rc<str>,
    /// Set when traces are exported (`traces.rs`).
    tracer: Option<SdkTracer>,
}

impl WorkerMetrics {
    pub fn new(metrics: Arc<Metrics>, tracer: Option<SdkTracer>) -> Rc<WorkerMetrics> {
        Rc::new(WorkerMetrics {
            metrics,
            requests: RefCell::default(),
            overheads: RefCell::default(),
            in_flight: RefCell::default(),
            attempts: RefCell::default(),
            routes: RefCell::default(),
            none: Rc::from("none"),
            tracer,
        })
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// A request begins: counted in flight until its [`RequestObs`] is dropped.
    pub fn request(
        self: &Rc<Self>,
        dialect: &'static str,
        endpoint: &'static str,
        headers: &HeaderMap,
    ) -> RequestObs {
        self.in_flight(dialect).inc();
        let span = self
            .tracer
            .as_ref()
            .map(|tracer| RequestSpan::start(tracer, headers, dialect));
        RequestObs(Rc::new(Obs {
            span,
            attempts: Cell::new(0),
            worker: self.clone(),
            started: Instant::now(),
            dialect,
            endpoint: Cell::new(endpoint),
            status: Cell::new(0),
            upstream: Cell::new(Duration::ZERO),
            route: RefCell::new(self.none.clone()),
            provider: RefCell::new(self.none.clone()),
        }))
    }

    fn in_flight(&self, dialect: &'static str) -> Gauge {
        self.in_flight
            .borrow_mut()
            .entry(dialect)
            .or_insert_with(|| {
                self.metrics
                    .in_flight
                    .get_or_create(&DialectLabels {
                        dialect: dialect.to_owned(),
                    })
                    .clone()
            })
            .clone()
    }

    fn overhead(&self, dialect: &'static str, endpoint: &'static str) -> Timer {
        self.overheads
            .borrow_mut()
            .entry((dialect, endpoint))
            .or_insert_with(|| {
                self.metrics
                    .overhead
                    .get_or_create(&EndpointLabels {
                        dialect: dialect.to_owned(),
                        endpoint: endpoint.to_owned(),
                    })
                    .clone()
            })
            .clone()
    }

    fn attempt_handles(&self, record: &UsageRecord) -> Rc<AttemptHandles> {
        let outcome = outcome(record);
        let priced = is_priced(record);
        let key: AttemptKey = (
            record.provider.clone(),
            match (&record.deployment, priced) {
                _ if record.endpoint == PASSTHROUGH => String::new(),
                (Some(_), _) => record.requested_model.clone(),
                (None, true) => record.upstream_model.clone(),
                (None, false) => String::new(),
            },
            record.deployment.clone(),
            priced,
            outcome.to_owned(),
        );
        let mut map = self.attempts.borrow_mut();
        if let Some(found) = map.get(&key) {
            return found.clone();
        }
        if map.len() >= MAX_KEYS {
            map.clear();
        }
        let (provider, route, deployment) = fold(record, priced);
        let upstream = UpstreamLabels {
            provider: provider.clone(),
            route: route.clone(),
        };
        let token = |kind: &str| {
            self.metrics
                .tokens
                .get_or_create(&TokenLabels {
                    provider: provider.clone(),
                    route: route.clone(),
                    kind: kind.to_owned(),
                })
                .clone()
        };
        let handles = Rc::new(AttemptHandles {
            count: self
                .metrics
                .attempts
                .get_or_create(&AttemptLabels {
                    provider: provider.clone(),
                    route: route.clone(),
                    deployment,
                    outcome: outcome.to_owned(),
                })
                .clone(),
            ttfb: self.metrics.ttfb.get_or_create(&upstream).clone(),
            ttft: self.metrics.ttft.get_or_create(&upstream).clone(),
            upstream: self.metrics.upstream.get_or_create(&upstream).clone(),
            tokens: [
                token("input"),
                token("output"),
                token("cached_input"),
                token("cache_write"),
                token("reasoning"),
            ],
            cost: self.metrics.cost.get_or_create(&upstream).clone(),
            provider: Rc::from(provider.as_str()),
            route: Rc::from(route.as_str()),
        });
        map.insert(key, handles.clone());
        handles
    }

    fn route_counters(&self, route: &Rc<str>) -> (Counter, Counter) {
        let mut map = self.routes.borrow_mut();
        if let Some(found) = map.get(route) {
            return found.clone();
        }
        if map.len() >= MAX_KEYS {
            map.clear();
        }
        let labels = RouteLabels {
            route: route.to_string(),
        };
        let counters = (
            self.metrics.retries.get_or_create(&labels).clone(),
            self.metrics.failovers.get_or_create(&labels).clone(),
        );
        map.insert(route.clone(), counters.clone());
        counters
    }

    fn finish(&self, obs: &Obs) {
        let total = obs.started.elapsed();
        let class = status_class(obs.status.get());
        let endpoint = obs.endpoint.get();
        self.in_flight(obs.dialect).dec();
        self.overhead(obs.dialect, endpoint)
            .observe(total.saturating_sub(obs.upstream.get()));
        let route = obs.route.borrow().clone();
        let provider = obs.provider.borrow().clone();
        let key: RequestKey = (obs.dialect, endpoint, route, provider, class);
        let mut map = self.requests.borrow_mut();
        if !map.contains_key(&key) && map.len() >= MAX_KEYS {
            map.clear();
        }
        if let Some(span) = &obs.span {
            span.finish(obs.status.get(), &key.2, &key.3, Instant::now());
        }
        let handles = map.entry(key).or_insert_with_key(|key| {
            let labels = RequestLabels {
                dialect: key.0.to_owned(),
                endpoint: key.1.to_owned(),
                route: key.2.to_string(),
                provider: key.3.to_string(),
                status_class: key.4.to_owned(),
            };
            RequestHandles {
                count: self.metrics.requests.get_or_create(&labels).clone(),
                duration: self.metrics.duration.get_or_create(&labels).clone(),
            }
        });
        handles.count.inc();
        handles.duration.observe(total);
    }
}

/// The request's side of the metrics (see the module docs).
#[derive(Clone)]
pub struct RequestObs(Rc<Obs>);

struct Obs {
    worker: Rc<WorkerMetrics>,
    span: Option<RequestSpan>,
    /// Upstream attempts started so far.
    attempts: Cell<u32>,
    started: Instant,
    dialect: &'static str,
    endpoint: Cell<&'static str>,
    status: Cell<u16>,
    /// Time spent waiting on upstreams, summed over attempts.
    upstream: Cell<Duration>,
    route: RefCell<Rc<str>>,
    provider: RefCell<Rc<str>>,
}

impl Drop for Obs {
    fn drop(&mut self) {
        self.worker.clone().finish(self);
    }
}

/// When one attempt's upstream exchange happened.
#[derive(Debug, Clone, Copy, Default)]
pub struct AttemptTiming {
    pub sent: Option<Instant>,
    pub head: Option<Instant>,
    pub first_content: Option<Instant>,
    pub ended: Option<Instant>,
}

impl RequestObs {
    /// What the request head says: its endpoint (Gemini's comes from the path) and model.
    pub fn head(&self, endpoint: &'static str, model: Option<&str>) {
        self.0.endpoint.set(endpoint);
        if let Some(span) = &self.0.span {
            span.head(endpoint, model);
        }
    }

    /// The trace id, when traces are exported.
    pub fn trace_id(&self) -> Option<String> {
        self.0.span.as_ref().map(RequestSpan::trace_id)
    }

    /// An attempt goes upstream: its span (when tracing) and the headers that carry it.
    pub fn start_attempt(
        &self,
        draft: &UsageRecord,
    ) -> Option<(AttemptSpan, Vec<(&'static str, String)>)> {
        let number = self.0.attempts.get() + 1;
        self.0.attempts.set(number);
        self.0.span.as_ref().map(|span| span.attempt(number, draft))
    }

    /// The status the client got (the stream's 200 stays, whatever its end).
    pub fn set_status(&self, status: u16) {
        self.0.status.set(status);
    }

    /// One attempt settled: its counters, and the request's route, provider and upstream time.
    pub fn attempt(&self, record: &UsageRecord, timing: AttemptTiming, span: Option<AttemptSpan>) {
        if let Some(span) = span {
            span.finish(record, timing.ended);
        }
        let handles = self.0.worker.attempt_handles(record);
        handles.count.inc();
        if let Some(sent) = timing.sent {
            let ended = timing.ended.unwrap_or_else(Instant::now);
            let spent = ended.saturating_duration_since(sent);
            self.0.upstream.set(self.0.upstream.get() + spent);
            handles.upstream.observe(spent);
            if let Some(head) = timing.head {
                handles.ttfb.observe(head.saturating_duration_since(sent));
            }
            if let Some(first) = timing.first_content.filter(|_| record.streamed) {
                handles.ttft.observe(first.saturating_duration_since(sent));
            }
        }
        let counts = [
            record.input_tokens,
            record.output_tokens,
            record.cached_read_tokens,
            record.cache_write_tokens,
            record.reasoning_tokens,
        ];
        for (counter, n) in handles.tokens.iter().zip(counts) {
            if n > 0 {
                counter.inc_by(n.unsigned_abs());
            }
        }
        if let Some(nanos) = record.cost_nanos.filter(|n| *n > 0)
            && record.currency.eq_ignore_ascii_case("usd")
        {
            handles.cost.inc_by(nanos as f64 / 1e9);
        }
        *self.0.route.borrow_mut() = handles.route.clone();
        *self.0.provider.borrow_mut() = handles.provider.clone();
    }

    /// The request was refused by a limit or budget.
    pub fn refused(&self, refused: &crate::limits::Refused) {
        use forge_limits::Scope;
        let (scope, kind) = match refused {
            crate::limits::Refused::Over(r) => (
                match &r.scope {
                    Scope::ForgeKey(_) => "key",
                    Scope::User(_) => "user",
                    Scope::GatewayKey(_) => "gateway_key",
                    Scope::Model(_) => "route",
                    Scope::Deployment(_) => "deployment",
                },
                r.kind.as_str(),
            ),
            crate::limits::Refused::Unavailable => ("limiter", "unavailable"),
        };
        self.0.worker.metrics.rejected(scope, kind);
    }

    /// The next attempt retries the same deployment (`true`) or moves on (`false`).
    pub fn next_attempt(&self, same_deployment: bool) {
        let route = self.0.route.borrow().clone();
        let (retries, failovers) = self.0.worker.route_counters(&route);
        if same_deployment {
            retries.inc();
        } else {
            failovers.inc();
        }
    }
}

fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => "none",
    }
}

fn outcome(record: &UsageRecord) -> &str {
    match &record.error_class {
        Some(class) => class,
        None if record.status >= 400 => "error",
        None => "ok",
    }
}

/// A pass-through record's "model" is the request path: never a label.
const PASSTHROUGH: &str = "passthrough";

/// Whether the record's model has a price (its name is then one Forge's tables know).
fn is_priced(record: &UsageRecord) -> bool {
    !matches!(
        record.price_source.as_str(),
        "" | "unknown" | "tokens_unknown"
    )
}

/// Bounded labels for an attempt: a forge.toml deployment's names are the operator's own; a
/// user key's provider and model count only when Forge's tables know them; a pass-through's
/// route is `passthrough`.
fn fold(record: &UsageRecord, priced: bool) -> (String, String, String) {
    if record.endpoint == PASSTHROUGH {
        let provider = match &record.deployment {
            Some(_) => record.provider.clone(),
            None if known_provider(&record.provider) => record.provider.clone(),
            None => OTHER.to_owned(),
        };
        let deployment = record
            .deployment
            .clone()
            .unwrap_or_else(|| "user_key".to_owned());
        return (provider, PASSTHROUGH.to_owned(), deployment);
    }
    match &record.deployment {
        Some(deployment) => (
            record.provider.clone(),
            record.requested_model.clone(),
            deployment.clone(),
        ),
        None => {
            let provider = if known_provider(&record.provider) {
                record.provider.clone()
            } else {
                OTHER.to_owned()
            };
            let route = if priced {
                record.upstream_model.clone()
            } else {
                OTHER.to_owned()
            };
            (provider, route, "user_key".to_owned())
        }
    }
}

fn known_provider(name: &str) -> bool {
    matches!(name, "anthropic" | "gemini" | "gemini-openai")
        || forge_provider_openai::lookup(name)
            .default_base_url
            .is_some()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::metrics::{Format, scrape::Scraped};

    fn record(deployment: Option<&str>, provider: &str, model: &str, priced: bool) -> UsageRecord {
        UsageRecord {
            deployment: deployment.map(str::to_owned),
            provider: provider.to_owned(),
            requested_model: model.to_owned(),
            upstream_model: model.to_owned(),
            price_source: if priced { "table:1" } else { "unknown" }.to_owned(),
            status: 200,
            input_tokens: 10,
            output_tokens: 5,
            ..UsageRecord::default()
        }
    }

    #[test]
    fn made_up_names_fold_into_other() {
        let metrics = Arc::new(Metrics::new(Scraped::default()));
        let worker = WorkerMetrics::new(metrics.clone(), None);
        for (deployment, provider, model, priced) in [
            (None, "my-own-llm", "gpt-4o", true),
            (None, "openai", "made-up-model-x", false),
            (Some("oa-1"), "oa", "m", false),
        ] {
            let obs = worker.request("openai", "chat/completions", &HeaderMap::new());
            obs.attempt(
                &record(deployment, provider, model, priced),
                AttemptTiming::default(),
                None,
            );
            obs.set_status(200);
        }
        let text = metrics.render(Format::Text).unwrap();
        assert!(
            text.contains(r#"provider="other",route="gpt-4o""#),
            "{text}"
        );
        assert!(
            text.contains(r#"provider="openai",route="other""#),
            "{text}"
        );
        assert!(
            text.contains(r#"provider="oa",route="m",deployment="oa-1""#),
            "{text}"
        );
        assert!(!text.contains("my-own-llm") && !text.contains("made-up-model-x"));
        assert!(text.contains(
            r#"forge_requests_total{dialect="openai",endpoint="chat/completions",route="m",provider="oa",status_class="2xx"} 1"#
        ), "{text}");
        assert!(text.contains(r#"forge_requests_in_flight{dialect="openai"} 0"#));
    }
}
