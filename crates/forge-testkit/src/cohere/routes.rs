//! Cohere's routes: `Authorization: Bearer`, then a JSON object body validated as the v2
//! Chat API reference describes it; unknown fields are refused, so a gateway that renders
//! OpenAI's names (`top_p`, `stop`) fails here as it would there.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::answer::{Chat, answer};
use super::error::CohereError;
use crate::dialect::Dialect;
use crate::pipeline::{Intercepted, intercept};
use crate::sse;
use crate::state::Shared;
use crate::tokens::chat_prompt_tokens;

const FIELDS: [&str; 21] = [
    "model",
    "messages",
    "tools",
    "strict_tools",
    "documents",
    "citation_options",
    "response_format",
    "safety_mode",
    "max_tokens",
    "stop_sequences",
    "temperature",
    "seed",
    "frequency_penalty",
    "presence_penalty",
    "k",
    "p",
    "logprobs",
    "tool_choice",
    "thinking",
    "stream",
    "priority",
];

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/v2/chat", web::post().to(chat))
        .route("/v2/embed", web::post().to(super::retrieval::embed))
        .route("/v2/rerank", web::post().to(super::retrieval::rerank))
        .route("/v1/models", web::get().to(models))
        .default_service(web::to(|| async {
            CohereError {
                status: 404,
                message: "404 page not found".into(),
            }
            .response()
        }));
}

fn check_key(req: &HttpRequest, key: &str) -> Result<(), CohereError> {
    let value = req
        .headers()
        .get("authorization")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let presented = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, k)| k.trim().to_owned());
    match presented {
        Some(k) if crate::auth::constant_time_eq(k.as_bytes(), key.as_bytes()) => Ok(()),
        Some(_) => Err(CohereError::for_status(401)),
        None => Err(CohereError {
            status: 401,
            message: "no api key supplied".into(),
        }),
    }
}

/// Records the request, applies faults, checks the key.
pub(crate) async fn admit(
    req: &HttpRequest,
    raw: &[u8],
    shared: &Arc<Shared>,
) -> Result<(), HttpResponse> {
    let _ = intercept(req, raw, shared, Dialect::Cohere).await?;
    check_key(req, &shared.api_key).map_err(|e| e.response())
}

/// The body's `model`, which must be one the fake serves.
pub(crate) fn known_model(
    body: &Map<String, Value>,
    shared: &Shared,
) -> Result<String, CohereError> {
    let model = match body.get("model") {
        Some(Value::String(m)) => m.clone(),
        _ => return Err(CohereError::invalid("missing required field `model`")),
    };
    if !shared.models.contains(&model) {
        return Err(CohereError {
            status: 404,
            message: format!(
                "model '{model}' not found, make sure the correct model ID was used and that you have access to the model."
            ),
        });
    }
    Ok(model)
}

async fn models(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    let shared = shared.into_inner();
    if let Err(resp) = intercept(&req, b"", &shared, Dialect::Cohere).await {
        return resp;
    }
    if let Err(e) = check_key(&req, &shared.api_key) {
        return e.response();
    }
    let models: Vec<Value> = shared
        .models
        .iter()
        .map(|m| json!({ "name": m, "endpoints": ["chat"], "finetuned": false, "context_length": 256000 }))
        .collect();
    HttpResponse::Ok().json(json!({ "models": models }))
}

async fn chat(req: HttpRequest, raw: Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let shared = shared.into_inner();
    let Intercepted { guard, fault } = match intercept(&req, &raw, &shared, Dialect::Cohere).await {
        Ok(i) => i,
        Err(resp) => return resp,
    };
    if let Err(e) = check_key(&req, &shared.api_key) {
        return e.response();
    }
    let body = match serde_json::from_slice::<Value>(&raw) {
        Ok(Value::Object(body)) => body,
        _ => return CohereError::invalid("the body must be a JSON object").response(),
    };
    let (chat, stream) = match validate(&body, &shared) {
        Ok(v) => v,
        Err(e) => return e.response(),
    };
    let answer = answer(&chat, &shared);
    if !stream {
        return HttpResponse::Ok().json(answer.whole());
    }
    sse::response(answer.events(shared.stream_chunks), fault, guard)
}

