//! The operator's view of routing (JWT, admin only): the effective table, where a request would
//! go now and why, deployment health, and the two levers (end a cooldown, drop a session).

use std::time::Instant;

use actix_web::{HttpRequest, HttpResponse, web};
use forge_router::health::{Availability, HealthSnapshot};
use forge_router::router::CandidateView;
use forge_router::table::Deployment;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::admin::Deferred;
use crate::auth::jwt::AdminUser;
use crate::error::ApiError;
use crate::state::AppState;

/// `GET /v1/admin/routes`
pub async fn routes(state: web::Data<AppState>, _admin: AdminUser) -> HttpResponse {
    let snapshot = state.routing.snapshot();
    let table = &snapshot.table;
    let routes: Vec<Value> = table
        .routes()
        .map(|route| {
            let deployments: Vec<Value> = route
                .targets
                .iter()
                .filter_map(|t| {
                    let d = table.deployment(t.deployment)?;
                    Some(json!({
                        "id": d.id,
                        "provider": d.provider,
                        "model": d.upstream_model,
                        "weight": t.weight,
                        "priority": t.priority,
                    }))
                })
                .collect();
            json!({
                "name": route.name,
                "strategy": route.strategy,
                "retries": route.retry.retries,
                "max_attempts": route.retry.max_attempts,
                "deadline_ms": route.retry.deadline.map(|d| d.as_millis() as u64),
                "fallbacks": route.fallbacks,
                "timeouts": {
                    "connect_ms": route.timeouts.connect_ms,
                    "first_token_ms": route.timeouts.first_token_ms,
                    "idle_ms": route.timeouts.idle_ms,
                    "total_ms": route.timeouts.total_ms,
                },
                "deployments": deployments,
            })
        })
        .collect();
    HttpResponse::Ok().json(json!({
        "source": snapshot.source.as_ref().map(|p| p.display().to_string()),
        "loaded_at": snapshot.loaded_at.map(|t| t.to_rfc3339()),
        "default_model": snapshot.config.default_model,
        "aliases": table.aliases(),
        "routes": routes,
    }))
}

#[derive(Debug, Deserialize)]
pub struct DecideBody {
    model: Option<String>,
    session_id: Option<String>,
}

/// `POST /v1/admin/routes/decide`: the candidates in the order they would be tried now.
pub async fn decide(
    state: web::Data<AppState>,
    _admin: AdminUser,
    body: Deferred<web::Json<DecideBody>>,
) -> Result<HttpResponse, ApiError> {
    let body = body?.into_inner();
    let snapshot = state.routing.snapshot();
    let now = Instant::now();
    let decision = state
        .routing
        .with_router(|router, rng| {
            router.decide(body.model.as_deref(), body.session_id.as_deref(), now, rng)
        })
        .map_err(|e| match e {
            forge_core::Error::ModelNotFound { model } => ApiError::not_found(format!(
                "No route for model '{model}' in the routing configuration"
            )),
            other => ApiError::bad_request(other.to_string()),
        })?;
    let view = |c: &CandidateView| {
        let d = snapshot.table.deployment_by_id(&c.id).map(|(_, d)| d);
        json!({
            "id": c.id,
            "provider": d.map(|d| d.provider.as_str()),
            "model": d.map(|d| d.upstream_model.as_str()),
            "availability": availability(c.availability),
            "cooling_for_ms": cooling_for_ms(c.availability, now),
            "weight": c.weight,
            "priority": c.priority,
            "in_flight": c.in_flight,
            "latency_ms": c.latency_ms,
            "sticky": c.sticky,
        })
    };
    Ok(HttpResponse::Ok().json(json!({
        "route": decision.route,
        "candidates": decision.candidates.iter().map(view).collect::<Vec<_>>(),
        "excluded": decision.excluded.iter().map(view).collect::<Vec<_>>(),
        "fallbacks": decision.fallbacks,
    })))
}

/// `GET /v1/admin/deployments`
pub async fn deployments(state: web::Data<AppState>, _admin: AdminUser) -> HttpResponse {
    let snapshot = state.routing.snapshot();
    let now = Instant::now();
    let health: Vec<HealthSnapshot> = state.routing.with_router(|router, _| {
        snapshot
            .table
            .deployments()
            .iter()
            .map(|d| router.health().snapshot(&d.id, now))
            .collect()
    });
    let list: Vec<Value> = snapshot
        .table
        .deployments()
        .iter()
        .zip(health)
        .map(|(d, h)| deployment_view(d, &h, now))
        .collect();
    HttpResponse::Ok().json(json!({ "deployments": list }))
}

fn deployment_view(d: &Deployment, h: &HealthSnapshot, now: Instant) -> Value {
    json!({
        "id": d.id,
        "provider": d.provider,
        "model": d.upstream_model,
        "availability": availability(h.availability),
        "cooling_for_ms": cooling_for_ms(h.availability, now),
        "in_flight": h.in_flight,
        "ewma_ttft_ms": h.ewma_ttft_ms,
        "successes": h.successes,
        "failures": h.failures,
        "recent_failures": h.recent_failures,
        "trips": h.trips,
        "rate_limited_for_ms": h.rate_limited_until.map(|t| t.saturating_duration_since(now).as_millis() as u64),
    })
}

/// `POST /v1/admin/deployments/{id}/reset`: ends a cooldown now.
pub async fn reset(
    state: web::Data<AppState>,
    _admin: AdminUser,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let id = path_param(&req, "id");
    let snapshot = state.routing.snapshot();
    if snapshot.table.deployment_by_id(&id).is_none() {
        return Err(ApiError::not_found("Deployment not found"));
    }
    state
        .routing
        .with_router(|router, _| router.reset_deployment(&id));
    Ok(HttpResponse::Ok().json(json!({ "id": id, "availability": "ready" })))
}

/// `DELETE /v1/admin/sessions/{id}`: the session's next request is routed afresh.
pub async fn drop_session(
    state: web::Data<AppState>,
    _admin: AdminUser,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let id = path_param(&req, "id");
    if state
        .routing
        .with_router(|router, _| router.drop_session(&id))
    {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found("Session not found"))
    }
}

fn availability(a: Availability) -> &'static str {
    match a {
        Availability::Ready => "ready",
        Availability::Probe => "probe",
        Availability::Cooling { .. } => "cooling",
        Availability::ProbeInFlight => "probe_in_flight",
    }
}

fn cooling_for_ms(a: Availability, now: Instant) -> Option<u64> {
    match a {
        Availability::Cooling { until } => {
            Some(until.saturating_duration_since(now).as_millis() as u64)
        }
        _ => None,
    }
}

/// A path parameter fully percent-decoded: deployment ids hold `/` and `#`, which clients send
/// as `%2F` and `%23` (actix leaves `%2F` encoded so it cannot split the path).
fn path_param(req: &HttpRequest, name: &str) -> String {
    percent_decode(req.match_info().query(name))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).and_then(|b| hex(*b)),
                bytes.get(i + 2).and_then(|b| hex(*b)),
            )
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn decodes_ids() {
        assert_eq!(percent_decode("openai%2Fgpt-4o%230"), "openai/gpt-4o#0");
        assert_eq!(percent_decode("a/b#1"), "a/b#1");
        assert_eq!(percent_decode("bad%2"), "bad%2");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
