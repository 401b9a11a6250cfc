//! `POST /v1/images/generations`, `/v1/moderations` and `/v1/audio/speech`, validated as
//! OpenAI's API reference states their parameters, with deterministic answers: images are
//! one-pixel PNGs (GPT Image models report token usage, DALL-E models none), moderations flag
//! nothing, speech is a WAV of silence streamed in pieces.

use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::openai_error::OpenAiError;
use crate::pipeline::prepare;
use crate::routes::now;
use crate::state::Shared;
use crate::tokens::text_tokens;
use crate::validate;

pub(crate) const PIXEL_PNG_B64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

pub(crate) async fn images(
    req: HttpRequest,
    raw: Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let shared = shared.into_inner();
    let p = match prepare(&req, &raw, &shared).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let gpt_image = p.model.starts_with("gpt-image");
    let checked = image_request(&p.body, gpt_image);
    let (prompt, n, b64) = match checked {
        Ok(v) => v,
        Err(e) => return e.response(),
    };
    let data: Vec<Value> = (0..n)
        .map(|_| {
            let mut image = if b64 {
                json!({ "b64_json": PIXEL_PNG_B64 })
            } else {
                json!({ "url": format!("https://images.example.invalid/{}.png", text_tokens(&prompt)) })
            };
            if !gpt_image {
                image["revised_prompt"] = json!(prompt);
            }
            image
        })
        .collect();
    let mut body = json!({ "created": now(), "data": data });
    if gpt_image {
        let input = text_tokens(&prompt);
        let output = 272 * u64::from(n);
        body["usage"] = json!({
            "input_tokens": input, "output_tokens": output, "total_tokens": input + output,
            "input_tokens_details": { "text_tokens": input, "image_tokens": 0 },
        });
    }
    HttpResponse::Ok().json(body)
}

/// `(prompt, n, base64)`: GPT Image models always answer base64 and take no
/// `response_format`; DALL-E answers URLs unless `b64_json` is asked for.
fn image_request(
    body: &Map<String, Value>,
    gpt_image: bool,
) -> Result<(String, u32, bool), OpenAiError> {
    let prompt = match body.get("prompt") {
        None => return Err(validate::missing("prompt")),
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(other) => {
            return Err(validate::invalid_type(
                "prompt",
                "a non-empty string",
                other,
            ));
        }
    };
    let n = match body.get("n") {
        None | Some(Value::Null) => 1,
        Some(Value::Number(n)) => match n.as_u64() {
            Some(n @ 1..=10) => n as u32,
            _ => {
                return Err(OpenAiError::invalid(
                    format!("{n} is greater than the maximum of 10 - 'n'"),
                    Some("n".into()),
                    None,
                ));
            }
        },
        Some(other) => return Err(validate::invalid_type("n", "an integer", other)),
    };
    let b64 = match body.get("response_format") {
        None | Some(Value::Null) => gpt_image,
        Some(_) if gpt_image => {
            return Err(OpenAiError::invalid(
                "Unknown parameter: 'response_format'.",
                Some("response_format".into()),
                Some("unknown_parameter"),
            ));
        }
        Some(Value::String(f)) if f == "url" => false,
        Some(Value::String(f)) if f == "b64_json" => true,
        Some(other) => {
            return Err(validate::invalid_type(
                "response_format",
                "'url' or 'b64_json'",
                other,
            ));
        }
    };
    Ok((prompt, n, b64))
}

pub(crate) async fn moderations(
    req: HttpRequest,
    raw: Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let shared = shared.into_inner();
    let p = match prepare(&req, &raw, &shared).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let inputs = match p.body.get("input") {
        None => return validate::missing("input").response(),
        Some(Value::String(_)) => 1,
        Some(Value::Array(items)) if !items.is_empty() => items.len(),
        Some(other) => {
            return validate::invalid_type("input", "a string or an array", other).response();
        }
    };
    let results: Vec<Value> = (0..inputs)
        .map(|_| json!({ "flagged": false, "categories": { "harassment": false, "hate": false, "violence": false },
                         "category_scores": { "harassment": 0.0001, "hate": 0.0001, "violence": 0.0001 } }))
        .collect();
    HttpResponse::Ok().json(json!({ "id": "modr-fake", "model": p.model, "results": results }))
}

