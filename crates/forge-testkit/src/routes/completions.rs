//! `POST /v1/completions` (legacy): `text_completion` objects, streamed or not.

use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::config::render_reply;
use crate::openai_error::OpenAiError;
use crate::pipeline::prepare;
use crate::routes::chat::usage;
use crate::sse;
use crate::state::Shared;
use crate::tokens::{split_reply, text_tokens};
use crate::validate;

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
    let checked = prompts(&p.body).and_then(|prompts| {
        let stream = validate::stream_flag(&p.body)?;
        let include_usage = validate::include_usage(&p.body, stream)?;
        Ok((prompts, stream, include_usage))
    });
    let (prompts, stream, include_usage) = match checked {
        Ok(v) => v,
        Err(e) => return e.response(),
    };
    let reply = render_reply(shared.reply_template().as_deref(), &p.model);
    let prompt_tokens: u64 = prompts.iter().map(|t| text_tokens(t)).sum();
    let completion_tokens = text_tokens(&reply) * prompts.len() as u64;
    let usage = usage(prompt_tokens, completion_tokens);
    let id = format!("cmpl-fake{:016x}", shared.next_id());
    let created = super::now();
    let model = p.model.as_str();
    let object = |choices: Value| {
        json!({
            "id": id,
            "object": "text_completion",
            "created": created,
            "model": model,
            "choices": choices,
        })
    };
    let choice = |index: usize, text: &str, finish: Value| json!({"text": text, "index": index, "logprobs": null, "finish_reason": finish});

    if !stream {
        let choices: Vec<Value> = (0..prompts.len())
            .map(|i| choice(i, &reply, json!("stop")))
            .collect();
        let mut body = object(Value::Array(choices));
        body["usage"] = usage;
        return HttpResponse::Ok().json(body);
    }

    let framed = |mut value: Value, usage_field: Option<Value>| {
        if include_usage {
            value["usage"] = usage_field.unwrap_or(Value::Null);
        }
        sse::event(&value)
    };
    let mut events = Vec::new();
    for index in 0..prompts.len() {
        for piece in split_reply(&reply, shared.stream_chunks) {
            events.push(framed(
                object(json!([choice(index, &piece, Value::Null)])),
                None,
            ));
        }
        events.push(framed(
            object(json!([choice(index, "", json!("stop"))])),
            None,
        ));
    }
    if include_usage {
        events.push(framed(object(json!([])), Some(usage)));
    }
    events.push(sse::done());
    sse::response(events, p.fault, p.guard)
}

/// The prompts as texts: a string, an array of strings, a token array (one prompt) or an
/// array of token arrays. Absent means one empty prompt, as OpenAI defaults it.
fn prompts(body: &Map<String, Value>) -> Result<Vec<String>, OpenAiError> {
    let bad = || {
        validate::invalid_type(
            "prompt",
            "a string, an array of strings or an array of token arrays",
            body.get("prompt").unwrap_or(&Value::Null),
        )
    };
    match body.get("prompt") {
        None | Some(Value::Null) => Ok(vec![String::new()]),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) if items.is_empty() => Err(OpenAiError::invalid(
            "Invalid 'prompt': empty array. Expected an array with minimum length 1, but got an empty array instead.",
            Some("prompt".to_owned()),
            Some("empty_array"),
        )),
        Some(Value::Array(items)) if items.iter().all(Value::is_u64) => {
            Ok(vec![tokens_text(items)])
        }
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                Value::Array(t) if t.iter().all(Value::is_u64) => Ok(tokens_text(t)),
                _ => Err(bad()),
            })
            .collect(),
        Some(_) => Err(bad()),
    }
}

/// Token ids stand for one character each when counting.
fn tokens_text(tokens: &[Value]) -> String {
    "t".repeat(tokens.len() * 4)
}
