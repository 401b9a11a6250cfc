//! `/v1/batches`: create (from an uploaded `batch` file), retrieve, cancel and list, as
//! OpenAI's API reference describes them. A batch is `validating` when created and done by the
//! next look at it: `completed` with an output file holding one answer per input line (or
//! `cancelled` when it was cancelled first), so tests can follow a batch to its output.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::openai_error::OpenAiError;
use crate::routes::files::{StoredFile, admit, batch_lines, no_such, page, query};
use crate::routes::now;
use crate::state::Shared;

const ENDPOINTS: [&str; 5] = [
    "/v1/responses",
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/completions",
    "/v1/moderations",
];

/// `POST /v1/batches`.
pub(crate) async fn create(
    req: HttpRequest,
    raw: Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let shared = shared.into_inner();
    if let Err(resp) = admit(&req, &raw, &shared).await {
        return resp;
    }
    let body = match crate::validate::parse_object(&raw) {
        Ok(b) => b,
        Err(e) => return e.response(),
    };
    let text = |name: &str| body.get(name).and_then(Value::as_str);
    for required in ["input_file_id", "endpoint", "completion_window"] {
        if text(required).is_none() {
            return crate::validate::missing(required).response();
        }
    }
    let (input, endpoint) = (
        text("input_file_id").unwrap_or_default(),
        text("endpoint").unwrap_or_default(),
    );
    if !ENDPOINTS.contains(&endpoint) {
        return OpenAiError::invalid(
            format!("'{endpoint}' is not one of {ENDPOINTS:?} - 'endpoint'"),
            Some("endpoint".into()),
            None,
        )
        .response();
    }
    if text("completion_window") != Some("24h") {
        return OpenAiError::invalid(
            "'completion_window' must be '24h'",
            Some("completion_window".into()),
            None,
        )
        .response();
    }
    if let Some(metadata) = body.get("metadata").filter(|m| !m.is_null()) {
        let ok = metadata
            .as_object()
            .is_some_and(|m| m.len() <= 16 && m.values().all(Value::is_string));
        if !ok {
            return OpenAiError::invalid(
                "'metadata' must be an object of at most 16 string values",
                Some("metadata".into()),
                None,
            )
            .response();
        }
    }
    let mut objects = shared.objects();
    let Some(file) = objects.files.get(input) else {
        return OpenAiError {
            status: 404,
            message: format!("No such File object: {input}"),
            kind: "invalid_request_error",
            param: Some("input_file_id".into()),
            code: None,
        }
        .response();
    };
    if file.purpose != "batch" {
        return OpenAiError::invalid(
            "The input file must have purpose 'batch'",
            Some("input_file_id".into()),
            None,
        )
        .response();
    }
    let lines = match batch_lines(&file.bytes) {
        Ok(l) => l,
        Err(why) => {
            return OpenAiError::invalid(why, Some("input_file_id".into()), None).response();
        }
    };
    if let Some(line) = lines
        .iter()
        .find(|l| l.get("url").and_then(Value::as_str) != Some(endpoint))
    {
        return OpenAiError::invalid(
            format!(
                "The url of request '{}' does not match the batch endpoint {endpoint}",
                line["custom_id"]
            ),
            Some("input_file_id".into()),
            None,
        )
        .response();
    }
    let created = now();
    let batch = json!({
        "id": format!("batch_{:024}", shared.next_id()), "object": "batch", "endpoint": endpoint,
        "errors": null, "input_file_id": input, "completion_window": "24h", "status": "validating",
        "output_file_id": null, "error_file_id": null, "created_at": created,
        "in_progress_at": null, "expires_at": created + 86_400, "finalizing_at": null,
        "completed_at": null, "failed_at": null, "expired_at": null, "cancelling_at": null,
        "cancelled_at": null,
        "request_counts": { "total": lines.len(), "completed": 0, "failed": 0 },
        "metadata": body.get("metadata").cloned().unwrap_or(Value::Null),
    });
    objects.batches.insert(
        batch["id"].as_str().unwrap_or_default().to_owned(),
        batch.clone(),
    );
    HttpResponse::Ok().json(batch)
}

