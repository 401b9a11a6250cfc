//! Root and health routes (no auth).

use actix_web::{HttpResponse, web};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::shutdown::Lifecycle;
use crate::state::AppState;

/// `GET /`: what this server is and where its documentation lives.
#[derive(Serialize, ToSchema)]
pub struct Welcome {
    message: &'static str,
    version: &'static str,
    /// Swagger UI.
    docs: &'static str,
    /// Scalar's API reference.
    redoc: &'static str,
    /// The OpenAPI 3.1 document.
    openapi: &'static str,
    health: &'static str,
    /// Readiness.
    ready: &'static str,
}

#[utoipa::path(get, path = "/", tag = "Health", operation_id = "root",
    responses((status = 200, description = "Welcome, version and documentation links", body = Welcome)),
    security(()))]
pub async fn root() -> HttpResponse {
    HttpResponse::Ok().json(Welcome {
        message: "Welcome to Forge API",
        version: env!("CARGO_PKG_VERSION"),
        docs: "/docs",
        redoc: "/redoc",
        openapi: "/openapi.json",
        health: "/health",
        ready: "/health/ready",
    })
}

/// `GET /health`: the process answers.
#[derive(Serialize, ToSchema)]
pub struct Liveness {
    /// `healthy`.
    status: &'static str,
    /// `forge`.
    service: &'static str,
}

#[utoipa::path(get, path = "/health", tag = "Health", operation_id = "health",
    responses((status = 200, description = "The process is alive", body = Liveness)),
    security(()))]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(Liveness {
        status: "healthy",
        service: "forge",
    })
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

/// `GET /health/database` when the database answers.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct DatabaseHealth {
    /// `healthy`.
    status: String,
    /// `connected`.
    database: String,
    /// `sqlite` or `postgres`.
    backend: String,
}

/// `GET /health/detailed`. `usage` only for an admin's session.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct DetailedHealth {
    /// `healthy` or `unhealthy`.
    status: String,
    timestamp: String,
    service: String,
    version: String,
    database: DetailedDatabase,
    usage: Option<UsageCounters>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct DetailedDatabase {
    /// `connected` or `disconnected`.
    status: String,
    backend: String,
}

/// Usage records since start.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct UsageCounters {
    written: u64,
    journaled: u64,
    replayed: u64,
    dropped: u64,
    unpriced: u64,
}

#[utoipa::path(get, path = "/health/database", tag = "Health", operation_id = "health_database",
    responses(
        (status = 200, description = "The database answers", body = DatabaseHealth),
        (status = 503, description = "The database is unreachable", body = crate::openapi::errors::AdminError),
    ),
    security(()))]
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
#[utoipa::path(get, path = "/health/detailed", tag = "Health", operation_id = "health_detailed",
    responses(
        (status = 200, description = "Status, version and database; usage counters for an admin", body = DetailedHealth),
        (status = 503, description = "The database is unreachable (the same fields, under `detail`)",
            body = crate::openapi::errors::AdminError),
    ),
    security((), ("jwt" = [])))]
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
