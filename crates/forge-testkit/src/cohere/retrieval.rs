//! Cohere's `/v2/embed` and `/v2/rerank`, validated as the API reference describes them:
//! `input_type` is required for embeddings, `embedding_types` and `output_dimension` take
//! Cohere's values only, at most 96 texts; rerank takes a query and plain-string documents.

use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::error::CohereError;
use super::routes::admit;
use crate::embedding_vec::fake_embedding;
use crate::routes::media::rank;
use crate::state::Shared;
use crate::tokens::text_tokens;

const EMBED_FIELDS: [&str; 10] = [
    "model",
    "texts",
    "images",
    "inputs",
    "input_type",
    "embedding_types",
    "output_dimension",
    "truncate",
    "max_tokens",
    "priority",
];
const INPUT_TYPES: [&str; 5] = [
    "search_document",
    "search_query",
    "classification",
    "clustering",
    "image",
];

fn object(raw: &[u8], fields: &[&str]) -> Result<Map<String, Value>, CohereError> {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(raw) else {
        return Err(CohereError::invalid("the body must be a JSON object"));
    };
    if let Some(unknown) = body.keys().find(|k| !fields.contains(&k.as_str())) {
        return Err(CohereError::invalid(format!("unknown field `{unknown}`")));
    }
    Ok(body)
}

fn strings(value: Option<&Value>, name: &str, max: usize) -> Result<Vec<String>, CohereError> {
    let items = value
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty() && a.len() <= max)
        .ok_or_else(|| {
            CohereError::invalid(format!("`{name}` must be a list of 1 to {max} strings"))
        })?;
    items
        .iter()
        .map(|t| t.as_str().map(str::to_owned))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| CohereError::invalid(format!("`{name}` must hold strings only")))
}

/// `POST /v2/embed`.
pub(crate) async fn embed(req: HttpRequest, raw: Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let shared = shared.into_inner();
    let model = match admit(&req, &raw, &shared).await {
        Ok(()) => object(&raw, &EMBED_FIELDS).and_then(|body| embed_answer(&body, &shared)),
        Err(resp) => return resp,
    };
    match model {
        Ok(answer) => HttpResponse::Ok().json(answer),
        Err(e) => e.response(),
    }
}

fn embed_answer(body: &Map<String, Value>, shared: &Shared) -> Result<Value, CohereError> {
    super::routes::known_model(body, shared)?;
    let texts = strings(body.get("texts"), "texts", 96)?;
    match body.get("input_type").and_then(Value::as_str) {
        Some(t) if INPUT_TYPES.contains(&t) => {}
        _ => {
            return Err(CohereError::invalid(format!(
                "`input_type` is required and must be one of {INPUT_TYPES:?}"
            )));
        }
    }
    let types = strings(body.get("embedding_types"), "embedding_types", 6)
        .unwrap_or_else(|_| vec!["float".to_owned()]);
    if let Some(bad) = types
        .iter()
        .find(|t| !["float", "int8", "uint8", "binary", "ubinary", "base64"].contains(&t.as_str()))
    {
        return Err(CohereError::invalid(format!(
            "unknown embedding type '{bad}'"
        )));
    }
    let dims = match body.get("output_dimension") {
        None => 1536,
        Some(d) => match d.as_u64() {
            Some(d @ (256 | 512 | 1024 | 1536)) => d as usize,
            _ => {
                return Err(CohereError::invalid(
                    "`output_dimension` must be 256, 512, 1024 or 1536",
                ));
            }
        },
    };
    let mut embeddings = Map::new();
    if types.iter().any(|t| t == "float") {
        let vectors: Vec<Vec<f32>> = texts.iter().map(|t| fake_embedding(t, dims)).collect();
        embeddings.insert("float".into(), json!(vectors));
    }
    let tokens: u64 = texts.iter().map(|t| text_tokens(t).max(1)).sum();
    Ok(json!({
        "id": "00000000-fake-4000-8000-embed0000000", "embeddings": embeddings, "texts": texts,
        "meta": { "api_version": { "version": "2" }, "billed_units": { "input_tokens": tokens } },
        "response_type": "embeddings_by_type",
    }))
}

/// `POST /v2/rerank`.
pub(crate) async fn rerank(
    req: HttpRequest,
    raw: Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let shared = shared.into_inner();
    if let Err(resp) = admit(&req, &raw, &shared).await {
        return resp;
    }
    let answer = object(&raw, &["model", "query", "documents", "top_n", "max_tokens_per_doc", "priority"])
        .and_then(|body| {
            super::routes::known_model(&body, &shared)?;
            let query = body
                .get("query")
                .and_then(Value::as_str)
                .filter(|q| !q.is_empty())
                .ok_or_else(|| CohereError::invalid("`query` must be a non-empty string"))?;
            let documents = strings(body.get("documents"), "documents", 1000)?;
            let mut results = rank(query, &documents);
            if let Some(n) = body.get("top_n").and_then(Value::as_u64) {
                results.truncate(n as usize);
            }
            Ok(json!({
                "id": "00000000-fake-4000-8000-rerank000000",
                "results": results.iter().map(|(index, score)| json!({ "index": index, "relevance_score": score })).collect::<Vec<_>>(),
                "meta": { "api_version": { "version": "2" }, "billed_units": { "search_units": 1 } },
            }))
        });
    match answer {
        Ok(answer) => HttpResponse::Ok().json(answer),
        Err(e) => e.response(),
    }
}
