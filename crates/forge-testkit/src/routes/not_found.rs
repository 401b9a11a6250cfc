//! Unknown routes and wrong methods, answered like OpenAI, or like Azure below `/openai/`
//! (and recorded like any request).

use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;

use crate::azure;
use crate::azure_error::AzureError;
use crate::openai_error::OpenAiError;
use crate::record::RecordedRequest;
use crate::state::Shared;

pub(crate) async fn handle(
    req: HttpRequest,
    body: Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    shared.record(RecordedRequest::capture(&req, &body));
    if azure::is_azure(&req) {
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
