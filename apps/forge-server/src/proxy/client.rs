//! A client dialect is one type, and every proxy route is one generic handler over it.
//!
//! The handler runs fixed phases, the same for every dialect: **authenticate** (the dialect
//! says where its credential is) → **read** the body (size-limited) and the request head the
//! dialect finds in it → **admit, plan and attempt** (`dispatch`: limits, the user-key or
//! forge.toml plan, one `attempt` per upstream tried) → **respond** (headers added by
//! dispatch) → **settle** (each attempt's meter, in dispatch). What differs between dialects
//! is only what an implementation of [`ClientDialect`] says: how the head is read, how one
//! attempt goes out (passed through to an upstream of the same dialect, or translated through
//! the canonical form), and the dialect errors are rendered in, once, at the edge.
//!
//! A new inbound dialect or endpoint is one new implementation and one route line.

use std::rc::Rc;
use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use forge_core::Error;

use crate::auth::forge_key::{Authenticator, authenticate};
use crate::auth::key_cache::AuthContext;
use crate::error::ProxyError;
use crate::metrics::worker::{RequestObs, WorkerMetrics};
use crate::proxy::dialect::Dialect;
use crate::proxy::dispatch::{Call, Target, dispatch};
use crate::proxy::handle::Proxy;
use crate::proxy::pipeline::read_body;
use crate::proxy::transport::Transport;
use crate::usage::estimate::{Prompt, estimator};

/// What the handler learns from a request before any upstream is chosen.
pub struct Head {
    /// `None`: the request named no model (the configured default applies).
    pub model: Option<String>,
    pub stream: bool,
    /// What usage records call the endpoint (`chat/completions`, `messages`, ...).
    pub endpoint: &'static str,
    /// How the prompt is counted when an upstream reports no usage.
    pub prompt: Prompt,
    /// The request's own cap on output tokens, held against token budgets.
    pub max_tokens: Option<u64>,
}

/// What one attempt may use besides its target: the request, its body and its caller.
pub struct Attempt<'r> {
    pub req: &'r HttpRequest,
    pub body: &'r Bytes,
    pub ctx: &'r AuthContext,
    pub stream: bool,
    pub transport: &'r Transport,
    /// The store, for dialects that keep state of their own (Responses' conversations).
    pub store: &'r forge_storage::Store,
}

/// One inbound dialect (an API surface clients call).
#[allow(async_fn_in_trait)] // the handler's futures are per-worker and never sent
pub trait ClientDialect: Default + 'static {
    /// What the dialect keeps of a request across its attempts: the raw top-level object
    /// (borrowing the body) and the canonical form, parsed on the first attempt that
    /// translates and reused by later ones.
    type Inbound<'a>;

    /// The dialect errors are answered in, streamed or not.
    const DIALECT: Dialect;

    /// Who is calling. Most dialects read `Authorization`/`x-api-key`.
    async fn authenticate(
        &self,
        auth: &Authenticator,
        req: &HttpRequest,
    ) -> Result<Arc<AuthContext>, Error> {
        authenticate(auth, req).await
    }

    /// Reads the request head from the body, once.
    fn read<'a>(
        &self,
        req: &HttpRequest,
        body: &'a Bytes,
    ) -> Result<(Head, Self::Inbound<'a>), Error>;

    /// One attempt on `target`: passed through when the upstream speaks this dialect,
    /// translated otherwise.
    async fn attempt<'a>(
        &self,
        inbound: &mut Self::Inbound<'a>,
        cx: &Attempt<'_>,
        target: Target,
    ) -> Result<HttpResponse, Error>;
}

/// The route handler for dialect `D`.
pub async fn handle<D: ClientDialect>(
    req: HttpRequest,
    payload: web::Payload,
    proxy: web::Data<Proxy>,
    transport: web::Data<Transport>,
    metrics: web::Data<Rc<WorkerMetrics>>,
) -> Result<HttpResponse, ProxyError> {
    let obs = metrics.request(D::DIALECT.name(), "unknown", req.headers());
    let result = run(&D::default(), &req, payload, &proxy, &transport, &obs).await;
    respond(&obs, result, D::DIALECT)
}

/// The edge of every proxy route: the request's status into its metrics, its trace id into
/// `x-forge-trace-id`, and an error rendered once, in `dialect`.
#[allow(clippy::result_large_err)] // the handlers' own return type, built once per request
pub fn respond(
    obs: &RequestObs,
    mut result: Result<HttpResponse, Error>,
    dialect: Dialect,
) -> Result<HttpResponse, ProxyError> {
    obs.set_status(match &result {
        Ok(resp) => resp.status().as_u16(),
        Err(error) => error.status(),
    });
    if let (Ok(resp), Some(trace_id)) = (&mut result, obs.trace_id())
        && let Ok(value) = actix_web::http::header::HeaderValue::from_str(&trace_id)
    {
        resp.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("x-forge-trace-id"),
            value,
        );
    }
    result.map_err(ProxyError::in_dialect(dialect))
}

async fn run<D: ClientDialect>(
    dialect: &D,
    req: &HttpRequest,
    payload: web::Payload,
    proxy: &Proxy,
    transport: &Transport,
    obs: &RequestObs,
) -> Result<HttpResponse, Error> {
    let ctx = dialect.authenticate(&proxy.auth, req).await?;
    let body = read_body(req, payload, proxy.max_body_bytes).await?;
    let (head, mut inbound) = dialect.read(req, &body)?;
    obs.head(head.endpoint, head.model.as_deref());
    let call = Call {
        req,
        ctx: &ctx,
        model: head.model.as_deref(),
        stream: head.stream,
        dialect: D::DIALECT,
        endpoint: head.endpoint,
        estimate: estimator(head.prompt, body.clone()),
        reserve_tokens: Call::reserve_for(body.len()),
        max_tokens: head.max_tokens,
        obs,
    };
    let cx = Attempt {
        req,
        body: &body,
        ctx: &ctx,
        stream: head.stream,
        transport,
        store: &proxy.store,
    };
    dispatch(proxy, transport, call, async |target: Target| {
        dialect.attempt(&mut inbound, &cx, target).await
    })
    .await
}
