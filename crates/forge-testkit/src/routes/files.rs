//! `/v1/files`: upload (multipart `file` + `purpose`), list, retrieve, content and delete, as
//! OpenAI's API reference describes them. Files live in the fake's memory, per fake (one fake
//! is one upstream account), so a test sees exactly what a second account could not.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::auth;
use crate::dialect::Dialect;
use crate::openai_error::OpenAiError;
use crate::pipeline::intercept;
use crate::routes::now;
use crate::routes::uploads::read_multipart;
use crate::state::Shared;

const PURPOSES: [&str; 6] = [
    "assistants",
    "batch",
    "fine-tune",
    "vision",
    "user_data",
    "evals",
];

/// One stored file.
pub(crate) struct StoredFile {
    pub(crate) id: String,
    pub(crate) filename: String,
    pub(crate) purpose: String,
    pub(crate) created_at: u64,
    pub(crate) bytes: Bytes,
}

impl StoredFile {
    pub(crate) fn object(&self) -> Value {
        json!({
            "id": self.id, "object": "file", "bytes": self.bytes.len(),
            "created_at": self.created_at, "expires_at": null, "filename": self.filename,
            "purpose": self.purpose, "status": "processed", "status_details": null,
        })
    }
}

/// The fake account's files and batches.
#[derive(Default)]
pub(crate) struct Objects {
    pub(crate) files: BTreeMap<String, StoredFile>,
    pub(crate) batches: BTreeMap<String, Value>,
}

pub(crate) fn no_such(kind: &str, id: &str) -> HttpResponse {
    OpenAiError {
        status: 404,
        message: format!("No such {kind} object: {id}"),
        kind: "invalid_request_error",
        param: Some("id".into()),
        code: None,
    }
    .response()
}

/// Records the request, applies faults, checks the key.
pub(crate) async fn admit(
    req: &HttpRequest,
    raw: &[u8],
    shared: &Arc<Shared>,
) -> Result<(), HttpResponse> {
    let _ = intercept(req, raw, shared, Dialect::OpenAi).await?;
    auth::check(req, &shared.api_key).map_err(|e| e.response())
}

/// A list page as OpenAI pages them: `after` an id, at most `limit`, newest first unless
/// `order=asc`.
pub(crate) fn page(
    mut items: Vec<(u64, String, Value)>,
    query: &BTreeMap<String, String>,
    max: usize,
    default: usize,
) -> Result<Value, OpenAiError> {
    let limit = match query.get("limit") {
        None => default,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => {
                return Err(OpenAiError::invalid(
                    format!("Invalid 'limit': integer must be between 1 and {max}."),
                    Some("limit".into()),
                    None,
                ));
            }
        },
    };
    items.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    match query.get("order").map(String::as_str) {
        None | Some("desc") => items.reverse(),
        Some("asc") => {}
        Some(other) => {
            return Err(OpenAiError::invalid(
                format!("Invalid value for 'order': '{other}'. Expected 'asc' or 'desc'."),
                Some("order".into()),
                None,
            ));
        }
    }
    if let Some(after) = query.get("after") {
        match items.iter().position(|(_, id, _)| id == after) {
            Some(at) => items.drain(..=at).for_each(drop),
            None => items.clear(),
        }
    }
    let has_more = items.len() > limit;
    items.truncate(limit);
    let data: Vec<Value> = items.into_iter().map(|(_, _, v)| v).collect();
    let first = data.first().and_then(|v| v.get("id")).cloned();
    let last = data.last().and_then(|v| v.get("id")).cloned();
    Ok(
        json!({ "object": "list", "data": data, "first_id": first, "last_id": last, "has_more": has_more }),
    )
}

/// The query's parameters (a malformed query reads as none).
pub(crate) fn query(req: &HttpRequest) -> BTreeMap<String, String> {
    web::Query::<BTreeMap<String, String>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .unwrap_or_default()
}

