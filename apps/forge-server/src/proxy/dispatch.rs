//! Where a request goes and how often it is tried. A model the caller's own provider keys
//! serve (Forge v1 resolution) gets one attempt on that key. Otherwise the forge.toml routing
//! table plans attempts over deployments: retries with backoff, then the next deployment,
//! then fallback models, within the route's attempt budget and deadline. An attempt that
//! committed a response (first content sent) is never retried; one whose upstream already
//! accepted the request (2xx) may move on, but never back to that deployment.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use forge_core::Error;
use forge_router::table::Deployment;

use crate::auth::key_cache::AuthContext;
use crate::config::Timeouts;
use crate::limits::charge::Charge;
use crate::limits::{Refused, refusal_error, scopes};
use crate::proxy::dialect::Dialect;
use crate::proxy::resolve::{self, MAX_MODEL_LEN};
use crate::proxy::transport::Transport;
use crate::proxy::upstream::Upstream;
use crate::routing::Snapshot;
use crate::routing::outcome::StreamOutcome;
use crate::state::AppState;
use crate::usage::meter::{Meter, PromptEstimate};
use forge_core::usage_record::UsageRecord;
use forge_limits::Reservation;
use forge_limits::headers::rejection_headers;

/// Session ids longer than this are ignored rather than stored.
const MAX_SESSION_LEN: usize = 256;

/// One attempt's destination, handed to the dialect's attempt function.
pub struct Target {
    pub upstream: Upstream,
    /// The provider's name (lowercase for user keys), for logs and error messages.
    pub provider: String,
    /// The model name the upstream expects.
    pub model: String,
    pub timeouts: Timeouts,
    /// Settles a streamed attempt with the router; `None` for unrouted requests.
    pub outcome: Option<StreamOutcome>,
    /// Set once the upstream answered 2xx: the request was accepted there.
    pub accepted: Rc<Cell<bool>>,
    /// The attempt's usage record; `None` where nothing is billed (token counting).
    pub meter: Option<Meter>,
}

/// What the handler knows about the request before any upstream is chosen.
pub struct Call<'a> {
    pub req: &'a HttpRequest,
    pub ctx: &'a AuthContext,
    /// `None`: the request named no model (the configured default applies).
    pub model: Option<&'a str>,
    pub stream: bool,
    /// The client's dialect, for an error answered after routed attempts (it carries the
    /// `x-forge-*` headers too).
    pub dialect: Dialect,
    /// What usage records call the endpoint (`chat/completions`, `messages`, ...).
    pub endpoint: &'static str,
    /// Counts the prompt for a model when an upstream reports no usage.
    pub estimate: PromptEstimate,
    /// Input tokens reserved against limits at admission (a cheap estimate from the size).
    pub reserve_tokens: u64,
    /// The request's own cap on output tokens, held against token budgets.
    pub max_tokens: Option<u64>,
}

impl Call<'_> {
    /// The usual reserve: about four bytes of JSON per token.
    pub fn reserve_for(body_len: usize) -> u64 {
        (body_len as u64).div_ceil(4)
    }
}

/// Admits the request under every limit that applies; `Err` is the refusal to send.
async fn admit(
    state: &AppState,
    call: &Call<'_>,
    snapshot: &Snapshot,
    route: Option<&str>,
    priced_as: (&str, &str),
) -> Result<Option<Rc<Charge>>, HttpResponse> {
    let applicable = scopes::for_request(snapshot, call.ctx, route);
    if applicable.is_empty() {
        return Ok(None);
    }
    let config = &snapshot.config.limits;
    let output = if config.reserve_max_tokens {
        call.max_tokens.unwrap_or(0)
    } else {
        0
    };
    let estimate = forge_core::canonical::Usage {
        input_tokens: call.reserve_tokens,
        output_tokens: output,
        ..Default::default()
    };
    let cost = state
        .pricing
        .estimate(priced_as.0, priced_as.1, &estimate)
        .unwrap_or(0);
    let reservation = Reservation {
        tokens: call.reserve_tokens,
        budget_tokens: i64::try_from(call.reserve_tokens.saturating_add(output))
            .unwrap_or(i64::MAX),
        cost_nanos: cost,
        lease_ms: forge_limits::DEFAULT_LEASE_MS,
    };
    let lease = new_id();
    match state
        .limits
        .admit(
            config,
            &applicable.limits,
            &applicable.budgets,
            reservation,
            &lease,
        )
        .await
    {
        Ok(admitted) => Ok(Some(Rc::new(Charge::new(
            state.limits.clone(),
            admitted.issuer,
            admitted.ticket,
        )))),
        Err(refused) => {
            let error = refusal_error(&refused);
            let mut resp = call.dialect.error_response(&error);
            if let Refused::Over(rejection) = &refused {
                put_headers(&mut resp, &rejection_headers(rejection));
            }
            Err(resp)
        }
    }
}

