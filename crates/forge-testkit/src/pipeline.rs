//! The steps every request goes through before its route's own checks: record, then fault.
//! [`prepare`] adds OpenAI's own steps (auth, JSON body, `model`), or Azure's on its routes.

use std::sync::Arc;

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Map, Value};

use crate::auth;
use crate::azure;
use crate::dialect::Dialect;
use crate::fault::{FAULT_HEADER, Fault};
use crate::openai_error::status_code;
use crate::record::RecordedRequest;
use crate::state::{InFlight, Shared};
use crate::validate;

/// A request that was recorded and survived any fault acting before the headers.
pub(crate) struct Intercepted {
    pub(crate) guard: InFlight,
    /// A fault that shapes the body (stream faults); header faults were already applied.
    pub(crate) fault: Option<Fault>,
}

/// Records the request and applies any fault that acts before the headers (answering in
/// `dialect`'s error shape). `Err` is the response to send.
pub(crate) async fn intercept(
    req: &HttpRequest,
    raw: &[u8],
    shared: &Arc<Shared>,
    dialect: Dialect,
) -> Result<Intercepted, HttpResponse> {
    shared.record(RecordedRequest::capture(req, raw));
    let guard = InFlight::new(Arc::clone(shared));
    let fault = match req.headers().get(FAULT_HEADER) {
        Some(value) => {
            let value = String::from_utf8_lossy(value.as_bytes());
            let fault = Fault::from_header(&value).map_err(|why| {
                dialect.bad_request(format!("Invalid {FAULT_HEADER} header: {why}"))
            })?;
            Some(fault)
        }
        None => shared.take_fault(),
    };
    match &fault {
        Some(Fault::Status {
            status,
            body,
            retry_after,
        }) => {
            return Err(status_response(
                dialect,
                *status,
                body.as_deref(),
                *retry_after,
            ));
        }
        Some(Fault::HangBeforeHeaders) => {
            futures_util::future::pending::<()>().await;
        }
        Some(Fault::DelayHeaders(ms)) => {
            actix_rt::time::sleep(std::time::Duration::from_millis(*ms)).await;
        }
        _ => {}
    }
    Ok(Intercepted { guard, fault })
}

/// An OpenAI request that passed the common checks.
pub(crate) struct Prepared {
    pub(crate) guard: InFlight,
    pub(crate) fault: Option<Fault>,
    pub(crate) body: Map<String, Value>,
    /// The requested model (POST routes only).
    pub(crate) model: String,
}

/// [`intercept`], then OpenAI's checks: the key and, for POST routes, the JSON body and its
/// `model`. On Azure's routes Azure's gateway checks the request instead of the key check, and
/// the deployment in the path is the model.
pub(crate) async fn prepare(
    req: &HttpRequest,
    raw: &[u8],
    shared: &Arc<Shared>,
) -> Result<Prepared, HttpResponse> {
    let azure = azure::is_azure(req);
    let dialect = if azure {
        Dialect::Azure
    } else {
        Dialect::OpenAi
    };
    let Intercepted { guard, fault } = intercept(req, raw, shared, dialect).await?;
    let deployment = if azure {
        azure::gate(req, shared).map_err(|e| e.response())?
    } else {
        auth::check(req, &shared.api_key).map_err(|e| e.response())?;
        None
    };
    if req.method() != actix_web::http::Method::POST {
        return Ok(Prepared {
            guard,
            fault,
            body: Map::new(),
            model: String::new(),
        });
    }
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let checked = validate::content_type_is_json(content_type.as_deref())
        .and_then(|()| validate::parse_object(raw))
        .and_then(|body| {
            let model = match deployment {
                Some(deployment) => deployment,
                None => validate::model(&body, &shared.models)?,
            };
            Ok((body, model))
        });
    match checked {
        Ok((body, model)) => Ok(Prepared {
            guard,
            fault,
            body,
            model,
        }),
        Err(e) => Err(e.response()),
    }
}

fn status_response(
    dialect: Dialect,
    status: u16,
    body: Option<&str>,
    retry_after: Option<u64>,
) -> HttpResponse {
    let mut resp = HttpResponse::build(status_code(status));
    if let Some(secs) = retry_after {
        resp.insert_header(("retry-after", secs.to_string()));
    }
    match body {
        Some(raw) => resp.content_type("application/json").body(raw.to_owned()),
        None => resp.json(dialect.status_body(status, retry_after)),
    }
}