/// `POST /v1/files`.
pub(crate) async fn create(
    req: HttpRequest,
    raw: Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let shared = shared.into_inner();
    if let Err(resp) = admit(&req, &raw, &shared).await {
        return resp;
    }
    let form = match read_multipart(&req, raw).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    let Some(purpose) = form.fields.get("purpose") else {
        return crate::validate::missing("purpose").response();
    };
    if !PURPOSES.contains(&purpose.as_str()) {
        return OpenAiError::invalid(
            format!("'{purpose}' is not one of {PURPOSES:?} - 'purpose'"),
            Some("purpose".into()),
            None,
        )
        .response();
    }
    let Some((_, filename, bytes)) = form.files.iter().find(|(name, _, _)| name == "file") else {
        return crate::validate::missing("file").response();
    };
    if purpose == "batch" {
        if !filename.ends_with(".jsonl") {
            return OpenAiError::invalid(
                "Invalid file format for Batch API. Must be .jsonl",
                Some("file".into()),
                None,
            )
            .response();
        }
        if let Err(why) = batch_lines(bytes) {
            return OpenAiError::invalid(why, Some("file".into()), None).response();
        }
    }
    let file = StoredFile {
        id: format!("file-{:024}", shared.next_id()),
        filename: filename.clone(),
        purpose: purpose.clone(),
        created_at: now(),
        bytes: bytes.clone(),
    };
    let body = file.object();
    shared.objects().files.insert(file.id.clone(), file);
    HttpResponse::Ok().json(body)
}

/// The requests of a batch input file: one JSON object per line with `custom_id` (unique),
/// `method` `POST`, `url` and `body`.
pub(crate) fn batch_lines(bytes: &[u8]) -> Result<Vec<Value>, String> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| "The batch input file is not UTF-8.".to_owned())?;
    let mut seen = std::collections::BTreeSet::new();
    let mut lines = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let value: Value =
            serde_json::from_str(line).map_err(|e| format!("Line {}: invalid JSON: {e}", n + 1))?;
        let custom_id = value.get("custom_id").and_then(Value::as_str);
        let Some(custom_id) = custom_id else {
            return Err(format!("Line {}: missing 'custom_id'.", n + 1));
        };
        if !seen.insert(custom_id.to_owned()) {
            return Err(format!(
                "Line {}: duplicate custom_id '{custom_id}'.",
                n + 1
            ));
        }
        if value.get("method").and_then(Value::as_str) != Some("POST") {
            return Err(format!("Line {}: 'method' must be POST.", n + 1));
        }
        if value.get("url").and_then(Value::as_str).is_none()
            || !value.get("body").is_some_and(Value::is_object)
        {
            return Err(format!(
                "Line {}: 'url' and an object 'body' are required.",
                n + 1
            ));
        }
        lines.push(value);
    }
    if lines.is_empty() {
        return Err("The batch input file is empty.".to_owned());
    }
    Ok(lines)
}

/// `GET /v1/files`.
pub(crate) async fn list(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    let shared = shared.into_inner();
    if let Err(resp) = admit(&req, b"", &shared).await {
        return resp;
    }
    let q = query(&req);
    let items = shared
        .objects()
        .files
        .values()
        .filter(|f| q.get("purpose").is_none_or(|p| *p == f.purpose))
        .map(|f| (f.created_at, f.id.clone(), f.object()))
        .collect();
    match page(items, &q, 10_000, 10_000) {
        Ok(body) => HttpResponse::Ok().json(body),
        Err(e) => e.response(),
    }
}

/// `GET /v1/files/{id}`.
pub(crate) async fn retrieve(
    req: HttpRequest,
    id: web::Path<String>,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let shared = shared.into_inner();
    if let Err(resp) = admit(&req, b"", &shared).await {
        return resp;
    }
    match shared.objects().files.get(id.as_str()) {
        Some(file) => HttpResponse::Ok().json(file.object()),
        None => no_such("File", &id),
    }
}

/// `DELETE /v1/files/{id}`.
pub(crate) async fn delete(
    req: HttpRequest,
    id: web::Path<String>,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let shared = shared.into_inner();
    if let Err(resp) = admit(&req, b"", &shared).await {
        return resp;
    }
    match shared.objects().files.remove(id.as_str()) {
        Some(_) => {
            HttpResponse::Ok().json(json!({ "id": id.as_str(), "object": "file", "deleted": true }))
        }
        None => no_such("File", &id),
    }
}

/// `GET /v1/files/{id}/content`: the bytes as uploaded (or as the batch wrote them).
pub(crate) async fn content(
    req: HttpRequest,
    id: web::Path<String>,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let shared = shared.into_inner();
    if let Err(resp) = admit(&req, b"", &shared).await {
        return resp;
    }
    let objects = shared.objects();
    match objects.files.get(id.as_str()) {
        Some(file) if file.purpose == "assistants" => OpenAiError::invalid(
            "Not allowed to download files of purpose: assistants",
            None,
            None,
        )
        .response(),
        Some(file) => HttpResponse::Ok()
            .content_type("application/octet-stream")
            .body(file.bytes.clone()),
        None => no_such("File", &id),
    }
}
