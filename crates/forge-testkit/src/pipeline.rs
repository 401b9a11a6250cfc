//! The steps every `/v1` request goes through, in OpenAI's order: record, fault, auth, body.

use std::sync::Arc;

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Map, Value};

use crate::auth;
use crate::fault::{FAULT_HEADER, Fault};
use crate::openai_error::{OpenAiError, status_code};
use crate::record::RecordedRequest;
use crate::state::{InFlight, Shared};
use crate::validate;

/// A request that passed the common checks.
pub(crate) struct Prepared {
    pub(crate) guard: InFlight,
    /// A fault that shapes the body (stream faults); header faults were already applied.
    pub(crate) fault: Option<Fault>,
    pub(crate) body: Map<String, Value>,
    /// The requested model (POST routes only).
    pub(crate) model: String,
}

/// Records the request, applies any fault that acts before the headers, checks the key and,
/// for POST routes, the JSON body and its `model`. `Err` is the response to send.
pub(crate) async fn prepare(
    req: &HttpRequest,
    raw: &[u8],
    shared: &Arc<Shared>,
) -> Result<Prepared, HttpResponse> {
    shared.record(RecordedRequest::capture(req, raw));
    let guard = InFlight::new(Arc::clone(shared));
    let fault = match req.headers().get(FAULT_HEADER) {
        Some(value) => {
            let value = String::from_utf8_lossy(value.as_bytes());
            let fault = Fault::from_header(&value).map_err(|why| {
                OpenAiError::invalid(format!("Invalid {FAULT_HEADER} header: {why}"), None, None)
                    .response()
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
        }) => return Err(status_response(*status, body.as_deref(), *retry_after)),
        Some(Fault::HangBeforeHeaders) => {
            futures_util::future::pending::<()>().await;
        }
        Some(Fault::DelayHeaders(ms)) => {
            actix_rt::time::sleep(std::time::Duration::from_millis(*ms)).await;
        }
        _ => {}
    }
    auth::check(req, &shared.api_key).map_err(|e| e.response())?;
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
        .and_then(|body| validate::model(&body, &shared.models).map(|model| (body, model)));
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

fn status_response(status: u16, body: Option<&str>, retry_after: Option<u64>) -> HttpResponse {
    let mut resp = HttpResponse::build(status_code(status));
    if let Some(secs) = retry_after {
        resp.insert_header(("retry-after", secs.to_string()));
    }
    match body {
        Some(raw) => resp.content_type("application/json").body(raw.to_owned()),
        None => resp.json(OpenAiError::for_status(status).body()),
    }
}
