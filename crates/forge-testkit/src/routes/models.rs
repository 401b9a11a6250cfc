//! `GET /v1/models` and `GET /v1/models/{id}`; the list also as Azure's `GET /openai/models`.

use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::azure;
use crate::openai_error::OpenAiError;
use crate::pipeline::prepare;
use crate::state::Shared;

/// A fixed `created` so listings are byte-for-byte stable across runs.
const CREATED: u64 = 1_700_000_000;

fn model_object(id: &str) -> Value {
    json!({"id": id, "object": "model", "created": CREATED, "owned_by": "fake-upstream"})
}

pub(crate) async fn list(req: HttpRequest, body: Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let shared = shared.into_inner();
    if let Err(resp) = prepare(&req, &body, &shared).await {
        return resp;
    }
    let object = if azure::is_azure(&req) {
        azure::model_object
    } else {
        model_object
    };
    let data: Vec<Value> = shared.models.iter().map(|m| object(m)).collect();
    HttpResponse::Ok().json(json!({"object": "list", "data": data}))
}

pub(crate) async fn get(req: HttpRequest, body: Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let shared = shared.into_inner();
    if let Err(resp) = prepare(&req, &body, &shared).await {
        return resp;
    }
    let id = req.match_info().get("id").unwrap_or_default();
    if shared.models.iter().any(|m| m == id) {
        return HttpResponse::Ok().json(model_object(id));
    }
    OpenAiError {
        status: 404,
        message: format!("The model '{id}' does not exist"),
        kind: "invalid_request_error",
        param: Some("model".to_owned()),
        code: Some("model_not_found"),
    }
    .response()
}
