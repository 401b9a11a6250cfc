//! The `x-forge-*` response headers that say where a request went.

use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::http::header::{HeaderName, HeaderValue};

/// The `x-forge-*` headers that say where a request went.
pub(super) fn decorate(
    resp: &mut HttpResponse,
    provider: &str,
    model: &str,
    attempts: u32,
    route: Duration,
) {
    const PROVIDER: HeaderName = HeaderName::from_static("x-forge-provider");
    const MODEL: HeaderName = HeaderName::from_static("x-forge-model");
    const ATTEMPTS: HeaderName = HeaderName::from_static("x-forge-attempts");
    const ROUTE_MS: HeaderName = HeaderName::from_static("x-forge-route-ms");
    let headers = resp.headers_mut();
    for (name, value) in [(PROVIDER, provider), (MODEL, model)] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    headers.insert(ATTEMPTS, HeaderValue::from(attempts));
    let ms = u64::try_from(route.as_millis()).unwrap_or(u64::MAX);
    headers.insert(ROUTE_MS, HeaderValue::from(ms));
}
