//! The fake Gemini upstream over real HTTP: keys, validation, answers, streams, faults.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Reply, raw_http, send};
use forge_testkit::{
    FAKE_SIGNATURE, FAKE_THINKING, FakeGemini, FakeGeminiConfig, Fault, FaultMode,
    GEMINI_CACHED_TOKENS, KeySource, text_tokens,
};
use serde_json::{Value, json};

const REPLY: &str = "Hello from fake upstream (model gemini-2.5-flash)";

fn fake() -> FakeGemini {
    FakeGemini::start(FakeGeminiConfig::default())
}

fn user(text: &str) -> Value {
    json!({"role": "user", "parts": [{"text": text}]})
}

fn body(text: &str) -> Value {
    json!({"contents": [user(text)]})
}

fn with(mut base: Value, key: &str, value: Value) -> Value {
    base[key] = value;
    base
}

fn tools() -> Value {
    json!([{"functionDeclarations": [
        {"name": "get_weather", "description": "Weather", "parameters": {
            "type": "OBJECT", "properties": {"location": {"type": "STRING"}}, "required": ["location"]}},
        {"name": "get_time", "parameters": {"type": "OBJECT", "properties": {"zone": {"type": "STRING"}}}},
    ]}])
}

async fn call(fake: &FakeGemini, target: &str, body: &Value) -> Reply {
    let key = fake.api_key().to_owned();
    send(
        &format!("{}/models/{target}", fake.base_url()),
        &[("x-goog-api-key", key.as_str())],
        Some(body),
    )
    .await
}

async fn generate(fake: &FakeGemini, body: &Value) -> Reply {
    call(fake, "gemini-2.5-flash:generateContent", body).await
}

fn sse_chunks(text: &str) -> Vec<Value> {
    assert!(text.ends_with("\r\n\r\n"), "{text}");
    text.split("\r\n\r\n")
        .filter(|e| !e.is_empty())
        .map(|e| serde_json::from_str(e.strip_prefix("data: ").expect("data line")).unwrap())
        .collect()
}

// ---- keys ---------------------------------------------------------------------------------

#[actix_rt::test]
async fn checks_the_key_and_records_where_it_was() {
    let fake = fake();
    let url = format!(
        "{}/models/gemini-2.5-flash:generateContent",
        fake.base_url()
    );
    let r = send(&url, &[], Some(&body("hi"))).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"]["status"], "PERMISSION_DENIED");

    let r = send(&url, &[("x-goog-api-key", "AIzaWrong")], Some(&body("hi"))).await;
    assert_eq!(r.status, 400);
    let err = &r.json()["error"];
    assert_eq!(err["code"], 400);
    assert_eq!(err["status"], "INVALID_ARGUMENT");
    assert_eq!(
        err["message"],
        "API key not valid. Please pass a valid API key."
    );
    assert_eq!(err["details"][0]["reason"], "API_KEY_INVALID");

    assert_eq!(generate(&fake, &body("hi")).await.status, 200);
    let r = send(
        &format!("{url}?key={}", fake.api_key()),
        &[],
        Some(&body("hi")),
    )
    .await;
    assert_eq!(r.status, 200, "Google also takes ?key=");
    assert_eq!(
        fake.key_sources(),
        vec![
            KeySource::Missing,
            KeySource::Header,
            KeySource::Header,
            KeySource::Query
        ]
    );
    assert_eq!(
        fake.last_request().unwrap().query,
        format!("key={}", fake.api_key())
    );
}

// ---- validation ---------------------------------------------------------------------------

