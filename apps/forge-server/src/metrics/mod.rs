//! Prometheus metrics (`GET /metrics`), kept off the request path's critical section.
//!
//! Every metric is registered once here, in one prometheus-client registry. The request path
//! never looks a metric up by its labels under a lock: each worker keeps the handles it used
//! (`worker.rs`; a handle is an atomic, or a lock-free histogram), and a request records once
//! per attempt when its meter settles and once when it ends. What the server already counts
//! elsewhere (usage and log sinks, the database pool, deployment health, the process) is read
//! at scrape time (`scrape.rs`).
//!
//! Label sets are bounded: dialects and endpoints are Forge's own; routes, deployments and
//! providers come from forge.toml or Forge's provider table; a name a client made up (a model
//! no route or price knows, a custom provider name) is folded into `other`. No key, user or
//! request id is ever a label.

pub mod endpoint;
pub mod histogram;
pub mod scrape;
pub mod worker;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

use self::histogram::Timer;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub dialect: String,
    pub endpoint: String,
    pub route: String,
    pub provider: String,
    pub status_class: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DialectLabels {
    pub dialect: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabels {
    pub dialect: String,
    pub endpoint: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AttemptLabels {
    pub provider: String,
    pub route: String,
    pub deployment: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamLabels {
    pub provider: String,
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TokenLabels {
    pub provider: String,
    pub route: String,
    /// `input`, `output`, `cached_input`, `cache_write`, `reasoning`.
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RejectionLabels {
    /// `key`, `user`, `route`, `deployment`, `gateway`, or `limiter` (unavailable).
    pub scope: String,
    /// `rpm`, `tpm`, `concurrency`, `budget`, ...
    pub kind: String,
}

/// Every metric the request path records.
pub struct Metrics {
    registry: Registry,
    pub(crate) requests: Family<RequestLabels, Counter>,
    pub(crate) in_flight: Family<DialectLabels, Gauge>,
    pub(crate) duration: Family<RequestLabels, Timer>,
    pub(crate) overhead: Family<EndpointLabels, Timer>,
    pub(crate) attempts: Family<AttemptLabels, Counter>,
    pub(crate) ttfb: Family<UpstreamLabels, Timer>,
    pub(crate) ttft: Family<UpstreamLabels, Timer>,
    pub(crate) upstream: Family<UpstreamLabels, Timer>,
    pub(crate) tokens: Family<TokenLabels, Counter>,
    pub(crate) cost: Family<UpstreamLabels, Counter<f64, AtomicU64>>,
    pub(crate) retries: Family<RouteLabels, Counter>,
    pub(crate) failovers: Family<RouteLabels, Counter>,
    pub(crate) rejections: Family<RejectionLabels, Counter>,
}

/// The exposition formats `GET /metrics` speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4 (the default).
    Text,
    /// OpenMetrics 1.0 text, for scrapers that ask for it.
    OpenMetrics,
}

impl Metrics {
    /// The registry, with the scrape-time collector for what other parts already count.
    pub fn new(scraped: scrape::Scraped) -> Metrics {
        let mut registry = Registry::default();
        let m = Metrics {
            registry: Registry::default(),
            requests: Family::default(),
            in_flight: Family::default(),
            duration: Family::default(),
            overhead: Family::default(),
            attempts: Family::default(),
            ttfb: Family::default(),
            ttft: Family::default(),
            upstream: Family::default(),
            tokens: Family::default(),
            cost: Family::default(),
            retries: Family::default(),
            failovers: Family::default(),
            rejections: Family::default(),
        };
        registry.register(
            "forge_requests",
            "Inference requests answered, by client dialect, endpoint, route, provider and status class",
            m.requests.clone(),
        );
        registry.register(
            "forge_requests_in_flight",
            "Inference requests being served (streams until their last event)",
            m.in_flight.clone(),
        );
        registry.register(
            "forge_request_duration_seconds",
            "Whole request time as Forge saw it, streams included",
            m.duration.clone(),
        );
        registry.register(
            "forge_gateway_overhead_seconds",
            "Time a request spent in Forge rather than waiting on upstreams: before the upstream request was sent, and after its last byte (retry backoff included)",
            m.overhead.clone(),
        );
        registry.register(
            "forge_upstream_attempts",
            "Upstream attempts by deployment and outcome (ok or the error class)",
            m.attempts.clone(),
        );
        registry.register(
            "forge_upstream_ttfb_seconds",
            "Upstream time to the response head",
            m.ttfb.clone(),
        );
        registry.register(
            "forge_upstream_ttft_seconds",
            "Upstream time to the first content (streamed answers)",
            m.ttft.clone(),
        );
        registry.register(
            "forge_upstream_duration_seconds",
            "Upstream time from sending the request to its last byte",
            m.upstream.clone(),
        );
        registry.register(
            "forge_tokens",
            "Tokens by provider, route and kind (input, output, cached_input, cache_write, reasoning)",
            m.tokens.clone(),
        );
        registry.register(
            "forge_cost_usd",
            "Cost of the settled attempts in USD, from the price table",
            m.cost.clone(),
        );
        registry.register(
            "forge_retries",
            "Attempts that retried the same deployment",
            m.retries.clone(),
        );
        registry.register(
            "forge_failovers",
            "Attempts that moved to another deployment or fallback model",
            m.failovers.clone(),
        );
        registry.register(
            "forge_limit_rejections",
            "Requests refused by a rate limit, concurrency limit or budget, by scope and kind",
            m.rejections.clone(),
        );
        registry.register_collector(Box::new(scraped));
        Metrics { registry, ..m }
    }

    /// The whole exposition in `format`.
    pub fn render(&self, format: Format) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(16 * 1024);
        match format {
            Format::Text => {
                prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)?
            }
            Format::OpenMetrics => {
                prometheus_client::encoding::text::encode(&mut out, &self.registry)?
            }
        }
        Ok(out)
    }

    /// A request refused by a limit or budget.
    pub fn rejected(&self, scope: &str, kind: &str) {
        self.rejections
            .get_or_create(&RejectionLabels {
                scope: scope.to_owned(),
                kind: kind.to_owned(),
            })
            .inc();
    }
}