/// Moves a batch on: `validating` → `completed` (writing its output file), `cancelling` →
/// `cancelled`.
fn advance(shared: &Arc<Shared>, id: &str) -> Option<Value> {
    let next_id = shared.next_id();
    let mut objects = shared.objects();
    let batch = objects.batches.get(id)?.clone();
    let at = now();
    let mut batch = batch;
    match batch["status"].as_str() {
        Some("validating") => {
            let input = batch["input_file_id"].as_str().unwrap_or_default();
            let lines = objects
                .files
                .get(input)
                .and_then(|f| batch_lines(&f.bytes).ok())
                .unwrap_or_default();
            let output: String = lines.iter().enumerate().map(|(n, line)| {
                let model = line["body"]["model"].as_str().unwrap_or("unknown");
                let answer = json!({
                    "id": format!("batch_req_{next_id}_{n}"), "custom_id": line["custom_id"],
                    "response": { "status_code": 200, "request_id": format!("req_{next_id}_{n}"), "body": {
                        "id": format!("chatcmpl-batch-{next_id}-{n}"), "object": "chat.completion",
                        "created": at, "model": model,
                        "choices": [{ "index": 0, "finish_reason": "stop",
                            "message": { "role": "assistant", "content": format!("Batch answer to {}.", line["custom_id"].as_str().unwrap_or_default()) } }],
                        "usage": { "prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9 } } },
                    "error": null,
                });
                format!("{answer}\n")
            }).collect();
            let file = StoredFile {
                id: format!("file-{next_id:024}"),
                filename: "batch_output.jsonl".into(),
                purpose: "batch_output".into(),
                created_at: at,
                bytes: Bytes::from(output),
            };
            batch["status"] = json!("completed");
            batch["output_file_id"] = json!(file.id);
            for field in ["in_progress_at", "finalizing_at", "completed_at"] {
                batch[field] = json!(at);
            }
            batch["request_counts"]["completed"] = json!(lines.len());
            objects.files.insert(file.id.clone(), file);
        }
        Some("cancelling") => {
            batch["status"] = json!("cancelled");
            batch["cancelled_at"] = json!(at);
        }
        _ => {}
    }
    objects.batches.insert(id.to_owned(), batch.clone());
    Some(batch)
}

/// `GET /v1/batches/{id}`.
pub(crate) async fn retrieve(
    req: HttpRequest,
    id: web::Path<String>,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let shared = shared.into_inner();
    if let Err(resp) = admit(&req, b"", &shared).await {
        return resp;
    }
    match advance(&shared, &id) {
        Some(batch) => HttpResponse::Ok().json(batch),
        None => no_such("Batch", &id),
    }
}

/// `POST /v1/batches/{id}/cancel`.
pub(crate) async fn cancel(
    req: HttpRequest,
    raw: Bytes,
    id: web::Path<String>,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let shared = shared.into_inner();
    if let Err(resp) = admit(&req, &raw, &shared).await {
        return resp;
    }
    let mut objects = shared.objects();
    let Some(batch) = objects.batches.get_mut(id.as_str()) else {
        return no_such("Batch", &id);
    };
    match batch["status"].as_str() {
        Some("validating" | "in_progress" | "finalizing") => {
            batch["status"] = json!("cancelling");
            batch["cancelling_at"] = json!(now());
            HttpResponse::Ok().json(batch.clone())
        }
        Some(status) => OpenAiError {
            status: 409,
            message: format!("Cannot cancel a batch with status '{status}'."),
            kind: "invalid_request_error",
            param: None,
            code: None,
        }
        .response(),
        None => no_such("Batch", &id),
    }
}

/// `GET /v1/batches`.
pub(crate) async fn list(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    let shared = shared.into_inner();
    if let Err(resp) = admit(&req, b"", &shared).await {
        return resp;
    }
    let q = query(&req);
    let items = shared
        .objects()
        .batches
        .values()
        .map(|b| {
            (
                b["created_at"].as_u64().unwrap_or(0),
                b["id"].as_str().unwrap_or_default().to_owned(),
                b.clone(),
            )
        })
        .collect();
    match page(items, &q, 100, 20) {
        Ok(body) => HttpResponse::Ok().json(body),
        Err(e) => e.response(),
    }
}
