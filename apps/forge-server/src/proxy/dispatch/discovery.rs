//! Model discovery: a name no provider prefix, alias or forge.toml route claims
//! (`gpt-4o-mini`) goes to the caller's provider keys whose model list holds it. Several
//! keys make a group tried in `provider_priority` order (then keys whose provider name occurs
//! in the model, then the oldest key), failing over on a retryable error before the answer
//! began, as a logical model's deployments are. Only the caller's own keys in the Forge key's
//! scope are candidates: a name is never sent to a provider the user did not add.

use actix_web::HttpResponse;
use forge_core::Error;

use crate::auth::key_cache::ResolvedProvider;
use crate::proxy::model_lists;
use crate::proxy::transport::Transport;
use crate::proxy::upstream::Upstream;
use crate::routing::Snapshot;

use super::single::{One, single};
use super::{Call, Target};
use crate::proxy::handle::Proxy;

pub(super) async fn discovered<F>(
    proxy: &Proxy,
    transport: &Transport,
    call: &Call<'_>,
    snapshot: &Snapshot,
    model: &str,
    mut attempt: F,
) -> Result<HttpResponse, Error>
where
    F: AsyncFnMut(Target) -> Result<HttpResponse, Error>,
{
    let group = candidates(proxy, transport, call, snapshot, model).await;
    let Some(last) = group.len().checked_sub(1) else {
        return Err(Error::ModelNotFound {
            model: model.to_owned(),
        });
    };
    let mut failure = None;
    for (i, provider) in group.into_iter().enumerate() {
        let one = One {
            provider: &provider.name_lower,
            upstream_model: model,
            requested: model,
            provider_key: Some(provider.id),
            deployment: None,
            secret: &provider.api_key,
            timeouts: transport.timeouts,
            tokens_unknown: false,
            attempt: u32::try_from(i + 1).unwrap_or(u32::MAX),
        };
        let result = single(
            proxy,
            call,
            snapshot,
            one,
            || Upstream::for_provider(provider),
            async |target| attempt(target).await,
        )
        .await;
        match result {
            Err(error) if error.retryable() && i < last => {
                tracing::info!(provider = %provider.name_lower, error = %error,
                    "discovered model: trying the next provider key");
                failure = Some(error);
            }
            other => return other,
        }
    }
    Err(failure.unwrap_or(Error::ModelNotFound {
        model: model.to_owned(),
    }))
}

/// The caller's keys in scope whose model list holds `model`, in the order they are tried.
async fn candidates<'c>(
    proxy: &Proxy,
    transport: &Transport,
    call: &'c Call<'_>,
    snapshot: &Snapshot,
    model: &str,
) -> Vec<&'c ResolvedProvider> {
    let ctx = call.ctx;
    let keys: Vec<&ResolvedProvider> = ctx.providers_in_scope().collect();
    let lists = futures_util::future::join_all(
        keys.iter()
            .map(|p| model_lists::of(&proxy.models, transport, ctx.user_id, p)),
    )
    .await;
    let mut found: Vec<&ResolvedProvider> = keys
        .into_iter()
        .zip(lists)
        .filter(|(_, list)| list.iter().any(|m| m == model))
        .map(|(p, _)| p)
        .collect();
    let priority = &snapshot.config.provider_priority;
    let lower = model.to_lowercase();
    let rank = |p: &ResolvedProvider| {
        priority
            .iter()
            .position(|name| name.eq_ignore_ascii_case(&p.name_lower))
            .unwrap_or(usize::MAX)
    };
    found.sort_by_key(|p| (rank(p), !lower.contains(&p.name_lower), p.id));
    found
}
