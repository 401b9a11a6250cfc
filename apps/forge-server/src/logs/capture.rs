//! Deciding, once per request, whether its bodies are logged, and gathering them while its
//! attempts run. Nothing here copies a body: requests and whole answers are shared `Bytes`,
//! and redaction waits for the flusher.

use std::sync::Arc;

use actix_web::{HttpMessage, HttpRequest, web};
use bytes::Bytes;
use forge_core::usage_record::UsageRecord;
use forge_router::config::{LogSelector, LoggingConfig};
use forge_storage::RequestLog;
use zeroize::Zeroizing;

use crate::auth::key_cache::AuthContext;
use crate::logs::pending::{Pending, Redaction, add_secret};
use crate::logs::redact::Policy;
use crate::logs::sink::LogSink;
use crate::routing::{Routing, Snapshot};

/// The request body, kept on the request (only while logging is on) for the attempts' logs.
#[derive(Clone)]
struct RequestBody(Bytes);

/// Called where proxy routes read their body: keeps a handle on it when logging is enabled.
pub fn keep_request_body(req: &HttpRequest, body: &Bytes) {
    let enabled = req
        .app_data::<web::Data<Routing>>()
        .is_some_and(|routing| routing.snapshot().config.logging.enabled);
    if enabled {
        req.extensions_mut().insert(RequestBody(body.clone()));
    }
}

/// Whether `[logging]` covers this caller.
pub fn applies(config: &LoggingConfig, ctx: &AuthContext) -> bool {
    if !config.enabled {
        return false;
    }
    if config.keys.is_empty() {
        return true;
    }
    let user_key = ctx.gateway.is_none();
    config
        .keys
        .iter()
        .filter_map(|entry| LogSelector::parse(entry))
        .any(|selector| match selector {
            LogSelector::GatewayKey(name) => ctx.gateway.as_ref().is_some_and(|g| g.name == name),
            LogSelector::ForgeKey(id) => user_key && ctx.key_id == id,
            LogSelector::User(id) => user_key && ctx.user_id == id,
        })
}

/// One request's logging: its body, the credentials it presented (to mask them), and the
/// redaction in force when it was admitted. Shared by all its attempts.
pub struct Plan {
    sink: Arc<LogSink>,
    redaction: Arc<Redaction>,
}

/// `Some` when the request's bodies are to be logged.
pub fn plan(
    sink: &Arc<LogSink>,
    snapshot: &Snapshot,
    req: &HttpRequest,
    ctx: &AuthContext,
) -> Option<Arc<Plan>> {
    let config = &snapshot.config.logging;
    if !applies(config, ctx) {
        return None;
    }
    let request = req
        .extensions()
        .get::<RequestBody>()
        .map(|b| b.0.clone())
        .unwrap_or_default();
    let mut secrets = presented_credentials(req);
    // Every credential forge.toml holds: an upstream may echo any of them.
    for deployment in snapshot.table.deployments() {
        add_secret(&mut secrets, deployment.api_key.expose());
    }
    Some(Arc::new(Plan {
        sink: sink.clone(),
        redaction: Arc::new(Redaction {
            request,
            secrets,
            policy: Policy::new(config),
        }),
    }))
}

/// Every credential the request carries, in any of the places Forge reads one from. Short
/// values are left out: masking them would mangle ordinary text.
fn presented_credentials(req: &HttpRequest) -> Vec<Zeroizing<String>> {
    let headers = req.headers();
    let mut found: Vec<Zeroizing<String>> = Vec::new();
    let mut add = |value: &str| add_secret(&mut found, value);
    for name in ["x-api-key", "api-key", "x-goog-api-key"] {
        if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
            add(v);
        }
    }
    if let Some(v) = headers
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        add(crate::auth::bearer(v).unwrap_or(v));
    }
    for (name, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        if name == "key" {
            add(&value);
        }
    }
    found
}

/// One attempt's share of a [`Plan`]: the answer, once there is one, and the provider
/// credential the attempt used.
pub struct Capture {
    plan: Arc<Plan>,
    secret: Zeroizing<String>,
    response: Option<Bytes>,
}

impl Capture {
    pub fn new(plan: Arc<Plan>, secret: &str) -> Capture {
        Capture {
            plan,
            secret: Zeroizing::new(secret.to_owned()),
            response: None,
        }
    }

    /// A whole answer (or an upstream's error body); a later one replaces it.
    pub fn response(&mut self, body: &Bytes) {
        self.response = Some(body.clone());
    }

    /// Hands the settled attempt to the sink; `delivered` is a stream's output text, used
    /// when no whole answer was seen.
    pub fn finish(self, record: &UsageRecord, delivered: &str) {
        let response = match self.response {
            Some(body) => Some(body),
            None if record.streamed && !delivered.is_empty() => {
                Some(Bytes::copy_from_slice(delivered.as_bytes()))
            }
            None => None,
        };
        let log = RequestLog {
            id: record.id.clone(),
            request_id: record.request_id.clone(),
            started_at_ms: record.started_at_ms,
            user_id: record.user_id,
            forge_key_id: record.forge_key_id,
            gateway_key: record.gateway_key.clone(),
            provider: record.provider.clone(),
            model: record.requested_model.clone(),
            upstream_model: record.upstream_model.clone(),
            endpoint: record.endpoint.clone(),
            status: record.status,
            streamed: record.streamed,
            ..RequestLog::default()
        };
        self.plan.sink.push(Pending {
            log,
            redaction: self.plan.redaction.clone(),
            secret: self.secret,
            response,
        });
    }
}
