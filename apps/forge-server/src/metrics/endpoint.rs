//! `GET /metrics`: the exposition, in Prometheus text or OpenMetrics as the scraper's `Accept`
//! prefers, behind a static bearer token when one is configured (compared in constant time).
//! Served on the main listener, or only on `--metrics-bind` when that is set.

use std::sync::Arc;

use std::net::SocketAddr;

use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{Format, Metrics};
use crate::shutdown::Lifecycle;

/// What the handler needs: the registry and the token's digest.
pub struct MetricsAccess {
    pub metrics: Arc<Metrics>,
    /// SHA-256 of the token; `None`: open.
    token: Option<[u8; 32]>,
}

impl MetricsAccess {
    pub fn new(metrics: Arc<Metrics>, token: Option<&str>) -> MetricsAccess {
        let token = token
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| Sha256::digest(t.as_bytes()).into());
        MetricsAccess { metrics, token }
    }

    fn allows(&self, req: &HttpRequest) -> bool {
        let Some(want) = &self.token else {
            return true;
        };
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .unwrap_or("");
        let digest: [u8; 32] = Sha256::digest(given.as_bytes()).into();
        bool::from(digest.ct_eq(want))
    }
}

pub async fn serve(req: HttpRequest, access: web::Data<MetricsAccess>) -> HttpResponse {
    if !access.allows(&req) {
        return HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
            .json(json!({ "detail": "Not authenticated: GET /metrics needs the metrics token as a bearer token" }));
    }
    let format = negotiate(
        req.headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
    );
    match access.metrics.render(format) {
        Ok(body) => HttpResponse::Ok()
            .content_type(match format {
                Format::Text => "text/plain; version=0.0.4; charset=utf-8",
                Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            })
            .body(body),
        Err(_) => HttpResponse::InternalServerError()
            .json(json!({ "detail": "the metrics could not be encoded" })),
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/metrics").route(web::get().to(serve)));
}

/// The `--metrics-bind` listener: `/metrics` and the health routes, nothing else.
pub fn listener(
    bind: SocketAddr,
    access: web::Data<MetricsAccess>,
    lifecycle: Arc<Lifecycle>,
    store: web::Data<forge_storage::Store>,
) -> std::io::Result<(Server, SocketAddr)> {
    let server = HttpServer::new(move || {
        App::new()
            .app_data(access.clone())
            .app_data(store.clone())
            .app_data(web::Data::from(lifecycle.clone()))
            .configure(configure)
            .service(web::resource("/health").route(web::get().to(crate::admin::health::health)))
            .service(
                web::resource("/health/ready").route(web::get().to(crate::admin::health::ready)),
            )
            .default_service(web::to(crate::extract_errors::not_found))
    })
    .workers(1)
    .disable_signals()
    .bind(bind)?;
    let addr = server.addrs().first().copied().unwrap_or(bind);
    Ok((server.run(), addr))
}

/// OpenMetrics when the `Accept` header ranks it above the Prometheus text format (as
/// Prometheus itself does); the text format otherwise.
pub fn negotiate(accept: &str) -> Format {
    let mut best = (Format::Text, -1.0f32);
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.strip_prefix("q="))
            .find_map(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let format = match media.as_str() {
            "application/openmetrics-text" => Format::OpenMetrics,
            "text/plain" | "*/*" | "text/*" => Format::Text,
            _ => continue,
        };
        if q > best.1 {
            best = (format, q);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preferred_supported_format_wins() {
        assert_eq!(negotiate(""), Format::Text);
        assert_eq!(negotiate("*/*"), Format::Text);
        assert_eq!(
            negotiate(
                "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.1"
            ),
            Format::OpenMetrics
        );
        assert_eq!(
            negotiate("application/openmetrics-text;q=0.2, text/plain;q=0.9"),
            Format::Text
        );
        assert_eq!(negotiate("application/json"), Format::Text);
    }
}
