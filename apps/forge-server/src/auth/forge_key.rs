//! Forge API key authentication for the proxy routes, in the order Forge v1 reads headers:
//! `X-API-KEY`, then `Authorization: Bearer`, then `api-key` (Azure SDK style).

use std::sync::Arc;

use actix_web::HttpRequest;
use forge_core::Error;

use crate::auth::key_cache::{AuthContext, Lookup};
use crate::state::AppState;

pub const KEY_PREFIX: &str = "forge-";

/// The raw key from the request headers; never logged.
pub fn presented_key(req: &HttpRequest) -> Result<&str, Error> {
    let headers = req.headers();
    let value = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            headers
                .get(actix_web::http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
        })
        .or_else(|| headers.get("api-key").and_then(|v| v.to_str().ok()))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::Unauthorized("API key not found in headers".into()))?;
    if !value.starts_with(KEY_PREFIX) {
        return Err(Error::Unauthorized("Invalid API key format".into()));
    }
    Ok(value)
}

/// Authenticates the request; a cached key costs one SHA-256 and one map lookup.
pub async fn authenticate(state: &AppState, req: &HttpRequest) -> Result<Arc<AuthContext>, Error> {
    let key = presented_key(req)?;
    let digest = forge_storage::apikey::digest_forge_key(key);
    let lookup = state
        .keys
        .lookup(&state.store, &state.secret_box, &digest)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "key lookup failed");
            Error::Internal("Internal server error".into())
        })?;
    match lookup {
        Lookup::Valid(ctx) => {
            state.last_used.mark(ctx.key_id);
            Ok(ctx)
        }
        Lookup::Invalid => Err(Error::Unauthorized("Invalid API key".into())),
        Lookup::InactiveUser => Err(Error::invalid("Inactive user")),
    }
}
