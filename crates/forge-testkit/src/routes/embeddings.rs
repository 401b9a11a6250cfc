//! `POST /v1/embeddings`: one deterministic vector per input (see [`crate::fake_embedding`]).

use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::embedding_vec::{fake_embedding, to_base64};
use crate::openai_error::OpenAiError;
use crate::pipeline::prepare;
use crate::state::Shared;
use crate::tokens::text_tokens;
use crate::validate;

/// Vector length when the request does not ask for `dimensions`.
pub(crate) const DEFAULT_DIMENSIONS: usize = 8;

pub(crate) async fn handle(
    req: HttpRequest,
    raw: Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let shared = shared.into_inner();
    let p = match prepare(&req, &raw, &shared).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let checked = inputs(&p.body).and_then(|inputs| {
        let dims = dimensions(&p.body)?;
        let base64 = base64_format(&p.body)?;
        Ok((inputs, dims, base64))
    });
    let (inputs, dims, base64) = match checked {
        Ok(v) => v,
        Err(e) => return e.response(),
    };
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, text)| {
            let vector = fake_embedding(text, dims);
            let embedding = if base64 {
                json!(to_base64(&vector))
            } else {
                json!(vector)
            };
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    let prompt_tokens: u64 = inputs.iter().map(|t| text_tokens(t)).sum();
    HttpResponse::Ok().json(json!({
        "object": "list",
        "data": data,
        "model": p.model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }))
}

/// `input`: a string, an array of strings, a token array (one input) or an array of token
/// arrays. Token arrays are embedded as their decimal ids joined by spaces.
fn inputs(body: &Map<String, Value>) -> Result<Vec<String>, OpenAiError> {
    let input = body
        .get("input")
        .ok_or_else(|| validate::missing("input"))?;
    let bad = || validate::invalid_type("input", "a string or an array", input);
    let empty = || {
        OpenAiError::invalid(
            "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
            Some("input".to_owned()),
            None,
        )
    };
    match input {
        Value::String(s) if s.is_empty() => Err(empty()),
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if items.is_empty() => Err(empty()),
        Value::Array(items) if items.iter().all(Value::is_u64) => Ok(vec![ids_text(items)]),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(s) if s.is_empty() => Err(empty()),
                Value::String(s) => Ok(s.clone()),
                Value::Array(t) if !t.is_empty() && t.iter().all(Value::is_u64) => Ok(ids_text(t)),
                _ => Err(bad()),
            })
            .collect(),
        _ => Err(bad()),
    }
}

fn ids_text(ids: &[Value]) -> String {
    ids.iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

fn dimensions(body: &Map<String, Value>) -> Result<usize, OpenAiError> {
    match body.get("dimensions") {
        None | Some(Value::Null) => Ok(DEFAULT_DIMENSIONS),
        Some(Value::Number(n)) => n
            .as_u64()
            .filter(|d| (1..=4096).contains(d))
            .and_then(|d| usize::try_from(d).ok())
            .ok_or_else(|| {
                OpenAiError::invalid(
                    "Invalid 'dimensions': expected an integer from 1 to 4096.",
                    Some("dimensions".to_owned()),
                    Some("invalid_value"),
                )
            }),
        Some(other) => Err(validate::invalid_type("dimensions", "an integer", other)),
    }
}

fn base64_format(body: &Map<String, Value>) -> Result<bool, OpenAiError> {
    match body.get("encoding_format") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::String(f)) if f == "float" => Ok(false),
        Some(Value::String(f)) if f == "base64" => Ok(true),
        Some(other) => Err(OpenAiError::invalid(
            format!("Invalid value: {other}. Supported values are: 'float' and 'base64'."),
            Some("encoding_format".to_owned()),
            Some("invalid_value"),
        )),
    }
}