fn validate(body: &Map<String, Value>, shared: &Arc<Shared>) -> Result<(Chat, bool), CohereError> {
    if let Some(unknown) = body.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(CohereError::invalid(format!("unknown field `{unknown}`")));
    }
    let model = known_model(body, shared)?;
    let messages = match body.get("messages") {
        Some(Value::Array(m)) if !m.is_empty() => m,
        _ => return Err(CohereError::invalid("`messages` must be a non-empty array")),
    };
    let mut call_ids: Vec<String> = Vec::new();
    let mut prompt = String::new();
    for (n, message) in messages.iter().enumerate() {
        let role = message
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let content = message.get("content");
        match role {
            "system" | "user" => {
                let text = text_of(content).ok_or_else(|| {
                    CohereError::invalid(format!(
                        "messages[{n}].content must be a string or an array of content blocks"
                    ))
                })?;
                if role == "user" {
                    prompt = text;
                }
            }
            "assistant" => {
                let calls = message.get("tool_calls").and_then(Value::as_array);
                if content.is_none() && calls.is_none() {
                    return Err(CohereError::invalid(format!(
                        "messages[{n}]: an assistant message needs content or tool_calls"
                    )));
                }
                for call in calls.into_iter().flatten() {
                    let id = call.get("id").and_then(Value::as_str);
                    let args = call.pointer("/function/arguments").and_then(Value::as_str);
                    let (Some(id), Some(args)) = (id, args) else {
                        return Err(CohereError::invalid(format!(
                            "messages[{n}].tool_calls: id and function.arguments (a string) are required"
                        )));
                    };
                    if serde_json::from_str::<Value>(args).is_err() {
                        return Err(CohereError::invalid(format!(
                            "messages[{n}].tool_calls: arguments must be JSON"
                        )));
                    }
                    call_ids.push(id.to_owned());
                }
            }
            "tool" => {
                let id = message
                    .get("tool_call_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if !call_ids.iter().any(|c| c == id) {
                    return Err(CohereError::invalid(format!(
                        "messages[{n}].tool_call_id '{id}' does not match a tool call"
                    )));
                }
                if content.is_none() {
                    return Err(CohereError::invalid(format!(
                        "messages[{n}]: a tool message needs content"
                    )));
                }
            }
            other => {
                return Err(CohereError::invalid(format!(
                    "messages[{n}].role '{other}' is not one of system, user, assistant, tool"
                )));
            }
        }
    }
    let last_is_tool = messages
        .last()
        .and_then(|m| m.get("role"))
        .and_then(Value::as_str)
        == Some("tool");
    let mut tools = Vec::new();
    for (n, tool) in body
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let name = tool.pointer("/function/name").and_then(Value::as_str);
        match (tool.get("type").and_then(Value::as_str), name) {
            (Some("function"), Some(name)) => tools.push((
                name.to_owned(),
                tool.pointer("/function/parameters")
                    .cloned()
                    .unwrap_or(json!({})),
            )),
            _ => {
                return Err(CohereError::invalid(format!(
                    "tools[{n}] must be {{\"type\": \"function\", \"function\": {{\"name\", \"parameters\"}}}}"
                )));
            }
        }
    }
    let tool_choice = body
        .get("tool_choice")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(choice) = &tool_choice
        && choice != "REQUIRED"
        && choice != "NONE"
    {
        return Err(CohereError::invalid(format!(
            "tool_choice must be REQUIRED or NONE, got '{choice}'"
        )));
    }
    if let Some(p) = body.get("p").and_then(Value::as_f64)
        && !(0.01..=0.99).contains(&p)
    {
        return Err(CohereError::invalid("p must be between 0.01 and 0.99"));
    }
    if let Some(k) = body.get("k").and_then(Value::as_u64)
        && k > 500
    {
        return Err(CohereError::invalid("k must be between 0 and 500"));
    }
    let stream = match body.get("stream") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(CohereError::invalid("stream must be a boolean")),
    };
    let stop_sequences = body
        .get("stop_sequences")
        .and_then(Value::as_array)
        .map(|s| {
            s.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Ok((
        Chat {
            model,
            prompt,
            prompt_tokens: chat_prompt_tokens(&Value::Array(messages.clone())),
            tools,
            tool_choice,
            after_tool: last_is_tool,
            stop_sequences,
            max_tokens: body.get("max_tokens").and_then(Value::as_u64),
            thinking: body
                .get("thinking")
                .and_then(|t| t.get("type"))
                .and_then(Value::as_str)
                == Some("enabled"),
        },
        stream,
    ))
}

/// The text of a `content`: a string, or text blocks of an array (images and documents
/// allowed, not read).
fn text_of(content: Option<&Value>) -> Option<String> {
    match content? {
        Value::String(s) => Some(s.clone()),
        Value::Array(blocks) => {
            let mut text = String::new();
            for block in blocks {
                match block.get("type").and_then(Value::as_str)? {
                    "text" => text.push_str(block.get("text").and_then(Value::as_str)?),
                    "image_url" => {
                        block.pointer("/image_url/url").and_then(Value::as_str)?;
                    }
                    "document" => {}
                    _ => return None,
                }
            }
            Some(text)
        }
        _ => None,
    }
}
