//! The operator's view of routing (JWT, admin only): the effective table, where a request would
//! go now and why, deployment health, and the two levers (end a cooldown, drop a session).

use std::time::Instant;

use actix_web::{HttpRequest, HttpResponse, web};
use forge_router::health::{Availability, HealthSnapshot};
use forge_router::router::CandidateView;
use forge_router::table::Deployment;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::admin::Deferred;
use crate::auth::jwt::AdminUser;
use crate::error::ApiError;
use crate::state::AppState;

// The answers below are built with `json!`; these types state their shapes for the spec.

/// The routing table loaded from forge.toml.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct RoutesView {
    /// The forge.toml path; null without one.
    source: Option<String>,
    loaded_at: Option<String>,
    default_model: Option<String>,
    /// Alias to route name.
    aliases: std::collections::BTreeMap<String, String>,
    routes: Vec<RouteView>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct RouteView {
    name: String,
    strategy: String,
    retries: u32,
    max_attempts: u32,
    deadline_ms: Option<u64>,
    fallbacks: Vec<String>,
    timeouts: RouteTimeouts,
    deployments: Vec<RouteTarget>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct RouteTimeouts {
    connect_ms: Option<u64>,
    first_token_ms: Option<u64>,
    idle_ms: Option<u64>,
    total_ms: Option<u64>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct RouteTarget {
    id: String,
    provider: String,
    model: String,
    weight: u32,
    priority: u32,
}

/// A dry run of the router: who would be tried, in order, and who is excluded.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct DecisionView {
    route: String,
    candidates: Vec<CandidateInfo>,
    excluded: Vec<CandidateInfo>,
    fallbacks: Vec<String>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct CandidateInfo {
    id: String,
    provider: Option<String>,
    model: Option<String>,
    /// `ready`, `probe`, `cooling` or `probe_in_flight`.
    availability: String,
    cooling_for_ms: Option<u64>,
    weight: u32,
    priority: u32,
    in_flight: u32,
    latency_ms: Option<f64>,
    sticky: bool,
}

/// Every deployment with its health.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct DeploymentsView {
    deployments: Vec<DeploymentHealth>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct DeploymentHealth {
    id: String,
    provider: String,
    model: String,
    /// `ready`, `probe`, `cooling` or `probe_in_flight`.
    availability: String,
    cooling_for_ms: Option<u64>,
    in_flight: u32,
    ewma_ttft_ms: Option<f64>,
    successes: u64,
    failures: u64,
    recent_failures: u32,
    trips: u32,
    rate_limited_for_ms: Option<u64>,
}

/// A deployment put back in rotation.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct ResetView {
    id: String,
    /// `ready`.
    availability: String,
}

/// `GET /v1/admin/routes`
#[utoipa::path(get, path = "/v1/admin/routes", tag = "Routing", operation_id = "list_routes",
    responses(
        (status = 200, description = "The routes, aliases and deployments in force", body = RoutesView),
        (status = 403, description = "Admin privileges required", body = crate::openapi::errors::AdminError),
    ),
    security(("jwt" = [])))]
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

#[derive(Debug, Deserialize, ToSchema)]
pub struct DecideBody {
    /// A model or route name; forge.toml's default model if absent.
    model: Option<String>,
    session_id: Option<String>,
}

/// `POST /v1/admin/routes/decide`: the candidates in the order they would be tried now.
#[utoipa::path(post, path = "/v1/admin/routes/decide", tag = "Routing", operation_id = "decide_route",
    request_body = DecideBody,
    responses(
        (status = 200, description = "The decision the router would take now", body = DecisionView),
        (status = 403, description = "Admin privileges required", body = crate::openapi::errors::AdminError),
        (status = 404, description = "No route for the model", body = crate::openapi::errors::AdminError),
    ),
    security(("jwt" = [])))]
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
#[utoipa::path(get, path = "/v1/admin/deployments", tag = "Routing", operation_id = "list_deployments",
    responses(
        (status = 200, description = "Every deployment with its health", body = DeploymentsView),
        (status = 403, description = "Admin privileges required", body = crate::openapi::errors::AdminError),
    ),
    security(("jwt" = [])))]
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
#[utoipa::path(post, path = "/v1/admin/deployments/{id}/reset", tag = "Routing", operation_id = "reset_deployment",
    params(("id" = String, Path, description = "The deployment id (`provider/model#n`), percent-encoded")),
    responses(
        (status = 200, description = "The deployment is back in rotation", body = ResetView),
        (status = 403, description = "Admin privileges required", body = crate::openapi::errors::AdminError),
        (status = 404, description = "No such deployment", body = crate::openapi::errors::AdminError),
    ),
    security(("jwt" = [])))]
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
#[utoipa::path(delete, path = "/v1/admin/sessions/{id}", tag = "Routing", operation_id = "drop_session",
    params(("id" = String, Path, description = "The session id, percent-encoded")),
    responses(
        (status = 204, description = "The session's sticky deployment is forgotten"),
        (status = 403, description = "Admin privileges required", body = crate::openapi::errors::AdminError),
        (status = 404, description = "No such session", body = crate::openapi::errors::AdminError),
    ),
    security(("jwt" = [])))]
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
