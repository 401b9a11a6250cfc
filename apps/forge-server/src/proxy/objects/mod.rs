//! `/v1/files` and `/v1/batches`: objects that live upstream, on one provider account. A
//! file or batch is created with one of the caller's provider keys (`x-forge-provider`, else
//! the caller's OpenAI-compatible key) and Forge records which caller owns the id and on which
//! key, so later calls naming the id go to that key, and anyone else gets a 404 without the
//! upstream being asked. Listings show only the caller's own objects. Each call is one
//! pass-through attempt (`dispatch::forward`): the same authentication, limits, usage record
//! (tokens unknown: a batch is billed by the provider when it runs) and logs as every route.

mod call;
mod ledger;
mod listing;
mod place;

use std::rc::Rc;

use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use forge_core::Error;
use forge_storage::ObjectOwner;
use futures_util::StreamExt;
use serde_json::Value;

use crate::auth::forge_key::authenticate;
use crate::auth::key_cache::AuthContext;
use crate::error::ProxyError;
use crate::metrics::worker::{RequestObs, WorkerMetrics};
use crate::proxy::as_sent::{Relayed, as_sent, relay_headers};
use crate::proxy::dialect::Dialect;
use crate::proxy::dispatch::{self, Call, Target};
use crate::proxy::forward::{Body, declared_length, send_on, without_forge_key};
use crate::proxy::handle::Proxy;
use crate::proxy::transport::{MAX_UPSTREAM_BODY, Transport};
use crate::usage::estimate::{Prompt, estimator};
use forge_core::usage_sniff::SniffDialect;

use self::call::{Kind, Op, plausible_id};
use self::ledger::Ledger;
pub use self::place::PROVIDER_HEADER;
use self::place::Place;

/// Every `/v1/files` route.
pub async fn files(
    req: HttpRequest,
    payload: web::Payload,
    proxy: web::Data<Proxy>,
    transport: web::Data<Transport>,
    metrics: web::Data<Rc<WorkerMetrics>>,
) -> Result<HttpResponse, ProxyError> {
    run(Kind::File, req, payload, &proxy, &transport, &metrics).await
}

/// Every `/v1/batches` route.
pub async fn batches(
    req: HttpRequest,
    payload: web::Payload,
    proxy: web::Data<Proxy>,
    transport: web::Data<Transport>,
    metrics: web::Data<Rc<WorkerMetrics>>,
) -> Result<HttpResponse, ProxyError> {
    run(Kind::Batch, req, payload, &proxy, &transport, &metrics).await
}

async fn run(
    kind: Kind,
    req: HttpRequest,
    payload: web::Payload,
    proxy: &Proxy,
    transport: &Transport,
    metrics: &Rc<WorkerMetrics>,
) -> Result<HttpResponse, ProxyError> {
    let obs = metrics.request("openai", kind.collection(), req.headers());
    let result = serve(kind, &req, payload, proxy, transport, &obs).await;
    crate::proxy::client::respond(&obs, result, Dialect::OpenAi)
}

fn owner(ctx: &AuthContext) -> ObjectOwner {
    match &ctx.gateway {
        Some(key) => ObjectOwner::StaticKey(key.name.clone()),
        None => ObjectOwner::User(ctx.user_id),
    }
}

