//! Who may go where: the model name's checks, whether the caller may use forge.toml routes,
//! and the single target of a request that is not forwarded as such (token counting).

use std::cell::Cell;
use std::rc::Rc;
use std::time::Instant;

use actix_web::HttpRequest;
use forge_core::Error;

use crate::auth::key_cache::AuthContext;
use crate::proxy::handle::Proxy;
use crate::proxy::resolve::{self, MAX_MODEL_LEN};
use crate::proxy::transport::Transport;
use crate::proxy::upstream::Upstream;
use crate::routing::Snapshot;

use super::Target;
use super::attempts::{no_deployment, session_id};

/// Where a request that is not forwarded as such would go (token counting): the caller's own
/// provider key, else the first deployment the routing table would try now. Nothing is
/// recorded against the deployment.
pub fn single_target(
    proxy: &Proxy,
    transport: &Transport,
    ctx: &AuthContext,
    req: &HttpRequest,
    model: Option<&str>,
) -> Result<Target, Error> {
    let model = model.map(str::trim);
    if let Some(model) = model {
        check_model(model)?;
    }
    let snapshot = proxy.routing.snapshot();
    let config_allowed = config_access(&snapshot, ctx, model)?;
    if ctx.gateway.is_none()
        && let Some(model) = model
    {
        match resolve::resolve_with(ctx, model, &snapshot.config.provider_priority) {
            Ok(route) => return Target::user_key(route, transport.timeouts, None),
            Err(Error::ModelNotFound { .. }) if config_allowed => {}
            Err(e) => return Err(e),
        }
    }
    if !config_allowed {
        return Err(match model {
            Some(model) => Error::ModelNotFound {
                model: model.to_owned(),
            },
            None => missing_model(),
        });
    }
    let session = session_id(req, &snapshot.config.routing.session_header);
    let decision = proxy
        .routing
        .with_router(|router, rng| router.decide(model, session, Instant::now(), rng))?;
    let first = decision
        .candidates
        .first()
        .or(decision.excluded.first())
        .and_then(|c| snapshot.table.deployment_by_id(&c.id))
        .map(|(_, d)| d.clone())
        .ok_or_else(|| no_deployment(model.unwrap_or("the default model")))?;
    Ok(Target {
        upstream: Upstream::for_deployment(&first)?,
        provider: first.provider.clone(),
        model: first.upstream_model.clone(),
        timeouts: transport.timeouts,
        outcome: None,
        accepted: Rc::new(Cell::new(false)),
        meter: None,
    })
}

/// Whether the caller may use forge.toml routes: a static key for the models it lists (an
/// error otherwise), a user's key only when the file serves user keys and the key is not
/// scoped to particular provider keys.
pub(super) fn config_access(
    snapshot: &Snapshot,
    ctx: &AuthContext,
    model: Option<&str>,
) -> Result<bool, Error> {
    let Some(key) = &ctx.gateway else {
        return Ok(may_use_config(snapshot, ctx));
    };
    let name = model
        .map(str::to_owned)
        .or_else(|| snapshot.config.default_model.clone())
        .ok_or_else(missing_model)?;
    if snapshot.table.key_allows(key, &name) {
        Ok(true)
    } else {
        Err(Error::PermissionDenied(format!(
            "API key is not permitted to use model '{name}'."
        )))
    }
}

/// Whether the caller may use forge.toml routes at all (a static key: some of them).
pub fn may_use_config(snapshot: &Snapshot, ctx: &AuthContext) -> bool {
    ctx.gateway.is_some()
        || (snapshot.config.routing.serve_user_keys && ctx.scope.is_none() && snapshot.has_routes())
}

pub(super) fn check_model(model: &str) -> Result<(), Error> {
    if model.len() > MAX_MODEL_LEN {
        return Err(Error::InvalidRequest {
            message: format!("model must be at most {MAX_MODEL_LEN} bytes"),
            param: Some("model".into()),
        });
    }
    if model.is_empty() {
        return Err(missing_model());
    }
    Ok(())
}

pub(super) fn missing_model() -> Error {
    Error::InvalidRequest {
        message: "you must provide a model parameter".into(),
        param: Some("model".into()),
    }
}