fn put_headers(resp: &mut HttpResponse, headers: &[(&'static str, String)]) {
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            resp.headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
    }
}

/// Per-request facts every attempt's usage record shares.
struct Billing<'a> {
    state: &'a AppState,
    call: &'a Call<'a>,
    request_id: String,
    requested: String,
    /// Set when the request's bodies are logged (`[logging]`).
    log: Option<Arc<crate::logs::Plan>>,
}

impl Billing<'_> {
    fn meter(
        &self,
        provider: &str,
        upstream_model: &str,
        provider_key: Option<i64>,
        deployment: Option<&str>,
        secret: &str,
    ) -> Meter {
        let ctx = self.call.ctx;
        let draft = UsageRecord {
            id: new_id(),
            request_id: self.request_id.clone(),
            started_at_ms: chrono::Utc::now().timestamp_millis(),
            user_id: ctx.gateway.is_none().then_some(ctx.user_id),
            forge_key_id: ctx.gateway.is_none().then_some(ctx.key_id),
            gateway_key: ctx.gateway.as_ref().map(|k| k.name.clone()),
            provider_key_id: provider_key,
            deployment: deployment.map(str::to_owned),
            provider: provider.to_owned(),
            requested_model: self.requested.clone(),
            upstream_model: upstream_model.to_owned(),
            endpoint: self.call.endpoint.to_owned(),
            dialect: self.call.dialect.name().to_owned(),
            input_tokens: 0,
            cached_read_tokens: 0,
            cache_write_tokens: 0,
            output_tokens: 0,
            reasoning_tokens: 0,
            cost_nanos: None,
            currency: String::new(),
            price_source: String::new(),
            status: 0,
            error_class: None,
            streamed: self.call.stream,
            estimated: false,
            ttft_ms: None,
            duration_ms: 0,
            client_disconnected: false,
        };
        let meter = Meter::new(
            draft,
            self.state.usage.clone(),
            self.state.pricing.clone(),
            self.call.estimate.clone(),
        );
        if let Some(plan) = &self.log {
            meter.log_to(plan, secret);
        }
        meter
    }
}

/// 32 hex characters, unique across processes and ordered by time: the Unix time in
/// milliseconds (12 hex digits), 8 random bytes drawn once per process, and a per-process
/// counter (4 hex digits, wrapping; with the millisecond it separates 65,536 ids per ms).
/// Ids need uniqueness, not secrecy, so the request path makes no syscall. Time order keeps
/// each usage record's primary-key insert at the end of the index: random ids scattered
/// every batch over the whole index, one WAL page write per record.
pub fn new_id() -> String {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEED: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = *SEED.get_or_init(|| {
        let mut bytes = [0u8; 8];
        if getrandom::fill(&mut bytes).is_err() {
            // No entropy is a broken machine; the clock still separates processes.
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            bytes = (nanos as u64).to_le_bytes();
        }
        u64::from_le_bytes(bytes)
    });
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut id = String::with_capacity(32);
    push_hex(&mut id, ms, 12);
    push_hex(&mut id, seed, 16);
    push_hex(&mut id, n, 4);
    id
}

/// The low `digits` hex digits of `value` (`format!` costs ten times as much).
fn push_hex(out: &mut String, value: u64, digits: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in (0..digits).rev() {
        out.push(char::from(HEX[((value >> (i * 4)) & 0xf) as usize]));
    }
}

/// Settles a non-streamed attempt, or one that failed before its stream began.
fn settle(meter: &Meter, result: &Result<HttpResponse, Error>) {
    match result {
        Ok(resp) if !meter.settled() => {
            // A stream settles itself when its body ends; a whole answer settles here.
            if !matches!(resp.body().size(), actix_web::body::BodySize::Stream) {
                meter.settle(resp.status().as_u16(), None, false);
            }
        }
        Ok(_) => {}
        Err(error) => meter.settle(error.status(), Some(error), false),
    }
}

