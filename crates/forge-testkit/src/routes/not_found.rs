//! Unknown routes and wrong methods, answered like OpenAI, or like Azure below `/openai/`
//! (and recorded like any request). An armed fault is taken here too, as on every endpoint:
//! a status fault with a body is how a test serves an endpoint the fake does not model (the
//! Responses API, say).

use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;

use crate::azure;
use crate::azure_error::AzureError;
use crate::dialect::Dialect;
use crate::openai_error::OpenAiError;
use crate::pipeline::intercept;
use crate::state::Shared;

pub(crate) async fn handle(
    req: HttpRequest,
    body: Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let shared = shared.into_inner();
    let azure = azure::is_azure(&req);
    let dialect = if azure {
        Dialect::Azure
    } else {
        Dialect::OpenAi
    };
    if let Err(faulted) = intercept(&req, &body, &shared, dialect).await {
        return faulted;
    }
    if azure {
        return AzureError::resource_not_found().response();
    }
    OpenAiError {
        status: 404,
        message: format!("Invalid URL ({} {})", req.method(), req.path()),
        kind: "invalid_request_error",
        param: None,
        code: None,
    }
    .response()
}
