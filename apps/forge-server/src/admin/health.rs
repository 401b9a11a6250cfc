//! Root and health routes (no auth).

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::shutdown::Lifecycle;
use crate::state::AppState;

pub async fn root() -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "message": "Welcome to Forge API",
        "version": env!("CARGO_PKG_VERSION"),
        "docs": "/docs",
        "health": "/health",
        "ready": "/health/ready",
    }))
}

pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "healthy", "service": "forge" }))
}

/// Readiness, for a load balancer or orchestrator: 503 until the server serves, while it
/// drains at shutdown, and while the database is unreachable (the admin API needs it; the
/// proxy path does not, so `/health` stays the liveness check).
pub async fn ready(
    lifecycle: web::Data<Lifecycle>,
    store: web::Data<forge_storage::Store>,
) -> HttpResponse {
    if let Err(why) = lifecycle.ready() {
        return HttpResponse::ServiceUnavailable()
            .json(json!({ "status": "not_ready", "reason": why.reason() }));
    }
    match store.ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({ "status": "ready" })),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            HttpResponse::ServiceUnavailable()
                .json(json!({ "status": "not_ready", "reason": "database_unreachable" }))
        }
    }
}

pub async fn database(state: web::Data<AppState>) -> HttpResponse {
    match state.store.ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({
            "status": "healthy",
            "database": "connected",
            "backend": state.store.backend_name(),
        })),
        Err(e) => {
            tracing::warn!(error = %e, "database health check failed");
            HttpResponse::ServiceUnavailable().json(json!({
                "detail": { "status": "unhealthy", "database": "disconnected", "error": "database unreachable" }
            }))
        }
    }
}

/// Usage accounting since start: records written, journaled while the database was down,
/// replayed, dropped (journal full), and settled without a price.
fn usage_counters(state: &AppState) -> serde_json::Value {
    use std::sync::atomic::Ordering::Relaxed;
    let stats = &state.usage.stats;
    json!({
        "written": stats.written.load(Relaxed),
        "journaled": stats.journaled.load(Relaxed),
        "replayed": stats.replayed.load(Relaxed),
        "dropped": stats.dropped.load(Relaxed),
        "unpriced": state.pricing.unpriced.load(Relaxed),
    })
}

/// Forge v1's fields for anyone (its clients call it without credentials); the usage
/// counters only for an admin's session.
pub async fn detailed(
    state: web::Data<AppState>,
    admin: Option<crate::auth::jwt::AdminUser>,
) -> HttpResponse {
    let db_ok = state.store.ping().await.is_ok();
    let mut body = json!({
        "status": if db_ok { "healthy" } else { "unhealthy" },
        "timestamp": chrono::Utc::now().to_rfc3339(),
        "service": "forge",
        "version": env!("CARGO_PKG_VERSION"),
        "database": { "status": if db_ok { "connected" } else { "disconnected" }, "backend": state.store.backend_name() },
    });
    if admin.is_some() {
        body["usage"] = usage_counters(&state);
    }
    if db_ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(json!({ "detail": body }))
    }
}
