//! Anthropic's routes and the checks every one of them makes first: `x-api-key`, then
//! `anthropic-version`, then (POST) a JSON object body.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::answer::answer;
use super::error::AnthropicError;
use super::render;
use super::validate::{Endpoint, messages_request};
use crate::dialect::Dialect;
use crate::pipeline::{Intercepted, intercept};
use crate::record::RecordedRequest;
use crate::sse;
use crate::state::Shared;

/// `anthropic-version` values Anthropic accepts.
const VERSIONS: [&str; 2] = ["2023-06-01", "2023-01-01"];

/// A fixed `created_at` so listings are stable across runs.
const CREATED_AT: &str = "2025-01-01T00:00:00Z";

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/v1")
            .route("/messages", web::post().to(create))
            .route("/messages/count_tokens", web::post().to(count_tokens))
            .route("/models", web::get().to(list_models))
            .route("/models/{id}", web::get().to(get_model)),
    )
    .default_service(web::to(not_found));
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<std::borrow::Cow<'a, str>> {
    req.headers()
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()))
}

fn check_headers(req: &HttpRequest, key: &str) -> Result<(), AnthropicError> {
    let auth_error = |message: &str| AnthropicError {
        status: 401,
        kind: "authentication_error",
        message: message.to_owned(),
    };
    match header(req, "x-api-key") {
        None => return Err(auth_error("x-api-key header is required")),
        Some(got) if !crate::auth::constant_time_eq(got.as_bytes(), key.as_bytes()) => {
            return Err(auth_error("invalid x-api-key"));
        }
        Some(_) => {}
    }
    match header(req, "anthropic-version") {
        None => Err(AnthropicError::invalid(
            "anthropic-version: header is required",
        )),
        Some(v) if VERSIONS.contains(&v.trim()) => Ok(()),
        Some(v) => Err(AnthropicError::invalid(format!(
            "anthropic-version: invalid version '{v}'"
        ))),
    }
}

struct Checked {
    intercepted: Intercepted,
    body: Map<String, Value>,
}

async fn prepare(
    req: &HttpRequest,
    raw: &[u8],
    shared: &Arc<Shared>,
) -> Result<Checked, HttpResponse> {
    let intercepted = intercept(req, raw, shared, Dialect::Anthropic).await?;
    check_headers(req, &shared.api_key).map_err(|e| e.response())?;
    if req.method() != actix_web::http::Method::POST {
        return Ok(Checked {
            intercepted,
            body: Map::new(),
        });
    }
    match serde_json::from_slice::<Value>(raw) {
        Ok(Value::Object(body)) => Ok(Checked { intercepted, body }),
        Ok(_) => Err(AnthropicError::invalid("Input should be a valid dictionary").response()),
        Err(e) => Err(
            AnthropicError::invalid(format!("There was an error parsing the body: {e}")).response(),
        ),
    }
}

async fn create(req: HttpRequest, raw: Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let shared = shared.into_inner();
    let checked = match prepare(&req, &raw, &shared).await {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    let request = match messages_request(&checked.body, &shared.models, Endpoint::Create) {
        Ok(r) => r,
        Err(e) => return e.response(),
    };
    let answer = answer(&request, &shared);
    let request_id = format!("req_fake{:016x}", shared.next_id());
    if !request.stream {
        return HttpResponse::Ok()
            .insert_header(("request-id", request_id))
            .json(render::message(&answer));
    }
    let Intercepted { guard, fault } = checked.intercepted;
    let mut resp = sse::response(render::events(&answer, shared.stream_chunks), fault, guard);
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("request-id"),
            value,
        );
    }
    resp
}

async fn count_tokens(req: HttpRequest, raw: Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let shared = shared.into_inner();
    let checked = match prepare(&req, &raw, &shared).await {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    match messages_request(&checked.body, &shared.models, Endpoint::CountTokens) {
        Ok(r) => HttpResponse::Ok().json(json!({"input_tokens": r.prompt_tokens})),
        Err(e) => e.response(),
    }
}

fn model_object(id: &str) -> Value {
    json!({
        "type": "model",
        "id": id,
        "display_name": display_name(id),
        "created_at": CREATED_AT,
    })
}

/// `claude-sonnet-4-5` -> `Claude Sonnet 4 5`.
fn display_name(id: &str) -> String {
    id.split('-')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(first) => first.to_uppercase().chain(c).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<String>>()
        .join(" ")
}

async fn list_models(req: HttpRequest, raw: Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let shared = shared.into_inner();
    if let Err(resp) = prepare(&req, &raw, &shared).await {
        return resp;
    }
    let data: Vec<Value> = shared.models.iter().map(|m| model_object(m)).collect();
    HttpResponse::Ok().json(json!({
        "data": data,
        "has_more": false,
        "first_id": shared.models.first(),
        "last_id": shared.models.last(),
    }))
}

async fn get_model(req: HttpRequest, raw: Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let shared = shared.into_inner();
    if let Err(resp) = prepare(&req, &raw, &shared).await {
        return resp;
    }
    let id = req.match_info().get("id").unwrap_or_default();
    if shared.models.iter().any(|m| m == id) {
        return HttpResponse::Ok().json(model_object(id));
    }
    AnthropicError {
        status: 404,
        kind: "not_found_error",
        message: format!("model: {id}"),
    }
    .response()
}

async fn not_found(req: HttpRequest, raw: Bytes, shared: web::Data<Shared>) -> HttpResponse {
    shared.record(RecordedRequest::capture(&req, &raw));
    AnthropicError {
        status: 404,
        kind: "not_found_error",
        message: "Not Found".to_owned(),
    }
    .response()
}
