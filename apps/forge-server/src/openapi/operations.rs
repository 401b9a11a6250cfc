//! Operations whose handlers carry no annotation of their own: the documentation routes
//! served by this module, and the readiness and metrics routes, whose wire contract is stated
//! here so that the spec lists every route Forge serves.

#![allow(dead_code)]

use serde::Serialize;
use utoipa::ToSchema;

/// Forge v1's spelling of `GET /health` (the same handler, `admin::health::health`).
#[utoipa::path(get, path = "/v1/health", tag = "Health", operation_id = "v1_health",
    responses((status = 200, description = "The process is alive", body = crate::admin::health::Liveness)),
    security(()))]
pub fn v1_health() {}

/// `GET /health/ready` when the server takes traffic.
#[derive(Serialize, ToSchema)]
pub struct Ready {
    /// `ready`.
    pub status: String,
}

/// `GET /health/ready` while starting, draining or without its database.
#[derive(Serialize, ToSchema)]
pub struct NotReady {
    /// `not_ready`.
    pub status: String,
    pub reason: String,
}

#[utoipa::path(get, path = "/health/ready", tag = "Health", operation_id = "ready",
    responses(
        (status = 200, description = "Ready to take traffic", body = Ready),
        (status = 503, description = "Not ready (starting, draining or database down)", body = NotReady),
    ),
    security(()))]
pub fn ready() {}

#[utoipa::path(get, path = "/metrics", tag = "Health", operation_id = "metrics",
    responses(
        (status = 200, description = "Prometheus text exposition format",
            content_type = "text/plain; version=0.0.4", body = String),
        (status = 401, description = "A metrics token is configured and was not presented"),
    ),
    security((), ("metrics_token" = [])))]
pub fn metrics() {}

#[utoipa::path(get, path = "/openapi.json", tag = "Documentation", operation_id = "openapi",
    responses((status = 200, description = "This OpenAPI 3.1 document", content_type = "application/json", body = Object)),
    security(()))]
pub fn openapi() {}

#[utoipa::path(get, path = "/docs", tag = "Documentation", operation_id = "swagger_ui",
    responses((status = 200, description = "Swagger UI over this document, its assets served under `/docs/`",
        content_type = "text/html", body = String)),
    security(()))]
pub fn docs() {}

#[utoipa::path(get, path = "/redoc", tag = "Documentation", operation_id = "api_reference",
    responses((status = 200, description = "Scalar's API reference over this document, its script served under `/redoc/`",
        content_type = "text/html", body = String)),
    security(()))]
pub fn redoc() {}