#[actix_rt::test]
async fn validates_like_google() {
    let fake = fake();
    let model_call = json!({"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"location": "Paris"}}}]});
    let response = |name: &str| json!({"role": "user", "parts": [{"functionResponse": {"name": name, "response": {"temp": 20}}}]});
    let cases: Vec<(Value, &str)> = vec![
        (json!({"contents": []}), "contents is not specified"),
        (json!({}), "contents is not specified"),
        (
            json!({"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}),
            "Please use a valid role: user, model.",
        ),
        (
            json!({"contents": [{"role": "system", "parts": [{"text": "x"}]}]}),
            "Please use a valid role: user, model.",
        ),
        (
            json!({"contents": [{"role": "user", "parts": []}]}),
            "contents.parts must not be empty",
        ),
        (
            json!({"contents": [{"role": "user", "parts": [{}]}]}),
            "required oneof field 'data'",
        ),
        (
            with(body("x"), "foo", json!(1)),
            "Invalid JSON payload received. Unknown name \"foo\": Cannot find field.",
        ),
        (
            with(body("x"), "messages", json!([])),
            "Unknown name \"messages\"",
        ),
        (
            json!({"contents": [{"role": "user", "content": "x"}]}),
            "Unknown name \"content\" at 'contents[0]'",
        ),
        (
            json!({"contents": [{"role": "user", "parts": [{"type": "text", "text": "x"}]}]}),
            "Unknown name \"type\" at 'contents[0].parts[0]'",
        ),
        (
            with(body("x"), "generationConfig", json!({"max_tokens": 5})),
            "Unknown name \"max_tokens\" at 'generation_config': Cannot find field.",
        ),
        (
            with(
                body("x"),
                "generationConfig",
                json!({"maxOutputTokens": "5"}),
            ),
            "Invalid value at 'generation_config.max_output_tokens' (TYPE_INT32)",
        ),
        (
            with(
                body("x"),
                "generationConfig",
                json!({"thinkingConfig": {"budget": 5}}),
            ),
            "Unknown name \"budget\" at 'generation_config.thinking_config'",
        ),
        (
            json!({"contents": [user("x"), response("get_weather")]}),
            "function response turn comes immediately after a function call turn",
        ),
        (
            json!({"contents": [user("weather?"), model_call.clone(), response("get_time")]}),
            "does not match any function call",
        ),
        (
            json!({"contents": [user("weather?"), model_call.clone(), {"role": "user", "parts": [
                {"functionResponse": {"name": "get_weather", "response": {}}},
                {"functionResponse": {"name": "get_weather", "response": {}}},
            ]}]}),
            "number of function response parts is equal to the number of function call parts",
        ),
        (
            json!({"contents": [model_call.clone()]}),
            "function call turn comes immediately after a user turn",
        ),
        (
            with(
                body("x"),
                "tools",
                json!([{"functionDeclarations": [{"name": "f", "parameters": {
                "type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": false}}]}]),
            ),
            "Unknown name \"additionalProperties\" at 'tools[0].function_declarations[0].parameters'",
        ),
        (
            with(
                body("x"),
                "tools",
                json!([{"type": "function", "function": {"name": "f"}}]),
            ),
            "at 'tools[0]': Cannot find field.",
        ),
        (
            with(
                body("x"),
                "toolConfig",
                json!({"functionCallingConfig": {"mode": "REQUIRED"}}),
            ),
            "tool_config.function_calling_config.mode",
        ),
    ];
    for (request, message) in cases {
        let r = generate(&fake, &request).await;
        assert_eq!(r.status, 400, "{request} -> {}", r.text);
        let err = &r.json()["error"];
        assert_eq!(err["code"], 400);
        assert_eq!(err["status"], "INVALID_ARGUMENT", "{}", r.text);
        let got = err["message"].as_str().unwrap();
        assert!(
            got.contains(message),
            "{request}: wanted `{message}`, got `{got}`"
        );
    }

    let r = call(&fake, "gemini-nope:generateContent", &body("x")).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["status"], "NOT_FOUND");
    assert!(
        r.text
            .contains("models/gemini-nope is not found for API version v1beta")
    );

    // snake_case names are accepted like camelCase, and a proper function round trip passes.
    let ok = json!({
        "contents": [user("weather?"), model_call, response("get_weather")],
        "system_instruction": {"parts": [{"text": "be brief"}]},
        "generation_config": {"max_output_tokens": 100, "temperature": 0.2},
        "tools": tools(),
    });
    let r = generate(&fake, &ok).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json()["candidates"][0]["content"]["parts"][0]["text"],
        REPLY
    );
}

// ---- answers ------------------------------------------------------------------------------

#[actix_rt::test]
async fn answers_generate_content() {
    let fake = fake();
    let r = generate(&fake, &body("Say hello")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let resp = r.json();
    let candidate = &resp["candidates"][0];
    assert_eq!(
        candidate["content"],
        json!({"parts": [{"text": REPLY}], "role": "model"})
    );
    assert_eq!(candidate["finishReason"], "STOP");
    assert_eq!(candidate["index"], 0);
    assert_eq!(resp["modelVersion"], "gemini-2.5-flash");
    assert!(resp["responseId"].as_str().unwrap().len() > 4);
    let usage = &resp["usageMetadata"];
    let prompt = usage["promptTokenCount"].as_u64().unwrap();
    assert!(prompt > 0);
    assert_eq!(usage["candidatesTokenCount"], text_tokens(REPLY));
    assert_eq!(usage["totalTokenCount"], prompt + text_tokens(REPLY));
    assert!(usage.get("thoughtsTokenCount").is_none());
    assert!(usage.get("cachedContentTokenCount").is_none());
}

#[actix_rt::test]
async fn max_output_tokens_and_stop_sequences_cut_the_reply() {
    let fake = fake();
    let r = generate(
        &fake,
        &with(
            body("hi"),
            "generationConfig",
            json!({"maxOutputTokens": 2}),
        ),
    )
    .await;
    let resp = r.json();
    assert_eq!(resp["candidates"][0]["finishReason"], "MAX_TOKENS");
    assert_eq!(
        resp["candidates"][0]["content"]["parts"][0]["text"],
        "Hello "
    );
    assert_eq!(resp["usageMetadata"]["candidatesTokenCount"], 2);
    let r = generate(
        &fake,
        &with(
            body("hi"),
            "generationConfig",
            json!({"stopSequences": ["fake"]}),
        ),
    )
    .await;
    let resp = r.json();
    assert_eq!(resp["candidates"][0]["finishReason"], "STOP");
    assert_eq!(
        resp["candidates"][0]["content"]["parts"][0]["text"],
        "Hello from "
    );
}

#[actix_rt::test]
async fn weather_and_parallel_prompts_call_functions() {
    let fake = fake();
    let resp = generate(&fake, &with(body("What's the weather?"), "tools", tools()))
        .await
        .json();
    let parts = resp["candidates"][0]["content"]["parts"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        parts,
        vec![json!({"functionCall": {"name": "get_weather", "args": {"location": "Paris"}}})]
    );
    assert_eq!(resp["candidates"][0]["finishReason"], "STOP");

    let resp = generate(&fake, &with(body("both in parallel"), "tools", tools()))
        .await
        .json();
    let parts = resp["candidates"][0]["content"]["parts"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(parts.len(), 2);
    assert_eq!(
        parts[1]["functionCall"],
        json!({"name": "get_time", "args": {"zone": "Tokyo"}})
    );

    // Mode NONE forbids calls; ANY with allowedFunctionNames forces that one.
    let none = with(
        with(body("weather?"), "tools", tools()),
        "toolConfig",
        json!({"functionCallingConfig": {"mode": "NONE"}}),
    );
    let resp = generate(&fake, &none).await.json();
    assert_eq!(resp["candidates"][0]["content"]["parts"][0]["text"], REPLY);
    let any = with(
        with(body("hello"), "tools", tools()),
        "toolConfig",
        json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_time"]}}),
    );
    let resp = generate(&fake, &any).await.json();
    assert_eq!(
        resp["candidates"][0]["content"]["parts"][0]["functionCall"]["name"],
        "get_time"
    );
}

#[actix_rt::test]
async fn thoughts_and_cached_content_show_in_parts_and_usage() {
    let fake = fake();
    let req = json!({
        "contents": [user("hi")],
        "cachedContent": "cachedContents/abc",
        "generationConfig": {"thinkingConfig": {"includeThoughts": true, "thinkingBudget": 1024}},
    });
    let resp = generate(&fake, &req).await.json();
    let parts = &resp["candidates"][0]["content"]["parts"];
    assert_eq!(
        parts[0],
        json!({"text": FAKE_THINKING, "thought": true, "thoughtSignature": FAKE_SIGNATURE})
    );
    assert_eq!(parts[1]["text"], REPLY);
    let usage = &resp["usageMetadata"];
    assert_eq!(usage["thoughtsTokenCount"], text_tokens(FAKE_THINKING));
    assert_eq!(usage["cachedContentTokenCount"], GEMINI_CACHED_TOKENS);
    let prompt = usage["promptTokenCount"].as_u64().unwrap();
    assert_eq!(
        usage["totalTokenCount"],
        prompt + text_tokens(REPLY) + text_tokens(FAKE_THINKING)
    );
}

#[actix_rt::test]
async fn counts_tokens_and_lists_models() {
    let fake = fake();
    let r = call(
        &fake,
        "gemini-2.5-flash:countTokens",
        &body("count me please"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json()["totalTokens"].as_u64().unwrap() > 0);

    let key = fake.api_key().to_owned();
    let r = send(
        &format!("{}/models", fake.base_url()),
        &[("x-goog-api-key", key.as_str())],
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    let first = &r.json()["models"][0];
    assert_eq!(first["name"], "models/gemini-2.5-flash");
    assert!(first["displayName"].is_string());
    assert!(
        first["supportedGenerationMethods"]
            .as_array()
            .unwrap()
            .contains(&json!("generateContent"))
    );
    let r = send(
        &format!("{}/models/gemini-2.5-pro", fake.base_url()),
        &[("x-goog-api-key", key.as_str())],
        None,
    )
    .await;
    assert_eq!(r.json()["name"], "models/gemini-2.5-pro");
    // The same API answers under /v1.
    let v1 = fake.base_url().replace("/v1beta", "/v1");
    let r = send(
        &format!("{v1}/models/gemini-2.5-flash:generateContent"),
        &[("x-goog-api-key", key.as_str())],
        Some(&body("hi")),
    )
    .await;
    assert_eq!(r.status, 200);
    let r = send(&format!("{v1}/nowhere"), &[], None).await;
    assert_eq!(
        (r.status, r.json()["error"]["status"].clone()),
        (404, json!("NOT_FOUND"))
    );
}

// ---- streams ------------------------------------------------------------------------------

#[actix_rt::test]
async fn streams_sse_chunks_with_the_finish_on_the_last() {
    let fake = fake();
    let r = call(
        &fake,
        "gemini-2.5-flash:streamGenerateContent?alt=sse",
        &body("hi"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("text/event-stream")
    );
    let chunks = sse_chunks(&r.text);
    assert_eq!(chunks.len(), 4);
    let text: String = chunks
        .iter()
        .map(|c| {
            c["candidates"][0]["content"]["parts"][0]["text"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(text, REPLY);
    for c in &chunks[..3] {
        assert!(c["candidates"][0].get("finishReason").is_none());
        assert!(c.get("usageMetadata").is_none());
        assert_eq!(c["candidates"][0]["content"]["role"], "model");
        assert_eq!(c["responseId"], chunks[0]["responseId"]);
    }
    let last = &chunks[3];
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert_eq!(
        last["usageMetadata"]["candidatesTokenCount"],
        text_tokens(REPLY)
    );
}

#[actix_rt::test]
async fn streams_thoughts_and_function_calls() {
    let fake = fake();
    let req = json!({
        "contents": [user("weather in parallel")],
        "tools": tools(),
        "generationConfig": {"thinkingConfig": {"includeThoughts": true}},
    });
    let r = call(
        &fake,
        "gemini-2.5-flash:streamGenerateContent?alt=sse",
        &req,
    )
    .await;
    let chunks = sse_chunks(&r.text);
    assert_eq!(chunks.len(), 2);
    assert_eq!(
        chunks[0]["candidates"][0]["content"]["parts"][0]["thought"],
        true
    );
    let parts = chunks[1]["candidates"][0]["content"]["parts"]
        .as_array()
        .unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0]["functionCall"]["name"], "get_weather");
    assert_eq!(parts[0]["thoughtSignature"], FAKE_SIGNATURE);
    assert_eq!(chunks[1]["candidates"][0]["finishReason"], "STOP");
}

#[actix_rt::test]
async fn streams_a_json_array_without_alt_sse() {
    let fake = fake();
    let r = call(&fake, "gemini-2.5-flash:streamGenerateContent", &body("hi")).await;
    assert_eq!(r.status, 200);
    let chunks: Vec<Value> = serde_json::from_str(&r.text).unwrap();
    assert_eq!(chunks.len(), 4);
    assert_eq!(chunks[3]["candidates"][0]["finishReason"], "STOP");
}

// ---- faults -------------------------------------------------------------------------------

#[actix_rt::test]
async fn status_faults_use_google_error_shapes() {
    let fake = fake();
    fake.set_fault(
        Fault::Status {
            status: 429,
            body: None,
            retry_after: Some(7),
        },
        FaultMode::Once,
    );
    let r = generate(&fake, &body("hi")).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after").as_deref(), Some("7"));
    let err = &r.json()["error"];
    assert_eq!(err["code"], 429);
    assert_eq!(err["status"], "RESOURCE_EXHAUSTED");
    assert_eq!(err["details"][0]["retryDelay"], "7s");

    fake.set_fault(Fault::status(503), FaultMode::Always);
    for _ in 0..2 {
        assert_eq!(
            generate(&fake, &body("hi")).await.json()["error"]["status"],
            "UNAVAILABLE"
        );
    }
    fake.clear_fault();
    assert_eq!(generate(&fake, &body("hi")).await.status, 200);

    let key = fake.api_key().to_owned();
    let r = send(
        &format!(
            "{}/models/gemini-2.5-flash:generateContent",
            fake.base_url()
        ),
        &[
            ("x-goog-api-key", key.as_str()),
            ("x-fake-fault", "status=500"),
        ],
        Some(&body("hi")),
    )
    .await;
    assert_eq!(
        (r.status, r.json()["error"]["status"].clone()),
        (500, json!("INTERNAL"))
    );
}

#[actix_rt::test]
async fn drop_mid_stream_cuts_the_sse_body() {
    let fake = fake();
    let payload = body("hi").to_string();
    let request = format!(
        "POST /v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse HTTP/1.1\r\nhost: x\r\n\
         x-goog-api-key: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         x-fake-fault: drop_after=2\r\nconnection: close\r\n\r\n{payload}",
        fake.api_key(),
        payload.len()
    );
    let cut = raw_http(fake.addr(), request).await;
    assert!(cut.starts_with("HTTP/1.1 200"), "{cut}");
    assert_eq!(cut.matches("data: ").count(), 2, "{cut}");
    assert!(
        !cut.contains("finishReason") && !cut.ends_with("0\r\n\r\n"),
        "{cut}"
    );
    assert_eq!(fake.in_flight(), 0);
}

#[test]
fn starts_without_an_outer_runtime() {
    let fake = fake();
    assert!(fake.base_url().starts_with("http://127.0.0.1:"));
    assert!(fake.base_url().ends_with("/v1beta"));
}
