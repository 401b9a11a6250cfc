//! Legacy completions and image generation.

use serde_json::{Value, json};

use crate::{Answer, id_of, tokens_of};

/// `/completions`: one choice per prompt (a string or a list of strings).
pub fn completions(request: &Value) -> Answer {
    let model = request["model"].as_str().unwrap_or("mock");
    let prompts: Vec<String> = match &request["prompt"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_owned))
            .collect(),
        _ => vec![String::new()],
    };
    let mut prompt_tokens = 0;
    let mut completion_tokens = 0;
    let choices: Vec<Value> = prompts
        .iter()
        .enumerate()
        .map(|(index, prompt)| {
            let text = format!(" mock completion {index} from {model}");
            prompt_tokens += tokens_of(prompt).max(1);
            completion_tokens += text.split(' ').filter(|w| !w.is_empty()).count() as u64;
            json!({ "text": text, "index": index, "logprobs": null, "finish_reason": "stop" })
        })
        .collect();
    let usage = json!({
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    });
    if request["stream"].as_bool() == Some(true) {
        let id = id_of("cmpl", request);
        let include_usage = request["stream_options"]["include_usage"].as_bool() == Some(true);
        let mut chunks: Vec<bytes::Bytes> = choices
            .into_iter()
            .map(|choice| {
                let c = json!({ "id": id, "object": "text_completion", "created": 1_700_000_000,
                                "model": model, "choices": [choice] });
                bytes::Bytes::from(format!("data: {c}\n\n"))
            })
            .collect();
        if include_usage {
            let c = json!({ "id": id, "object": "text_completion", "created": 1_700_000_000,
                            "model": model, "choices": [], "usage": usage });
            chunks.push(bytes::Bytes::from(format!("data: {c}\n\n")));
        }
        chunks.push(bytes::Bytes::from_static(b"data: [DONE]\n\n"));
        return Answer {
            status: 200,
            content_type: "text/event-stream",
            chunks,
        };
    }
    Answer::json(
        200,
        &json!({
            "id": id_of("cmpl", request), "object": "text_completion", "created": 1_700_000_000,
            "model": model, "choices": choices, "usage": usage,
        }),
    )
}

/// A 1x1 transparent PNG.
const PIXEL_PNG_B64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

/// `/images/generations`: `n` images (default 1) of one pixel, as `b64_json` or a `data:` URL.
pub fn images(request: &Value) -> Answer {
    let n = request["n"].as_u64().unwrap_or(1).clamp(1, 10);
    let as_b64 = request["response_format"].as_str() == Some("b64_json");
    let prompt = request["prompt"].as_str().unwrap_or_default();
    let data: Vec<Value> = (0..n)
        .map(|_| {
            let mut image = if as_b64 {
                json!({ "b64_json": PIXEL_PNG_B64 })
            } else {
                json!({ "url": format!("data:image/png;base64,{PIXEL_PNG_B64}") })
            };
            image["revised_prompt"] = Value::String(prompt.to_owned());
            image
        })
        .collect();
    Answer::json(200, &json!({ "created": 1_700_000_000, "data": data }))
}
