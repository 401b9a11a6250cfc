//! Trailing slashes trimmed and repeated slashes merged before routing, so Forge v1 clients'
//! `/v1/api-keys/` and the bare spelling reach the same single static route.
//!
//! actix's `NormalizePath::trim()` does the same, but it runs a regex over every path and
//! copies it, which cost ~8,000 instructions per proxied request (3% of the request path);
//! here a path that needs nothing (nearly all of them) is only scanned once.

use std::future::{Ready, ready};

use actix_web::Error;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::Uri;
use actix_web::http::uri::PathAndQuery;
use bytes::Bytes;

pub struct TrimPath;

impl<S, B> Transform<S, ServiceRequest> for TrimPath
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = TrimPathService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(TrimPathService { service }))
    }
}

pub struct TrimPathService<S> {
    service: S,
}

impl<S, B> Service<ServiceRequest> for TrimPathService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = S::Future;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        if let Some(uri) = trimmed(req.path()).and_then(|path| with_path(&req.head().uri, path)) {
            req.match_info_mut().get_mut().update(&uri);
            req.head_mut().uri = uri;
        }
        self.service.call(req)
    }
}

/// `uri` with `path` in place of its own, its query kept.
fn with_path(uri: &Uri, path: String) -> Option<Uri> {
    let mut parts = uri.clone().into_parts();
    let with_query = match parts.path_and_query.as_ref().and_then(PathAndQuery::query) {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    parts.path_and_query = Some(PathAndQuery::from_maybe_shared(Bytes::from(with_query)).ok()?);
    Uri::from_parts(parts).ok()
}

/// `path` without trailing slashes and with runs of slashes merged; `None` when unchanged.
fn trimmed(path: &str) -> Option<String> {
    let needs =
        !path.is_empty() && ((path.len() > 1 && path.ends_with('/')) || path.contains("//"));
    if !needs {
        return None;
    }
    let mut out = String::with_capacity(path.len());
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        out.push('/');
        out.push_str(segment);
    }
    if out.is_empty() {
        out.push('/');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(trimmed("/v1/chat/completions"), None);
        assert_eq!(trimmed("/"), None);
        assert_eq!(trimmed(""), None);
        assert_eq!(trimmed("/v1/api-keys/").as_deref(), Some("/v1/api-keys"));
        assert_eq!(trimmed("/v1//api-keys//").as_deref(), Some("/v1/api-keys"));
        assert_eq!(trimmed("//").as_deref(), Some("/"));
        assert_eq!(trimmed("/a///b").as_deref(), Some("/a/b"));
    }

    #[test]
    fn query_is_kept() {
        let uri: Uri = "/v1/usage/?from=1&to=2".parse().unwrap();
        let path = trimmed(uri.path()).unwrap();
        assert_eq!(with_path(&uri, path).unwrap(), "/v1/usage?from=1&to=2");
    }
}