async fn serve(
    kind: Kind,
    req: &HttpRequest,
    payload: web::Payload,
    proxy: &Proxy,
    transport: &Transport,
    obs: &RequestObs,
) -> Result<HttpResponse, Error> {
    let ctx = authenticate(&proxy.auth, req).await?;
    let owner = owner(&ctx);
    let op = Op::of(req);
    let id = req.match_info().get("id").map(str::to_owned);
    let limit = proxy.max_body_bytes;
    let declared = declared_length(req.headers());
    if declared.is_some_and(|len| len > limit) {
        return Err(Error::PayloadTooLarge { limit });
    }
    let (place, body) = match (&id, op) {
        (Some(id), _) => {
            let place = owned(proxy, &owner, kind, id).await?;
            (place, Body::Stream(payload, limit))
        }
        // A batch runs on the account that holds its input file.
        (None, Op::Create) if kind == Kind::Batch => {
            let bytes = read_whole(payload, limit).await?;
            let input = input_file(&bytes)?;
            let place = owned(proxy, &owner, Kind::File, &input).await?;
            if let Some(named) = place::named(req)?
                && named != place.provider
            {
                return Err(Error::InvalidRequest {
                    message: format!(
                        "the input file {input} is held by provider key '{}', not '{named}': a batch runs where its input file is",
                        place.provider
                    ),
                    param: Some("input_file_id".into()),
                });
            }
            (place, Body::Whole(bytes))
        }
        (None, _) => (
            place::for_new(req, &ctx, proxy)?,
            Body::Stream(payload, limit),
        ),
    };
    let query = match op {
        Op::List => without_forge_key(req.query_string()),
        _ => String::new(),
    };
    let path = op.path(kind, id.as_deref(), &query);
    let call = Call {
        req,
        ctx: &ctx,
        model: None,
        stream: false,
        dialect: Dialect::OpenAi,
        endpoint: kind.collection(),
        estimate: estimator(Prompt::Raw, Bytes::new()),
        reserve_tokens: Call::reserve_for(declared.unwrap_or(0)),
        max_tokens: None,
        obs,
    };
    let ledger = Ledger {
        store: &proxy.store,
        owner: &owner,
        place: &place,
    };
    let choice = place.choice();
    dispatch::forward(
        proxy,
        transport,
        call,
        choice,
        kind.collection(),
        async move |target: Target| {
            let mut resp = send_on(req, &target, transport, &path, declared, body).await?;
            let json = resp
                .headers()
                .get(actix_web::http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|ct| ct.contains("json"));
            // A file's bytes, and every failure, go back as the provider sent them; a listing
            // is always read (never passed on unfiltered).
            if op == Op::Content || !resp.status().is_success() || (!json && op != Op::List) {
                return Ok(as_sent(
                    resp,
                    target.meter.clone(),
                    SniffDialect::OpenAiChat,
                    &target,
                    Relayed::Content,
                ));
            }
            let answer = transport
                .read_body(&target.provider, &mut resp, MAX_UPSTREAM_BODY)
                .await?;
            let answer = match op {
                Op::List => {
                    list(kind, &ledger, &query, answer, async |next: String| {
                        let path = op.path(kind, None, &next);
                        let body = Body::Whole(Bytes::new());
                        let mut more = send_on(req, &target, transport, &path, None, body).await?;
                        if !more.status().is_success() {
                            return Err(target.upstream.adapter().parse_error(
                                more.status().as_u16(),
                                None,
                                &transport
                                    .read_body(&target.provider, &mut more, MAX_UPSTREAM_BODY)
                                    .await
                                    .unwrap_or_default(),
                            ));
                        }
                        transport
                            .read_body(&target.provider, &mut more, MAX_UPSTREAM_BODY)
                            .await
                    })
                    .await?
                }
                _ => ledger.book(kind, op, id.as_deref(), answer).await?,
            };
            let status = resp.status();
            if let Some(meter) = &target.meter {
                // Objects carry no usage of the call itself (a batch's is the provider's to
                // bill when it runs): the record's tokens stay unknown.
                meter.first_content();
                meter.upstream_done();
                meter.settle(status.as_u16(), None, false);
            }
            let mut out = HttpResponse::build(status);
            relay_headers(&mut out, resp.headers(), Relayed::Content);
            Ok(out.body(answer))
        },
    )
    .await
}

/// The caller's objects of a listing, reading further upstream pages (`fetch` with the next
/// query) until the client's limit is met (`listing.rs`); a batch's output files are booked
/// on the way. A page that cannot be read is a 502: never passed on uncut.
async fn list(
    kind: Kind,
    ledger: &Ledger<'_>,
    query: &str,
    first: Bytes,
    fetch: impl AsyncFn(String) -> Result<Bytes, Error>,
) -> Result<Bytes, Error> {
    let owned = ledger.owned(kind).await?;
    let limit = listing::limit_of(query, kind);
    let mut kept = Vec::new();
    let mut body = first;
    for read in 1..=listing::MAX_PAGES {
        let page = listing::cut(&body, &owned).ok_or_else(|| Error::Upstream {
            provider: ledger.place.provider.clone(),
            status: 502,
            message: format!(
                "the provider's {} listing could not be read, so it cannot be cut to this caller's own",
                kind.name()
            ),
            retry_after: None,
            error_type: None,
            code: None,
        })?;
        if kind == Kind::Batch {
            for batch in &page.kept {
                ledger.record_outputs(batch).await?;
            }
        }
        kept.extend(page.kept);
        let more = page.has_more && page.upstream_last.is_some();
        match page.upstream_last {
            Some(cursor) if more && kept.len() < limit && read < listing::MAX_PAGES => {
                body = fetch(listing::after(query, &cursor)).await?;
            }
            _ => return Ok(listing::render(kept, limit, more)),
        }
    }
    Ok(listing::render(kept, limit, true))
}

/// The caller's object `id` of `kind`: where it lives, or a 404 when the caller has none.
async fn owned(proxy: &Proxy, owner: &ObjectOwner, kind: Kind, id: &str) -> Result<Place, Error> {
    if !plausible_id(id) {
        return Err(kind.no_such(id));
    }
    match proxy
        .store
        .find_upstream_object(owner, kind.name(), id)
        .await
    {
        Ok(Some(object)) => Ok(Place::of(&object)),
        Ok(None) => Err(kind.no_such(id)),
        Err(e) => {
            tracing::error!(error = %e, "cannot look up an upstream object");
            Err(Error::Internal("Internal server error".into()))
        }
    }
}

/// A batch request's `input_file_id`.
fn input_file(body: &[u8]) -> Result<String, Error> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Error::invalid(format!("the request body is not valid JSON: {e}")))?;
    value
        .get("input_file_id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| Error::InvalidRequest {
            message: "`input_file_id` is required: the id of a file uploaded with purpose `batch`"
                .into(),
            param: Some("input_file_id".into()),
        })
}

/// The whole body, refused past `limit`.
async fn read_whole(mut payload: web::Payload, limit: usize) -> Result<Bytes, Error> {
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| Error::invalid(format!("could not read the request body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(Error::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
