#![allow(clippy::unwrap_used, clippy::panic)]

use serde_json::{Value, json};

use super::*;

fn post(path: &str, body: Value) -> Answer {
    answer(
        "POST",
        &format!("{BASE_URL}{path}"),
        body.to_string().as_bytes(),
    )
}

fn json_of(a: &Answer) -> Value {
    serde_json::from_slice(&a.body()).unwrap()
}

/// The `data:` payloads of a streamed answer, one per chunk.
fn events(a: &Answer) -> Vec<String> {
    a.chunks
        .iter()
        .map(|c| {
            let text = std::str::from_utf8(c).unwrap();
            assert!(text.ends_with("\n\n"), "{text:?}");
            text.strip_prefix("data: ").unwrap().trim_end().to_owned()
        })
        .collect()
}

#[test]
fn chat_answers_deterministically_with_usage() {
    let req = json!({"model": "mock-only-gpt-4o", "messages": [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there"}]});
    let a = post("/chat/completions", req.clone());
    assert_eq!(a, post("/chat/completions", req));
    assert_eq!((a.status, a.content_type), (200, "application/json"));
    let body = json_of(&a);
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "mock-only-gpt-4o");
    let text = body["choices"][0]["message"]["content"].as_str().unwrap();
    assert_eq!(
        text,
        "Mock reply from mock-only-gpt-4o: you said \"Hello there\"."
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    let usage = &body["usage"];
    assert_eq!(usage["completion_tokens"], text.split(' ').count());
    assert_eq!(usage["prompt_tokens"], 5); // "Be brief." and "Hello there": 20 bytes / 4
    assert_eq!(
        usage["total_tokens"],
        usage["prompt_tokens"].as_u64().unwrap() + usage["completion_tokens"].as_u64().unwrap()
    );
}

#[test]
fn chat_streams_one_word_per_event_and_the_usage_when_asked() {
    let req = json!({"model": "m", "stream": true, "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]});
    let a = post("/chat/completions", req);
    assert_eq!(a.content_type, "text/event-stream");
    let events = events(&a);
    assert_eq!(events.last().unwrap(), "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Mock reply from m: you said \"Hi\".");
    let finish = chunks
        .iter()
        .find_map(|c| c["choices"][0]["finish_reason"].as_str());
    assert_eq!(finish, Some("stop"));
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"], json!([]));
    assert_eq!(last["usage"]["completion_tokens"], 7);
    // Without include_usage no chunk carries a usage key.
    let plain = post(
        "/chat/completions",
        json!({"model": "m", "stream": true,
        "messages": [{"role": "user", "content": "Hi"}]}),
    );
    assert!(plain.body().windows(7).all(|w| w != b"\"usage\""));
}

#[test]
fn max_tokens_cuts_the_reply_with_finish_reason_length() {
    let body = json_of(&post(
        "/chat/completions",
        json!({"model": "m", "max_tokens": 2,
        "messages": [{"role": "user", "content": "a b c"}]}),
    ));
    assert_eq!(body["choices"][0]["message"]["content"], "Mock reply");
    assert_eq!(body["choices"][0]["finish_reason"], "length");
    assert_eq!(body["usage"]["completion_tokens"], 2);
}

#[test]
fn a_required_tool_is_called() {
    let tools =
        json!([{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]);
    let body = json_of(&post(
        "/chat/completions",
        json!({"model": "m", "tools": tools,
        "tool_choice": "required", "messages": [{"role": "user", "content": "Paris?"}]}),
    ));
    let call = &body["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "get_weather");
    assert_eq!(call["function"]["arguments"], "{}");
    assert!(call["id"].as_str().unwrap().starts_with("call_"));
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
    // `auto` (the default) only talks.
    let body = json_of(&post(
        "/chat/completions",
        json!({"model": "m", "tools": tools,
        "messages": [{"role": "user", "content": "Paris?"}]}),
    ));
    assert!(body["choices"][0]["message"]["content"].is_string());
}

#[test]
fn embeddings_as_floats_or_base64() {
    let floats = json_of(&post(
        "/embeddings",
        json!({"model": "e", "input": ["a", "b"], "dimensions": 8}),
    ));
    assert_eq!(floats["data"].as_array().unwrap().len(), 2);
    let first: Vec<f32> = serde_json::from_value(floats["data"][0]["embedding"].clone()).unwrap();
    assert_eq!(first.len(), 8);
    assert_eq!(floats["usage"]["prompt_tokens"], 2);
    let b64 = json_of(&post(
        "/embeddings",
        json!({"model": "e", "input": "a", "dimensions": 8,
        "encoding_format": "base64"}),
    ));
    // 8 floats = 32 bytes = 44 base64 characters.
    assert_eq!(b64["data"][0]["embedding"].as_str().unwrap().len(), 44);
    let default = json_of(&post("/embeddings", json!({"model": "e", "input": "a"})));
    assert_eq!(
        default["data"][0]["embedding"].as_array().unwrap().len(),
        1536
    );
    assert_eq!(post("/embeddings", json!({"model": "e"})).status, 400);
}

#[test]
fn completions_and_images() {
    let body = json_of(&post(
        "/completions",
        json!({"model": "c", "prompt": ["x", "y"]}),
    ));
    assert_eq!(body["choices"].as_array().unwrap().len(), 2);
    assert_eq!(body["choices"][1]["text"], " mock completion 1 from c");
    let stream = post(
        "/completions",
        json!({"model": "c", "prompt": "x", "stream": true}),
    );
    assert_eq!(events(&stream).last().unwrap(), "[DONE]");
    let images = json_of(&post(
        "/images/generations",
        json!({"model": "mock-only-dall-e-3",
        "prompt": "a cat", "n": 2, "response_format": "b64_json"}),
    ));
    assert_eq!(images["data"].as_array().unwrap().len(), 2);
    assert!(
        images["data"][0]["b64_json"]
            .as_str()
            .unwrap()
            .starts_with("iVBOR")
    );
}

#[test]
fn models_failures_and_unknown_paths() {
    let models = json_of(&answer("GET", &format!("{BASE_URL}/models"), b""));
    assert_eq!(models["data"].as_array().unwrap().len(), MODELS.len());
    assert!(
        models["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["owned_by"] == "mock")
    );
    let failing = post(
        "/chat/completions",
        json!({"model": "mock-only-fail-503", "messages": []}),
    );
    assert_eq!(failing.status, 503);
    assert_eq!(json_of(&failing)["error"]["code"], "mock_failure");
    assert_eq!(
        post("/chat/completions", json!({"model": "mock-only-fail-200"})).status,
        200
    );
    assert_eq!(post("/fine_tuning/jobs", json!({})).status, 404);
    let bad = answer(
        "POST",
        &format!("{BASE_URL}/chat/completions"),
        b"{not json",
    );
    assert_eq!(bad.status, 400);
    assert_eq!(json_of(&bad)["error"]["type"], "invalid_request_error");
}

#[test]
fn moderations_and_speech() {
    let m = json_of(&post(
        "/moderations",
        json!({"model": "omni-moderation-latest", "input": ["a", "b"]}),
    ));
    assert_eq!(m["results"].as_array().unwrap().len(), 2);
    assert_eq!(m["results"][0]["flagged"], false);
    let speech = post(
        "/audio/speech",
        json!({"model": "tts-1", "voice": "alloy", "input": "x".repeat(100)}),
    );
    assert_eq!((speech.status, speech.content_type), (200, "audio/wav"));
    let wav = speech.body();
    assert_eq!(&wav[..4], b"RIFF");
    // 100 characters: three tenths of a second at 8 kHz, 16-bit.
    assert_eq!(wav.len(), 44 + 3 * 800 * 2);
    assert!(speech.chunks.len() > 1);
    assert_eq!(post("/audio/speech", json!({"model": "tts-1"})).status, 400);
}
