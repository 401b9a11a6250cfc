//! Usage statistics, read back from the usage records (one per upstream attempt): Forge v1's
//! `/v1/stats/` and `/v1/statistic/*` (spec §2.8) in upstream's shapes, and Forge's own
//! `/v1/usage`, which keeps unpriced traffic apart instead of counting it as free.
//!
//! Every attempt that reached a provider is a record, failed ones included (with zero tokens),
//! so request counts here include failed attempts where upstream counted only completed ones.

pub mod legacy;
pub mod realtime;
pub mod summary;
pub mod usage;

mod keys;
mod money;
mod params;

use std::sync::Arc;

use actix_web::HttpRequest;
use actix_web::http::StatusCode;

use crate::auth::forge_key::{Authenticator, authenticate};
use crate::auth::key_cache::AuthContext;
use crate::error::ApiError;

/// The Forge-key caller of a statistics route, rejected in the admin API's `{"detail"}` form
/// (these are not proxy routes, so OpenAI's error shape would surprise their clients).
async fn forge_caller(req: &HttpRequest) -> Result<Arc<AuthContext>, ApiError> {
    let auth = req
        .app_data::<actix_web::web::Data<Authenticator>>()
        .ok_or_else(ApiError::internal)?;
    authenticate(auth, req).await.map_err(|e| {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        ApiError::new(status, e.to_string())
    })
}

/// Python's `isoformat()` of an aware UTC datetime, as upstream's timestamps read:
/// `2025-06-01T12:00:00+00:00`, with `.ffffff` only when there is a fraction.
fn iso_utc(ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) if ms.rem_euclid(1000) == 0 => t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string(),
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_read_like_pythons_isoformat() {
        assert_eq!(
            super::iso_utc(1_748_779_200_000),
            "2025-06-01T12:00:00+00:00"
        );
        assert_eq!(
            super::iso_utc(1_748_779_200_123),
            "2025-06-01T12:00:00.123000+00:00"
        );
    }
}
