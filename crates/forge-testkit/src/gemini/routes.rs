//! Gemini's routes under `/v1beta` (and `/v1`, which current google-genai SDKs call): the key
//! check comes first, then the model, then the body.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::answer::{answer, json_array_pieces, sse_events};
use super::error::GoogleError;
use super::key::query_key;
use super::validate::{count_request, generate_request};
use crate::dialect::Dialect;
use crate::pipeline::{Intercepted, intercept};
use crate::record::RecordedRequest;
use crate::sse;
use crate::state::Shared;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    for version in ["/v1beta", "/v1"] {
        cfg.service(
            web::scope(version)
                .route("/models", web::get().to(list_models))
                .route("/models/{target}", web::get().to(get_model))
                .route("/models/{target}", web::post().to(call)),
        );
    }
    cfg.default_service(web::to(not_found));
}

/// `v1beta` or `v1`, as the request's path says (Google names it in 404 messages).
fn version(req: &HttpRequest) -> &'static str {
    if req.path().starts_with("/v1beta/") {
        "v1beta"
    } else {
        "v1"
    }
}

fn check_key(req: &HttpRequest, expected: &str) -> Result<(), GoogleError> {
    let header = req
        .headers()
        .get("x-goog-api-key")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let key = header.or_else(|| query_key(req.query_string()).map(str::to_owned));
    match key {
        None => Err(GoogleError {
            code: 403,
            status: "PERMISSION_DENIED",
            message: "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.".to_owned(),
            details: Vec::new(),
        }),
        Some(k) if crate::auth::constant_time_eq(k.as_bytes(), expected.as_bytes()) => Ok(()),
        Some(_) => Err(GoogleError {
            details: vec![json!({
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            })],
            ..GoogleError::invalid("API key not valid. Please pass a valid API key.")
        }),
    }
}

async fn prepare(
    req: &HttpRequest,
    raw: &[u8],
    shared: &Arc<Shared>,
) -> Result<Intercepted, HttpResponse> {
    let intercepted = intercept(req, raw, shared, Dialect::Gemini).await?;
    check_key(req, &shared.api_key).map_err(|e| e.response())?;
    Ok(intercepted)
}

fn model_missing(req: &HttpRequest, model: &str, method: &str) -> GoogleError {
    GoogleError::not_found(format!(
        "models/{model} is not found for API version {}, or is not supported for {method}. Call ListModels to see the list of available models and their supported methods.",
        version(req)
    ))
}

fn parse_body(raw: &[u8]) -> Result<Map<String, Value>, GoogleError> {
    match serde_json::from_slice::<Value>(raw) {
        Ok(Value::Object(body)) => Ok(body),
        Ok(other) => Err(GoogleError::invalid(format!(
            "Invalid JSON payload received. Expected an object, got {other}."
        ))),
        Err(_) => Err(GoogleError::invalid(
            "Invalid JSON payload received. Unexpected token.",
        )),
    }
}

/// `POST /models/{model}:{method}`.
async fn call(req: HttpRequest, raw: Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let shared = shared.into_inner();
    let Intercepted { guard, fault } = match prepare(&req, &raw, &shared).await {
        Ok(i) => i,
        Err(resp) => return resp,
    };
    let target = req.match_info().get("target").unwrap_or_default();
    let Some((model, method)) = target.rsplit_once(':') else {
        return GoogleError::not_found(format!("Method not found: {target}")).response();
    };
    if !matches!(
        method,
        "generateContent" | "streamGenerateContent" | "countTokens"
    ) {
        return GoogleError::not_found(format!("Method not found: {method}")).response();
    }
    if !shared.models.iter().any(|m| m == model) {
        return model_missing(&req, model, method).response();
    }
    let body = match parse_body(&raw) {
        Ok(b) => b,
        Err(e) => return e.response(),
    };
    if method == "countTokens" {
        return match count_request(&body) {
            Ok(total) => HttpResponse::Ok().json(json!({
                "totalTokens": total,
                "promptTokensDetails": [{"modality": "TEXT", "tokenCount": total}],
            })),
            Err(e) => e.response(),
        };
    }
    let request = match generate_request(&body) {
        Ok(r) => r,
        Err(e) => return e.response(),
    };
    let answer = answer(&request, model, &shared);
    if method == "generateContent" {
        return HttpResponse::Ok().json(answer.whole());
    }
    let chunks = answer.chunks(shared.stream_chunks);
    let alt_sse = req.query_string().split('&').any(|pair| pair == "alt=sse");
    if alt_sse {
        sse::response(sse_events(&chunks), fault, guard)
    } else {
        sse::streamed(
            json_array_pieces(&chunks),
            fault,
            guard,
            "application/json; charset=UTF-8",
        )
    }
}

fn model_object(id: &str) -> Value {
    json!({
        "name": format!("models/{id}"),
        "baseModelId": id,
        "version": "001",
        "displayName": id.split('-').map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(first) => first.to_uppercase().chain(c).collect(),
                None => String::new(),
            }
        }).collect::<Vec<String>>().join(" "),
        "description": "A fake Gemini model served by forge-testkit.",
        "inputTokenLimit": 1_048_576,
        "outputTokenLimit": 65_536,
        "supportedGenerationMethods": ["generateContent", "countTokens", "streamGenerateContent"],
        "temperature": 1,
        "topP": 0.95,
        "topK": 64,
        "maxTemperature": 2,
        "thinking": true,
    })
}

async fn list_models(req: HttpRequest, raw: Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let shared = shared.into_inner();
    if let Err(resp) = prepare(&req, &raw, &shared).await {
        return resp;
    }
    let models: Vec<Value> = shared.models.iter().map(|m| model_object(m)).collect();
    HttpResponse::Ok().json(json!({"models": models}))
}

async fn get_model(req: HttpRequest, raw: Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let shared = shared.into_inner();
    if let Err(resp) = prepare(&req, &raw, &shared).await {
        return resp;
    }
    let id = req.match_info().get("target").unwrap_or_default();
    if shared.models.iter().any(|m| m == id) {
        return HttpResponse::Ok().json(model_object(id));
    }
    model_missing(&req, id, "get").response()
}

async fn not_found(req: HttpRequest, raw: Bytes, shared: web::Data<Shared>) -> HttpResponse {
    shared.record(RecordedRequest::capture(&req, &raw));
    GoogleError::not_found(format!(
        "The requested URL {} was not found on this server.",
        req.path()
    ))
    .response()
}
