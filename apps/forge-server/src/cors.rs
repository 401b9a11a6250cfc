//! CORS for browsers calling Forge from another origin: any origin, method and header, with
//! credentials, every response header exposed, preflights cached for an hour.
//!
//! A request without `Origin` (every SDK, CLI and server-side client) passes straight through:
//! actix-cors boxed every request's future and rewrote every response's headers (~5,000
//! instructions per proxied request) even when no browser was involved.

use std::future::{Ready, ready};

use actix_web::body::EitherBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{Error, HttpResponse};
use futures_util::future::{Either, LocalBoxFuture};

/// How long a browser may cache a preflight answer.
const MAX_AGE_SECS: u32 = 3600;

pub struct Cors;

impl<S, B> Transform<S, ServiceRequest> for Cors
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = CorsService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(CorsService { service }))
    }
}

pub struct CorsService<S> {
    service: S,
}

impl<S, B> Service<ServiceRequest> for CorsService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = Either<
        futures_util::future::MapOk<S::Future, fn(ServiceResponse<B>) -> Self::Response>,
        LocalBoxFuture<'static, Result<Self::Response, Error>>,
    >;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        use futures_util::TryFutureExt;
        let Some(origin) = req.headers().get(header::ORIGIN).cloned() else {
            let left: fn(ServiceResponse<B>) -> Self::Response =
                ServiceResponse::map_into_left_body;
            return Either::Left(self.service.call(req).map_ok(left));
        };
        if req.method() == Method::OPTIONS
            && req
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
        {
            let response = preflight(req.headers(), origin);
            let res = req.into_response(response).map_into_right_body();
            return Either::Right(Box::pin(async move { Ok(res) }));
        }
        let fut = self.service.call(req);
        Either::Right(Box::pin(async move {
            let mut res = fut.await?;
            allow(res.headers_mut(), origin);
            Ok(res.map_into_left_body())
        }))
    }
}

/// The answer to a preflight: whatever the browser asks for is allowed.
fn preflight(request: &HeaderMap, origin: HeaderValue) -> HttpResponse {
    let mut res = HttpResponse::build(StatusCode::OK);
    res.insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin))
        .insert_header((header::ACCESS_CONTROL_ALLOW_CREDENTIALS, "true"))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, MAX_AGE_SECS))
        .insert_header((header::VARY, "Origin"));
    if let Some(method) = request.get(header::ACCESS_CONTROL_REQUEST_METHOD) {
        res.insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, method.clone()));
    }
    if let Some(headers) = request.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        res.insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, headers.clone()));
    }
    res.finish()
}

/// The headers an actual cross-origin response carries: the origin allowed with credentials,
/// and every response header exposed (with credentials, `*` is not honoured).
fn allow(headers: &mut HeaderMap, origin: HeaderValue) {
    let exposed: Vec<&str> = headers
        .keys()
        .map(HeaderName::as_str)
        .filter(|name| !name.starts_with("access-control-"))
        .collect();
    let exposed = HeaderValue::from_str(&exposed.join(", ")).ok();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    if let Some(exposed) = exposed.filter(|v| !v.is_empty()) {
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, exposed);
    }
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
}
