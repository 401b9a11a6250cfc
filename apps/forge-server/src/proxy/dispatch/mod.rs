//! Where a request goes and how often it is tried. A model the caller's own provider keys
//! serve (Forge v1 resolution) gets one attempt on that key. Otherwise the forge.toml routing
//! table plans attempts over deployments: retries with backoff, then the next deployment,
//! then fallback models, within the route's attempt budget and deadline. An attempt that
//! committed a response (first content sent) is never retried; one whose upstream already
//! accepted the request (2xx) may move on, but never back to that deployment.

mod admission;
mod attempts;
mod billing;
mod choice;
mod discovery;
mod headers;
mod single;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Instant;

use actix_web::{HttpRequest, HttpResponse};
use forge_core::Error;

use crate::auth::key_cache::AuthContext;
use crate::config::Timeouts;
use crate::metrics::worker::RequestObs;
use crate::proxy::dialect::Dialect;
use crate::proxy::handle::Proxy;
use crate::proxy::resolve;
use crate::proxy::transport::Transport;
use crate::proxy::upstream::Upstream;
use crate::routing::outcome::StreamOutcome;
use crate::usage::meter::{Meter, PromptEstimate};

use self::attempts::routed;
pub use self::billing::new_id;
use self::choice::{check_model, config_access, missing_model};
pub use self::choice::{may_use_config, single_target};
pub use self::single::{KeyChoice, forward};
use self::single::{One, single};

/// One attempt's destination, handed to the dialect's attempt function.
pub struct Target {
    pub upstream: Upstream,
    /// The provider's name (lowercase for user keys), for logs and error messages.
    pub provider: String,
    /// The model name the upstream expects.
    pub model: String,
    pub timeouts: Timeouts,
    /// Settles a streamed attempt with the router; `None` for unrouted requests.
    pub outcome: Option<StreamOutcome>,
    /// Set once the upstream answered 2xx: the request was accepted there.
    pub accepted: Rc<Cell<bool>>,
    /// The attempt's usage record; `None` where nothing is billed (token counting).
    pub meter: Option<Meter>,
}

impl Target {
    /// The one attempt on the caller's own provider key (Forge v1 resolution).
    pub fn user_key(
        route: resolve::Route<'_>,
        timeouts: Timeouts,
        meter: Option<Meter>,
    ) -> Result<Target, Error> {
        Ok(Target {
            upstream: Upstream::for_provider(route.provider)?,
            provider: route.provider.name_lower.clone(),
            model: route.upstream_model,
            timeouts,
            outcome: None,
            accepted: Rc::new(Cell::new(false)),
            meter,
        })
    }
}

/// What the handler knows about the request before any upstream is chosen.
pub struct Call<'a> {
    pub req: &'a HttpRequest,
    pub ctx: &'a AuthContext,
    /// `None`: the request named no model (the configured default applies).
    pub model: Option<&'a str>,
    pub stream: bool,
    /// The client's dialect, for an error answered after routed attempts (it carries the
    /// `x-forge-*` headers too).
    pub dialect: Dialect,
    /// What usage records call the endpoint (`chat/completions`, `messages`, ...).
    pub endpoint: &'static str,
    /// Counts the prompt for a model when an upstream reports no usage.
    pub estimate: PromptEstimate,
    /// Input tokens reserved against limits at admission (a cheap estimate from the size).
    pub reserve_tokens: u64,
    /// The request's own cap on output tokens, held against token budgets.
    pub max_tokens: Option<u64>,
    /// The request's metrics, which every attempt's meter reports to.
    pub obs: &'a RequestObs,
}

impl Call<'_> {
    /// The usual reserve: about four bytes of JSON per token.
    pub fn reserve_for(body_len: usize) -> u64 {
        (body_len as u64).div_ceil(4)
    }
}

/// Chooses upstreams for `call` and runs `attempt` on them until one answers.
pub async fn dispatch<F>(
    proxy: &Proxy,
    transport: &Transport,
    call: Call<'_>,
    mut attempt: F,
) -> Result<HttpResponse, Error>
where
    F: AsyncFnMut(Target) -> Result<HttpResponse, Error>,
{
    let started = Instant::now();
    let model = call.model.map(str::trim);
    if let Some(model) = model {
        check_model(model)?;
    }
    let snapshot = proxy.routing.snapshot();
    let config_allowed = config_access(&snapshot, call.ctx, model)?;
    if call.ctx.gateway.is_some() {
        return routed(
            proxy,
            transport,
            &call,
            &snapshot,
            model,
            started,
            &mut attempt,
        )
        .await;
    }
    let Some(model) = model else {
        if config_allowed && snapshot.config.default_model.is_some() {
            return routed(
                proxy,
                transport,
                &call,
                &snapshot,
                None,
                started,
                &mut attempt,
            )
            .await;
        }
        return Err(missing_model());
    };
    match resolve::resolve_with(call.ctx, model, &snapshot.config.provider_priority) {
        Ok(route) => {
            let one = One {
                provider: &route.provider.name_lower,
                upstream_model: &route.upstream_model,
                requested: model,
                provider_key: Some(route.provider.id),
                deployment: None,
                secret: &route.provider.api_key,
                timeouts: transport.timeouts,
                tokens_unknown: false,
                attempt: 1,
            };
            single(
                proxy,
                &call,
                &snapshot,
                one,
                || Upstream::for_provider(route.provider),
                async |target| attempt(target).await,
            )
            .await
        }
        Err(Error::ModelNotFound { .. })
            if config_allowed && snapshot.table.resolve(model).is_some() =>
        {
            routed(
                proxy,
                transport,
                &call,
                &snapshot,
                Some(model),
                started,
                &mut attempt,
            )
            .await
        }
        Err(Error::ModelNotFound { .. }) => {
            discovery::discovered(proxy, transport, &call, &snapshot, model, &mut attempt).await
        }
        Err(e) => Err(e),
    }
}
