//! The attempt loop over the routing table: next attempt, run it, record the outcome, until
//! one answers or the plan runs out (retries, the next deployment, fallback models).

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse};
use forge_core::Error;
use forge_limits::Reservation;
use forge_limits::headers::rejection_headers;
use forge_router::table::Deployment;

use crate::limits::charge::Charge;
use crate::limits::{Refused, refusal_error, scopes};
use crate::proxy::handle::Proxy;
use crate::proxy::transport::Transport;
use crate::proxy::upstream::Upstream;
use crate::routing::Snapshot;
use crate::routing::outcome::StreamOutcome;

use super::admission::{admit, put_headers};
use super::billing::{Billing, settle};
use super::headers::decorate;
use super::{Call, Target, new_id};

/// Session ids longer than this are ignored rather than stored.
pub(super) const MAX_SESSION_LEN: usize = 256;

/// The attempt loop over the routing table.
pub(super) async fn routed<F>(
    proxy: &Proxy,
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
    let routing = Arc::clone(&proxy.routing);
    let session = session_id(call.req, &snapshot.config.routing.session_header);
    let billing = Billing {
        proxy,
        call,
        request_id: new_id(),
        requested: model
            .map(str::to_owned)
            .or_else(|| snapshot.config.default_model.clone())
            .unwrap_or_default(),
        log: crate::logs::plan(&proxy.logs, snapshot, call.req, call.ctx),
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
        proxy,
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
                    call.obs.refused(refused);
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
        if let Some(previous) = &tried {
            call.obs.next_attempt(previous.id == deployment.id);
        }
        let deployment_charge = match scopes::for_deployment(&deployment) {
            None => None,
            Some(limit) => {
                let reservation = Reservation {
                    tokens: call.reserve_tokens,
                    ..Reservation::default()
                };
                let config = &snapshot.config.limits;
                match proxy
                    .limits
                    .admit(config, &[limit], &[], reservation, &new_id())
                    .await
                {
                    Ok(a) => Some(Rc::new(Charge::new(
                        proxy.limits.clone(),
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
                    trace_id = call.obs.trace_id().as_deref().unwrap_or(""),
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
pub(super) async fn run<F>(
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

pub(super) fn no_deployment(model: &str) -> Error {
    Error::Upstream {
        provider: "forge".into(),
        status: 503,
        message: format!("no deployment of '{model}' is available right now"),
        retry_after: None,
        error_type: Some("service_unavailable".into()),
        code: None,
    }
}

pub(super) fn session_id<'r>(req: &'r HttpRequest, header: &str) -> Option<&'r str> {
    req.headers()
        .get(header)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= MAX_SESSION_LEN)
}