/// Chooses upstreams for `call` and runs `attempt` on them until one answers.
pub async fn dispatch<F>(
    state: &AppState,
    transport: &Transport,
    call: Call<'_>,
    mut attempt: F,
) -> Result<HttpResponse, Error>
where
    F: AsyncFnMut(Target) -> Result<HttpResponse, Error>,
{
    let started = Instant::now();
    let model = call.model.map(str::trim);
    if let Some(model) = model {
        check_model(model)?;
    }
    let snapshot = state.routing.snapshot();
    let config_allowed = config_access(&snapshot, call.ctx, model)?;
    if call.ctx.gateway.is_some() {
        return routed(
            state,
            transport,
            &call,
            &snapshot,
            model,
            started,
            &mut attempt,
        )
        .await;
    }
    let Some(model) = model else {
        if config_allowed && snapshot.config.default_model.is_some() {
            return routed(
                state,
                transport,
                &call,
                &snapshot,
                None,
                started,
                &mut attempt,
            )
            .await;
        }
        return Err(missing_model());
    };
    match resolve::resolve_with(call.ctx, model, &snapshot.config.provider_priority) {
        Ok(route) => {
            let charge = match admit(
                state,
                &call,
                &snapshot,
                None,
                (&route.provider.name_lower, &route.upstream_model),
            )
            .await
            {
                Ok(charge) => charge,
                Err(refusal) => return Ok(refusal),
            };
            let billing = Billing {
                state,
                call: &call,
                request_id: new_id(),
                requested: model.to_owned(),
                log: crate::logs::plan(state, &snapshot, call.req, call.ctx),
            };
            let meter = billing.meter(
                &route.provider.name_lower,
                &route.upstream_model,
                Some(route.provider.id),
                None,
                &route.provider.api_key,
            );
            if let Some(charge) = &charge {
                meter.charge(charge.clone());
            }
            let target = Target {
                upstream: Upstream::for_provider(route.provider)?,
                provider: route.provider.name_lower.clone(),
                model: route.upstream_model,
                timeouts: transport.timeouts,
                outcome: None,
                accepted: Rc::new(Cell::new(false)),
                meter: Some(meter.clone()),
            };
            let provider = target.provider.clone();
            let upstream_model = target.model.clone();
            let result = attempt(target).await;
            settle(&meter, &result);
            let mut resp = result?;
            decorate(&mut resp, &provider, &upstream_model, 1, started.elapsed());
            if let Some(charge) = &charge {
                put_headers(&mut resp, &charge.headers());
            }
            Ok(resp)
        }
        Err(Error::ModelNotFound { .. })
            if config_allowed && snapshot.table.resolve(model).is_some() =>
        {
            routed(
                state,
                transport,
                &call,
                &snapshot,
                Some(model),
                started,
                &mut attempt,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

/// Where a request that is not forwarded as such would go (token counting): the caller's own
/// provider key, else the first deployment the routing table would try now. Nothing is
/// recorded against the deployment.
pub fn single_target(
    state: &AppState,
    transport: &Transport,
    ctx: &AuthContext,
    req: &HttpRequest,
    model: Option<&str>,
) -> Result<Target, Error> {
    let model = model.map(str::trim);
    if let Some(model) = model {
        check_model(model)?;
    }
    let snapshot = state.routing.snapshot();
    let config_allowed = config_access(&snapshot, ctx, model)?;
    if ctx.gateway.is_none()
        && let Some(model) = model
    {
        match resolve::resolve_with(ctx, model, &snapshot.config.provider_priority) {
            Ok(route) => {
                return Ok(Target {
                    upstream: Upstream::for_provider(route.provider)?,
                    provider: route.provider.name_lower.clone(),
                    model: route.upstream_model,
                    timeouts: transport.timeouts,
                    outcome: None,
                    accepted: Rc::new(Cell::new(false)),
                    meter: None,
                });
            }
            Err(Error::ModelNotFound { .. }) if config_allowed => {}
            Err(e) => return Err(e),
        }
    }
    if !config_allowed {
        return Err(match model {
            Some(model) => Error::ModelNotFound {
                model: model.to_owned(),
            },
            None => missing_model(),
        });
    }
    let session = session_id(req, &snapshot.config.routing.session_header);
    let decision = state
        .routing
        .with_router(|router, rng| router.decide(model, session, Instant::now(), rng))?;
    let first = decision
        .candidates
        .first()
        .or(decision.excluded.first())
        .and_then(|c| snapshot.table.deployment_by_id(&c.id))
        .map(|(_, d)| d.clone())
        .ok_or_else(|| no_deployment(model.unwrap_or("the default model")))?;
    Ok(Target {
        upstream: Upstream::for_deployment(&first)?,
        provider: first.provider.clone(),
        model: first.upstream_model.clone(),
        timeouts: transport.timeouts,
        outcome: None,
        accepted: Rc::new(Cell::new(false)),
        meter: None,
    })
}

/// Whether the caller may use forge.toml routes: a static key for the models it lists (an
/// error otherwise), a user's key only when the file serves user keys and the key is not
/// scoped to particular provider keys.
fn config_access(
    snapshot: &Snapshot,
    ctx: &AuthContext,
    model: Option<&str>,
) -> Result<bool, Error> {
    let Some(key) = &ctx.gateway else {
        return Ok(may_use_config(snapshot, ctx));
    };
    let name = model
        .map(str::to_owned)
        .or_else(|| snapshot.config.default_model.clone())
        .ok_or_else(missing_model)?;
    if snapshot.table.key_allows(key, &name) {
        Ok(true)
    } else {
        Err(Error::PermissionDenied(format!(
            "API key is not permitted to use model '{name}'."
        )))
    }
}

/// Whether the caller may use forge.toml routes at all (a static key: some of them).
pub fn may_use_config(snapshot: &Snapshot, ctx: &AuthContext) -> bool {
    ctx.gateway.is_some()
        || (snapshot.config.routing.serve_user_keys && ctx.scope.is_none() && snapshot.has_routes())
}

fn check_model(model: &str) -> Result<(), Error> {
    if model.len() > MAX_MODEL_LEN {
        return Err(Error::InvalidRequest {
            message: format!("model must be at most {MAX_MODEL_LEN} bytes"),
            param: Some("model".into()),
        });
    }
    if model.is_empty() {
        return Err(missing_model());
    }
    Ok(())
}

fn missing_model() -> Error {
    Error::InvalidRequest {
        message: "you must provide a model parameter".into(),
        param: Some("model".into()),
    }
}

/// The attempt loop over the routing table.
async fn routed<F>(
    state: &AppState,
    transport: &Transport,
    call: &Call<'_>,
    snapshot: &Snapshot,
    model: Option<&str>,
    started: Instant,
    attempt: &mut F,
) -> Result<HttpResponse, Error>
where
    F: AsyncFnMut(Target) -> Result<HttpResponse, Error>,
{
    let routing = Arc::clone(&state.routing);
    let session = session_id(call.req, &snapshot.config.routing.session_header);
    let billing = Billing {
        state,
        call,
        request_id: new_id(),
        requested: model
            .map(str::to_owned)
            .or_else(|| snapshot.config.default_model.clone())
            .unwrap_or_default(),
        log: crate::logs::plan(state, snapshot, call.req, call.ctx),
    };
    let mut plan = routing.with_router(|router, rng| router.plan(model, session, started, rng))?;
    let route_name = plan.plan.route_name().to_owned();
    let priced_as = plan
        .table()
        .resolve(&route_name)
        .and_then(|r| r.targets.first())
        .and_then(|t| plan.table().deployment(t.deployment))
        .map(|d| (d.provider.clone(), d.upstream_model.clone()))
        .unwrap_or_default();
    let charge = match admit(
        state,
        call,
        snapshot,
        Some(&route_name),
        (&priced_as.0, &priced_as.1),
    )
    .await
    {
        Ok(charge) => charge,
        Err(refusal) => return Ok(refusal),
    };
    // A deployment at its own rate limit is skipped, not blamed; if every one is, the client
    // gets that limit's 429.
    let mut skip = false;
    let mut deployment_refusal: Option<Refused> = None;
    // Attempts sent upstream (a deployment skipped at its own limit is not one).
    let mut sent = 0u32;
    let mut last: Option<Error> = None;
    let mut tried: Option<Deployment> = None;
    loop {
        let now = Instant::now();
        let blame = if std::mem::take(&mut skip) {
            None
        } else {
            last.as_ref()
        };
        let next = routing
            .with_router(|router, rng| router.next_attempt(&mut plan, blame, session, now, rng));
        let Some(next) = next else {
            let Some(error) = last else {
                if let Some(refused) = &deployment_refusal {
                    let mut resp = call.dialect.error_response(&refusal_error(refused));
                    if let Refused::Over(r) = refused {
                        put_headers(&mut resp, &rejection_headers(r));
                    }
                    return Ok(resp);
                }
                return Err(no_deployment(model.unwrap_or("the default model")));
            };
            let mut resp = call.dialect.error_response(&error);
            let (provider, upstream_model) = match &tried {
                Some(d) => (d.provider.as_str(), d.upstream_model.as_str()),
                None => ("", ""),
            };
            decorate(&mut resp, provider, upstream_model, sent, started.elapsed());
            return Ok(resp);
        };
        if !next.delay.is_zero() {
            actix_rt::time::sleep(next.delay).await;
        }
        let Some(deployment) = plan.table().deployment(next.deployment).cloned() else {
            return Err(Error::Internal(
                "the routing table changed under a plan".into(),
            ));
        };
        let deployment_charge = match scopes::for_deployment(&deployment) {
            None => None,
            Some(limit) => {
                let reservation = Reservation {
                    tokens: call.reserve_tokens,
                    ..Reservation::default()
                };
                let config = &snapshot.config.limits;
                match state
                    .limits
                    .admit(config, &[limit], &[], reservation, &new_id())
                    .await
                {
                    Ok(a) => Some(Rc::new(Charge::new(
                        state.limits.clone(),
                        a.issuer,
                        a.ticket,
                    ))),
                    Err(refused) => {
                        tracing::debug!(deployment = %deployment.id, "deployment at its rate limit; skipped");
                        deployment_refusal = Some(refused);
                        skip = true;
                        continue;
                    }
                }
            }
        };
        let timeouts = transport.timeouts.with(&plan.timeouts);
        let route_ms = started.elapsed();
        let committed = Rc::new(Cell::new(false));
        let accepted = Rc::new(Cell::new(false));
        let sent_at = Instant::now();
        let meter = billing.meter(
            &deployment.provider,
            &deployment.upstream_model,
            None,
            Some(&deployment.id),
            deployment.api_key.expose(),
        );
        for held in charge.iter().chain(deployment_charge.iter()) {
            meter.charge(held.clone());
        }
        let target = Target {
            upstream: Upstream::for_deployment(&deployment)?,
            provider: deployment.provider.clone(),
            model: deployment.upstream_model.clone(),
            timeouts,
            outcome: call.stream.then(|| {
                StreamOutcome::new(
                    routing.clone(),
                    deployment.id.clone(),
                    session.map(str::to_owned),
                    sent_at,
                    committed.clone(),
                )
            }),
            accepted: accepted.clone(),
            meter: Some(meter.clone()),
        };
        routing.with_router(|router, _| router.started(&deployment.id, sent_at));
        sent += 1;
        let result = run(attempt, target, call.stream, timeouts.total, &deployment).await;
        settle(&meter, &result);
        match result {
            Ok(mut resp) => {
                if !committed.get() {
                    let done = Instant::now();
                    routing.with_router(|router, _| {
                        router.succeeded(&deployment.id, done, done - sent_at, session)
                    });
                }
                decorate(
                    &mut resp,
                    &deployment.provider,
                    &deployment.upstream_model,
                    sent,
                    route_ms,
                );
                if let Some(charge) = &charge {
                    put_headers(&mut resp, &charge.headers());
                }
                return Ok(resp);
            }
            Err(error) => {
                routing
                    .with_router(|router, _| router.failed(&deployment.id, Instant::now(), &error));
                if accepted.get() {
                    plan.plan.accepted();
                }
                tracing::info!(
                    deployment = %deployment.id,
                    attempt = next.number,
                    status = error.status(),
                    error = %error,
                    "upstream attempt failed"
                );
                last = Some(error);
                tried = Some(deployment);
            }
        }
    }
}

/// One attempt, bounded by the route's total timeout when it does not stream (a stream
/// enforces its own, since it outlives this call).
async fn run<F>(
    attempt: &mut F,
    target: Target,
    stream: bool,
    total: Option<Duration>,
    deployment: &Deployment,
) -> Result<HttpResponse, Error>
where
    F: AsyncFnMut(Target) -> Result<HttpResponse, Error>,
{
    match total.filter(|_| !stream) {
        Some(total) => tokio::time::timeout(total, attempt(target))
            .await
            .unwrap_or_else(|_| {
                Err(Error::UpstreamTimeout {
                    provider: deployment.provider.clone(),
                    phase: forge_core::TimeoutPhase::Total,
                })
            }),
        None => attempt(target).await,
    }
}

fn no_deployment(model: &str) -> Error {
    Error::Upstream {
        provider: "forge".into(),
        status: 503,
        message: format!("no deployment of '{model}' is available right now"),
        retry_after: None,
        error_type: Some("service_unavailable".into()),
        code: None,
    }
}

fn session_id<'r>(req: &'r HttpRequest, header: &str) -> Option<&'r str> {
    req.headers()
        .get(header)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= MAX_SESSION_LEN)
}

/// The `x-forge-*` headers that say where a request went.
fn decorate(resp: &mut HttpResponse, provider: &str, model: &str, attempts: u32, route: Duration) {
    let headers = resp.headers_mut();
    let mut put = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    };
    put("x-forge-provider", provider.to_owned());
    put("x-forge-model", model.to_owned());
    put("x-forge-attempts", attempts.to_string());
    put("x-forge-route-ms", route.as_millis().to_string());
}
