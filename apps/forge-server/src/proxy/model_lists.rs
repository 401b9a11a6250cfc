//! Each provider key's model list, for `/v1/models` and for resolving a model name no
//! provider prefix, alias or route claims: a static list, else the key's own listing,
//! fetched once and cached (`models_cache.rs`).

use std::sync::Arc;
use std::time::Duration;

use forge_core::Error;

use crate::auth::key_cache::ResolvedProvider;
use crate::proxy::models_cache::ModelsCache;
use crate::proxy::transport::Transport;
use crate::proxy::upstream::Upstream;

/// A listing that takes longer than this is dropped so one slow provider cannot stall the list.
const LISTING_TIMEOUT: Duration = Duration::from_secs(15);
const MAX_LISTING_BODY: usize = 16 * 1024 * 1024;

/// The models `provider` serves: its static list, else its cached listing, else a fresh one
/// (cached for the cache's lifetime); empty when the listing fails.
pub async fn of(
    cache: &ModelsCache,
    transport: &Transport,
    user_id: i64,
    provider: &ResolvedProvider,
) -> Arc<Vec<String>> {
    if let Some(list) = provider.family.static_models() {
        return Arc::new(list.iter().map(|m| (*m).to_owned()).collect());
    }
    if let Some(cached) = cache.get(provider.id) {
        return cached;
    }
    match tokio::time::timeout(LISTING_TIMEOUT, fetch(transport, provider)).await {
        Ok(Ok(models)) => {
            let models = Arc::new(models);
            cache.put(user_id, provider.id, models.clone());
            models
        }
        Ok(Err(e)) => {
            tracing::warn!(provider = %provider.name_lower, error = %e, "model listing failed");
            Arc::new(Vec::new())
        }
        Err(_) => {
            tracing::warn!(provider = %provider.name_lower, "model listing timed out");
            Arc::new(Vec::new())
        }
    }
}

async fn fetch(transport: &Transport, provider: &ResolvedProvider) -> Result<Vec<String>, Error> {
    let upstream = Upstream::for_provider(provider)?;
    let name = &provider.name_lower;
    let mut resp = transport
        .send(name, upstream.adapter().list_models())
        .await?;
    let status = resp.status().as_u16();
    let body = transport
        .read_body(name, &mut resp, MAX_LISTING_BODY)
        .await?;
    if !(200..300).contains(&status) {
        return Err(upstream.adapter().parse_error(status, None, &body));
    }
    upstream.adapter().parse_models(&body)
}
