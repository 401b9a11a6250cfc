//! JSON answers for the errors actix produces itself: bad JSON or form bodies, bad path
//! parameters, unknown routes and wrong methods. Forge clients expect `{"detail": ...}` with
//! FastAPI's statuses (422 for validation, 404, 405), never an empty or plain-text body.

use actix_web::dev::ServiceResponse;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError, UrlencodedError};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use crate::error::ApiError;

fn to_actix(err: ApiError) -> actix_web::Error {
    err.into()
}

/// Recovers the `ApiError` built by the configs below from a deferred extractor rejection
/// (see `admin::Deferred`), so the handler answers it only after authentication.
impl From<actix_web::Error> for ApiError {
    fn from(err: actix_web::Error) -> Self {
        match err.as_error::<ApiError>() {
            Some(api) => ApiError {
                status: api.status,
                detail: api.detail.clone(),
                bearer_challenge: api.bearer_challenge,
            },
            None => {
                let status = err.as_response_error().status_code();
                ApiError::new(status, status.canonical_reason().unwrap_or("Bad Request"))
            }
        }
    }
}

pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .content_type_required(false)
        .error_handler(|err, _req| {
            let api = match &err {
                JsonPayloadError::Overflow { .. }
                | JsonPayloadError::OverflowKnownLength { .. } => {
                    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large")
                }
                JsonPayloadError::Deserialize(e) if e.is_syntax() || e.is_eof() => {
                    ApiError::validation(
                        &["body"],
                        format!("JSON decode error: {e}"),
                        "json_invalid",
                    )
                }
                JsonPayloadError::Deserialize(e) => {
                    ApiError::validation(&["body"], e.to_string(), "value_error")
                }
                other => ApiError::bad_request(format!("Could not read the request body: {other}")),
            };
            to_actix(api)
        })
}

pub fn form_config() -> web::FormConfig {
    web::FormConfig::default()
        .limit(64 * 1024)
        .error_handler(|err, _req| {
            let api = match &err {
                UrlencodedError::Overflow { .. } => {
                    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large")
                }
                other => ApiError::validation(&["body"], other.to_string(), "missing"),
            };
            to_actix(api)
        })
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err: PathError, _req| {
        to_actix(ApiError::validation(
            &["path"],
            err.to_string(),
            "int_parsing",
        ))
    })
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err: QueryPayloadError, _req| {
        to_actix(ApiError::validation(
            &["query"],
            err.to_string(),
            "value_error",
        ))
    })
}

/// Unmatched paths.
pub async fn not_found(_req: HttpRequest) -> HttpResponse {
    HttpResponse::NotFound().json(json!({ "detail": "Not Found" }))
}

/// Gives bodiless 404/405 answers (actix's own) a JSON body; leaves ours alone.
pub fn bodiless_to_json<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    if res.response().headers().contains_key(header::CONTENT_TYPE) {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let detail = match status {
        StatusCode::METHOD_NOT_ALLOWED => "Method Not Allowed",
        StatusCode::NOT_FOUND => "Not Found",
        _ => status.canonical_reason().unwrap_or("Error"),
    };
    let (req, _) = res.into_parts();
    let resp = HttpResponse::build(status).json(json!({ "detail": detail }));
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, resp).map_into_right_body(),
    ))
}