const VOICES: [&str; 11] = [
    "alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse",
];
const FORMATS: [(&str, &str); 6] = [
    ("mp3", "audio/mpeg"),
    ("opus", "audio/opus"),
    ("aac", "audio/aac"),
    ("flac", "audio/flac"),
    ("wav", "audio/wav"),
    ("pcm", "audio/pcm"),
];

pub(crate) async fn speech(
    req: HttpRequest,
    raw: Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let shared = shared.into_inner();
    let p = match prepare(&req, &raw, &shared).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let input = match p.body.get("input") {
        None => return validate::missing("input").response(),
        Some(Value::String(s)) if s.chars().count() <= 4096 => s.clone(),
        Some(Value::String(_)) => {
            return OpenAiError::invalid(
                "'input' is too long (max 4096 characters)",
                Some("input".into()),
                None,
            )
            .response();
        }
        Some(other) => return validate::invalid_type("input", "a string", other).response(),
    };
    match p.body.get("voice") {
        None => return validate::missing("voice").response(),
        Some(Value::String(v)) if VOICES.contains(&v.as_str()) => {}
        Some(other) => {
            return OpenAiError::invalid(
                format!("Invalid value for 'voice': {other}"),
                Some("voice".into()),
                None,
            )
            .response();
        }
    }
    let format = p
        .body
        .get("response_format")
        .and_then(Value::as_str)
        .unwrap_or("mp3");
    let Some((_, content_type)) = FORMATS.iter().find(|(f, _)| *f == format) else {
        return OpenAiError::invalid(
            format!("Invalid value for 'response_format': '{format}'"),
            Some("response_format".into()),
            None,
        )
        .response();
    };
    // A deterministic body: a header naming the format, then silence, 1 KiB per 10 characters.
    let mut audio = format!("FAKE-{format}-AUDIO:").into_bytes();
    audio.resize(audio.len() + 1024 * input.len().div_ceil(10), 0);
    let pieces: Vec<Result<Bytes, actix_web::Error>> = audio
        .chunks(4096)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    HttpResponse::Ok()
        .content_type(*content_type)
        .streaming(futures_util::stream::iter(pieces))
}

/// `/v1/rerank` in Jina's (and Cohere's compatible) shape: documents scored by how many of
/// the query's words they contain, best first, `top_n` of them.
/// Documents by the share of the query's words they contain, best first (ties by index).
pub(crate) fn rank(query: &str, documents: &[String]) -> Vec<(usize, f64)> {
    let query = query.to_lowercase();
    let words: Vec<&str> = query.split_whitespace().collect();
    let mut results: Vec<(usize, f64)> = documents
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let d = d.to_lowercase();
            let hits = words.iter().filter(|w| d.contains(*w)).count();
            (i, hits as f64 / words.len().max(1) as f64)
        })
        .collect();
    results.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    results
}

pub(crate) async fn rerank(
    req: HttpRequest,
    raw: Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let shared = shared.into_inner();
    let p = match prepare(&req, &raw, &shared).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let query = match p.body.get("query") {
        Some(Value::String(q)) if !q.is_empty() => q.to_lowercase(),
        None => return validate::missing("query").response(),
        Some(other) => {
            return validate::invalid_type("query", "a non-empty string", other).response();
        }
    };
    let documents: Vec<String> = match p.body.get("documents") {
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|d| {
                d.as_str().map_or_else(
                    || d["text"].as_str().unwrap_or_default().to_owned(),
                    str::to_owned,
                )
            })
            .collect(),
        None => return validate::missing("documents").response(),
        Some(other) => {
            return validate::invalid_type("documents", "a non-empty array", other).response();
        }
    };
    let mut results = rank(&query, &documents);
    let top = p
        .body
        .get("top_n")
        .and_then(Value::as_u64)
        .map_or(results.len(), |n| n as usize);
    results.truncate(top);
    let tokens: u64 = text_tokens(&query) + documents.iter().map(|d| text_tokens(d)).sum::<u64>();
    HttpResponse::Ok().json(json!({
        "model": p.model,
        "usage": { "total_tokens": tokens },
        "results": results.iter().map(|(index, score)| json!({
            "index": index, "relevance_score": score, "document": { "text": documents[*index] },
        })).collect::<Vec<_>>(),
    }))
}
