//! Forge API key authentication for the proxy routes, in the order Forge v1 reads headers:
//! `X-API-KEY`, then `Authorization: Bearer`, then `api-key` (Azure SDK style).

use std::sync::Arc;

use actix_web::HttpRequest;
use forge_core::Error;

use forge_storage::Store;
use forge_storage::crypto::SecretBox;

use crate::auth::key_cache::{AuthContext, KeyCache, Lookup};
use crate::auth::last_used::LastUsed;
use crate::routing::Routing;

pub const KEY_PREFIX: &str = "forge-";

/// What authentication reads: the static keys in forge.toml, the key cache and, on a miss,
/// the store. Shared with the admin API, which invalidates the cache.
pub struct Authenticator {
    pub routing: Arc<Routing>,
    pub keys: Arc<KeyCache>,
    pub last_used: Arc<LastUsed>,
    pub store: Store,
    pub secret_box: Arc<SecretBox>,
}

/// The raw key from the request headers, checked for Forge's prefix; never logged.
pub fn presented_key(req: &HttpRequest) -> Result<&str, Error> {
    let value = presented_raw(req)?;
    if !value.starts_with(KEY_PREFIX) {
        return Err(Error::Unauthorized("Invalid API key format".into()));
    }
    Ok(value)
}

/// The raw key from the request headers, whatever its form (static keys may have any).
fn presented_raw(req: &HttpRequest) -> Result<&str, Error> {
    let headers = req.headers();
    let non_empty = |v: &str| !v.trim().is_empty();
    let value = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .filter(|v| non_empty(v))
        .or_else(|| {
            headers
                .get(actix_web::http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(super::bearer)
        })
        .or_else(|| headers.get("api-key").and_then(|v| v.to_str().ok()))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::Unauthorized("API key not found in headers".into()))?;
    Ok(value)
}

/// Authenticates the request; a cached key costs one SHA-256 and one map lookup.
pub async fn authenticate(
    auth: &Authenticator,
    req: &HttpRequest,
) -> Result<Arc<AuthContext>, Error> {
    authenticate_key(auth, presented_raw(req)?).await
}

/// Google's clients send the key in `x-goog-api-key` or as `?key=` (accepted, never logged);
/// the OpenAI-style headers work too.
pub async fn authenticate_gemini(
    auth: &Authenticator,
    req: &HttpRequest,
) -> Result<Arc<AuthContext>, Error> {
    let header = req
        .headers()
        .get("x-goog-api-key")
        .and_then(|v| v.to_str().ok());
    let query = url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(name, _)| name == "key")
        .map(|(_, value)| value.into_owned());
    let key = match header.map(str::to_owned).or(query) {
        Some(key) => key.trim().to_owned(),
        None => presented_raw(req)?.to_owned(),
    };
    authenticate_key(auth, &key).await
}

/// A static forge.toml key first (memory only), then a Forge key of a registered user.
async fn authenticate_key(auth: &Authenticator, key: &str) -> Result<Arc<AuthContext>, Error> {
    let digest = forge_storage::apikey::digest_forge_key(key);
    let snapshot = auth.routing.snapshot();
    if let Some(gateway) = snapshot.gateway_key(&digest) {
        return Ok(Arc::new(AuthContext {
            key_id: 0,
            user_id: 0,
            scope: Some(Vec::new()),
            providers: Vec::new(),
            gateway: Some(gateway.clone()),
            limits: Default::default(),
        }));
    }
    if !key.starts_with(KEY_PREFIX) {
        return Err(Error::Unauthorized("Invalid API key format".into()));
    }
    let lookup = auth
        .keys
        .lookup(&auth.store, &auth.secret_box, &digest)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "key lookup failed");
            Error::Internal("Internal server error".into())
        })?;
    match lookup {
        Lookup::Valid(ctx) => {
            auth.last_used.mark(ctx.key_id);
            Ok(ctx)
        }
        Lookup::Invalid => Err(Error::Unauthorized("Invalid API key".into())),
        Lookup::InactiveUser => Err(Error::invalid("Inactive user")),
    }
}
