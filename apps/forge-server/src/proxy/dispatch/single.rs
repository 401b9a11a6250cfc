//! One admitted, metered attempt on one named key, never retried: a model of the caller's
//! own provider keys (Forge v1 resolution), and the pass-through to a provider by name.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Instant;

use actix_web::HttpResponse;
use forge_core::Error;

use crate::config::Timeouts;
use crate::proxy::handle::Proxy;
use crate::proxy::upstream::Upstream;
use crate::routing::Snapshot;

use super::admission::{admit, put_headers};
use super::billing::{Billing, settle};
use super::choice::may_use_config;
use super::headers::decorate;
use super::{Call, Target, new_id};

/// The key an attempt goes to, and how its usage record names it.
pub(super) struct One<'a> {
    /// Lowercase for user keys.
    pub provider: &'a str,
    /// What the upstream is asked for (the model; the path for a pass-through).
    pub upstream_model: &'a str,
    /// What the client named (`provider/model`, an alias).
    pub requested: &'a str,
    pub provider_key: Option<i64>,
    pub deployment: Option<&'a str>,
    /// The key's secret, masked in logged bodies.
    pub secret: &'a str,
    pub timeouts: Timeouts,
    /// A pass-through: tokens unknown unless the upstream reports them.
    pub tokens_unknown: bool,
    /// Which attempt of the request this is (`x-forge-attempts`).
    pub attempt: u32,
}

pub(super) async fn single<F>(
    proxy: &Proxy,
    call: &Call<'_>,
    snapshot: &Snapshot,
    one: One<'_>,
    upstream: impl FnOnce() -> Result<Upstream, Error>,
    attempt: F,
) -> Result<HttpResponse, Error>
where
    F: AsyncFnOnce(Target) -> Result<HttpResponse, Error>,
{
    let started = Instant::now();
    let charge = match admit(
        proxy,
        call,
        snapshot,
        None,
        (one.provider, one.upstream_model),
    )
    .await
    {
        Ok(charge) => charge,
        Err(refusal) => return Ok(refusal),
    };
    let billing = Billing {
        proxy,
        call,
        request_id: new_id(),
        requested: one.requested.to_owned(),
        log: crate::logs::plan(&proxy.logs, snapshot, call.req, call.ctx),
    };
    let meter = billing.meter(
        one.provider,
        one.upstream_model,
        one.provider_key,
        one.deployment,
        one.secret,
    );
    if one.tokens_unknown {
        meter.tokens_unknown_unless_reported();
    }
    if let Some(charge) = &charge {
        meter.charge(charge.clone());
    }
    let target = Target {
        upstream: upstream()?,
        provider: one.provider.to_owned(),
        model: one.upstream_model.to_owned(),
        timeouts: one.timeouts,
        outcome: None,
        accepted: Rc::new(Cell::new(false)),
        meter: Some(meter.clone()),
    };
    let result = attempt(target).await;
    settle(&meter, &result);
    let mut resp = result?;
    decorate(
        &mut resp,
        one.provider,
        one.upstream_model,
        one.attempt,
        started.elapsed(),
    );
    if let Some(charge) = &charge {
        put_headers(&mut resp, &charge.headers());
    }
    Ok(resp)
}

/// Which provider key a pass-through goes to.
#[derive(Clone, Copy)]
pub enum KeyChoice<'a> {
    /// The caller's provider key of this name, else the forge.toml provider of this name.
    ByName(&'a str),
    /// The caller's provider key with this id (an object recorded on it).
    UserKey(i64),
    /// The forge.toml provider of this name, even when the caller has a key of that name.
    Configured(&'a str),
}

/// The pass-through: `path` (query included) on the provider key `choice` names, else on the
/// forge.toml provider of that name when the caller may use forge.toml.
pub async fn forward<F>(
    proxy: &Proxy,
    transport: &crate::proxy::transport::Transport,
    call: Call<'_>,
    choice: KeyChoice<'_>,
    path: &str,
    attempt: F,
) -> Result<HttpResponse, Error>
where
    F: AsyncFnOnce(Target) -> Result<HttpResponse, Error>,
{
    let snapshot = proxy.routing.snapshot();
    let mut own_keys = call.ctx.providers_in_scope();
    let (wanted, own) = match choice {
        KeyChoice::ByName(name) => {
            let wanted = name.trim().to_ascii_lowercase();
            let own = own_keys.find(|p| p.name_lower == wanted);
            (wanted, own)
        }
        KeyChoice::UserKey(id) => match own_keys.find(|p| p.id == id) {
            Some(key) => (key.name_lower.clone(), Some(key)),
            None => {
                return Err(Error::NotFound(
                    "the provider key this object was created with was deleted or is outside this API key's scope".to_owned(),
                ));
            }
        },
        KeyChoice::Configured(name) => (name.to_owned(), None),
    };
    let requested = format!("{wanted}/{}", path.trim_start_matches('/'));
    if let Some(key) = own {
        let one = One {
            provider: &key.name_lower,
            upstream_model: path,
            requested: &requested,
            provider_key: Some(key.id),
            deployment: None,
            secret: &key.api_key,
            timeouts: transport.timeouts,
            tokens_unknown: true,
            attempt: 1,
        };
        return single(
            proxy,
            &call,
            &snapshot,
            one,
            || Upstream::for_provider(key),
            attempt,
        )
        .await;
    }
    // A static key limited to some models cannot be held to them on arbitrary paths.
    if call
        .ctx
        .gateway
        .as_ref()
        .is_some_and(|key| key.models.is_some())
    {
        return Err(Error::PermissionDenied(
            "this API key is limited to certain models; the pass-through is not available to it"
                .to_owned(),
        ));
    }
    let configured = may_use_config(&snapshot, call.ctx)
        .then(|| snapshot.config.provider(&wanted))
        .flatten()
        .and_then(forge_router::Deployment::of_provider);
    let Some(deployment) = configured else {
        return Err(Error::NotFound(format!(
            "no provider key named '{wanted}' for this API key (add one, or name a provider you have)"
        )));
    };
    let one = One {
        provider: &deployment.provider,
        upstream_model: path,
        requested: &requested,
        provider_key: None,
        deployment: Some(&deployment.id),
        secret: deployment.api_key.expose(),
        timeouts: transport.timeouts,
        tokens_unknown: true,
        attempt: 1,
    };
    single(
        proxy,
        &call,
        &snapshot,
        one,
        || Upstream::for_deployment(&deployment),
        attempt,
    )
    .await
}
