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

/// `/moderations`: nothing is flagged; one result per input.
pub fn moderations(request: &Value) -> Answer {
    let inputs = match &request["input"] {
        Value::Array(items) => items.len().max(1),
        _ => 1,
    };
    const CATEGORIES: [&str; 11] = [
        "harassment",
        "harassment/threatening",
        "hate",
        "hate/threatening",
        "illicit",
        "illicit/violent",
        "self-harm",
        "self-harm/instructions",
        "self-harm/intent",
        "sexual",
        "violence",
    ];
    let flags: serde_json::Map<String, Value> = CATEGORIES
        .iter()
        .map(|c| ((*c).to_owned(), Value::Bool(false)))
        .collect();
    let scores: serde_json::Map<String, Value> = CATEGORIES
        .iter()
        .map(|c| ((*c).to_owned(), json!(0.0001)))
        .collect();
    let results: Vec<Value> = (0..inputs)
        .map(|_| json!({ "flagged": false, "categories": flags, "category_scores": scores }))
        .collect();
    Answer::json(
        200,
        &json!({ "id": id_of("modr", request), "model": request["model"].as_str().unwrap_or("mock"),
                 "results": results }),
    )
}

/// `/audio/speech`: a WAV of silence, a tenth of a second per 40 characters of input, in
/// 4 KiB pieces (the audio streams as it is produced).
pub fn speech(request: &Value) -> Answer {
    let text = request["input"].as_str().unwrap_or_default();
    if text.is_empty() {
        return Answer::error(400, "'input' is required", "invalid_input");
    }
    const RATE: u32 = 8000;
    let tenths = u32::try_from(text.len().div_ceil(40))
        .unwrap_or(u32::MAX)
        .clamp(1, 600);
    let samples = RATE / 10 * tenths;
    let data_len = samples * 2;
    let mut wav = Vec::with_capacity(44 + data_len as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&RATE.to_le_bytes());
    wav.extend_from_slice(&(RATE * 2).to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    wav.resize(44 + data_len as usize, 0);
    Answer {
        status: 200,
        content_type: "audio/wav",
        chunks: wav
            .chunks(4096)
            .map(bytes::Bytes::copy_from_slice)
            .collect(),
    }
}
