//! The fake Anthropic upstream over real HTTP: headers, validation, answers, streams, faults.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Reply, eventually, raw_http, send};
use forge_testkit::{
    FAKE_SIGNATURE, FAKE_THINKING, FakeAnthropic, FakeAnthropicConfig, Fault, FaultMode,
    split_reply,
};
use serde_json::{Value, json};

const REPLY: &str = "Hello from fake upstream (model claude-sonnet-4-5)";

fn fake() -> FakeAnthropic {
    FakeAnthropic::start(FakeAnthropicConfig::default())
}

fn weather_tool() -> Value {
    json!({"name": "get_weather", "description": "Weather", "input_schema": {
        "type": "object",
        "properties": {"location": {"type": "string"}},
        "required": ["location"],
    }})
}

fn time_tool() -> Value {
    json!({"name": "get_time", "input_schema": {
        "type": "object", "properties": {"zone": {"type": "string"}}}})
}

fn body(content: &str) -> Value {
    json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 2048,
        "messages": [{"role": "user", "content": content}],
    })
}

async fn post_with(
    fake: &FakeAnthropic,
    path: &str,
    body: &Value,
    extra: &[(&str, &str)],
) -> Reply {
    let key = fake.api_key().to_owned();
    let mut headers = vec![
        ("x-api-key", key.as_str()),
        ("anthropic-version", "2023-06-01"),
    ];
    headers.extend_from_slice(extra);
    send(&format!("{}{path}", fake.base_url()), &headers, Some(body)).await
}

async fn messages(fake: &FakeAnthropic, body: &Value) -> Reply {
    post_with(fake, "/messages", body, &[]).await
}

/// `(event name, data)` pairs; every event's name must equal its data's `type`.
fn events(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let (event, data) = e.split_once('\n').expect("event and data lines");
            let name = event
                .strip_prefix("event: ")
                .expect("event line")
                .to_owned();
            let data: Value =
                serde_json::from_str(data.strip_prefix("data: ").expect("data line")).unwrap();
            assert_eq!(data["type"], name.as_str(), "{e}");
            (name, data)
        })
        .collect()
}

// ---- headers ------------------------------------------------------------------------------

#[actix_rt::test]
async fn checks_key_and_version_headers() {
    let fake = fake();
    let url = format!("{}/messages", fake.base_url());
    let r = send(
        &url,
        &[("anthropic-version", "2023-06-01")],
        Some(&body("hi")),
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["type"], "authentication_error");

    let r = send(
        &url,
        &[
            ("x-api-key", "sk-ant-wrong"),
            ("anthropic-version", "2023-06-01"),
        ],
        Some(&body("hi")),
    )
    .await;
    assert_eq!(r.status, 401);
    let err = r.json();
    assert_eq!(err["type"], "error");
    assert_eq!(
        err["error"],
        json!({"type": "authentication_error", "message": "invalid x-api-key"})
    );
    assert!(err["request_id"].as_str().unwrap().starts_with("req_"));

    let r = send(&url, &[("x-api-key", fake.api_key())], Some(&body("hi"))).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["type"], "invalid_request_error");
    assert!(r.text.contains("anthropic-version"), "{}", r.text);

    let r = send(
        &url,
        &[
            ("x-api-key", fake.api_key()),
            ("anthropic-version", "2099-01-01"),
        ],
        Some(&body("hi")),
    )
    .await;
    assert_eq!(r.status, 400);
    // Bearer auth is OpenAI's, not Anthropic's.
    let bearer = format!("Bearer {}", fake.api_key());
    let r = send(
        &url,
        &[
            ("authorization", &bearer),
            ("anthropic-version", "2023-06-01"),
        ],
        Some(&body("hi")),
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(fake.request_count(), 5, "rejected requests are recorded");
}

// ---- validation ---------------------------------------------------------------------------

fn with(mut base: Value, key: &str, value: Value) -> Value {
    base[key] = value;
    base
}

fn without(mut base: Value, key: &str) -> Value {
    base.as_object_mut().unwrap().remove(key);
    base
}

#[actix_rt::test]
async fn validates_like_anthropic() {
    let fake = fake();
    let tool_use = json!({"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"location": "Paris"}});
    let tool_result = json!({"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"});
    let msgs = |m: Value| with(body("x"), "messages", m);
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            without(body("x"), "model"),
            400,
            "invalid_request_error",
            "model: Field required",
        ),
        (
            with(body("x"), "model", json!("claude-nope")),
            404,
            "not_found_error",
            "model: claude-nope",
        ),
        (
            without(body("x"), "max_tokens"),
            400,
            "invalid_request_error",
            "max_tokens: Field required",
        ),
        (
            with(body("x"), "max_tokens", json!(0)),
            400,
            "invalid_request_error",
            "greater than or equal to 1",
        ),
        (
            with(body("x"), "max_tokens", json!("10")),
            400,
            "invalid_request_error",
            "valid integer",
        ),
        (
            with(body("x"), "max_tokens", json!(1.5)),
            400,
            "invalid_request_error",
            "valid integer",
        ),
        (
            msgs(json!([])),
            400,
            "invalid_request_error",
            "at least one message",
        ),
        (
            without(body("x"), "messages"),
            400,
            "invalid_request_error",
            "messages: Field required",
        ),
        (
            msgs(
                json!([{"role": "system", "content": "be nice"}, {"role": "user", "content": "x"}]),
            ),
            400,
            "invalid_request_error",
            "messages.0.role: Input should be 'user' or 'assistant'",
        ),
        (
            msgs(json!([{"role": "user", "content": "x"}, {"role": "system", "content": "late"}])),
            400,
            "invalid_request_error",
            "messages.1.role",
        ),
        (
            msgs(json!([{"role": "assistant", "content": "hi"}, {"role": "user", "content": "x"}])),
            400,
            "invalid_request_error",
            "first message must use the \"user\" role",
        ),
        (
            msgs(json!([{"role": "user", "content": [tool_result.clone()]}])),
            400,
            "invalid_request_error",
            "messages.0.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_1",
        ),
        (
            msgs(json!([
                {"role": "user", "content": "weather?"},
                {"role": "assistant", "content": [tool_use.clone()]},
                {"role": "user", "content": "no result here"},
            ])),
            400,
            "invalid_request_error",
            "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1",
        ),
        (
            msgs(json!([
                {"role": "user", "content": "weather?"},
                {"role": "assistant", "content": [tool_use.clone()]},
                {"role": "user", "content": [{"type": "text", "text": "here"}, tool_result.clone()]},
            ])),
            400,
            "invalid_request_error",
            "must come first",
        ),
        (
            msgs(json!([
                {"role": "user", "content": "weather?"},
                {"role": "assistant", "content": [{"type": "text", "text": "ok"}]},
                {"role": "user", "content": [tool_result.clone()]},
            ])),
            400,
            "invalid_request_error",
            "unexpected `tool_use_id`",
        ),
        (
            msgs(json!([
                {"role": "user", "content": "weather?"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": "{\"location\":\"Paris\"}"}]},
                {"role": "user", "content": [tool_result.clone()]},
            ])),
            400,
            "invalid_request_error",
            "messages.1.content.0.tool_use.input: Input should be a valid dictionary",
        ),
        (
            msgs(json!([
                {"role": "user", "content": "x"},
                {"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm"}, {"type": "text", "text": "ok"}]},
                {"role": "user", "content": "y"},
            ])),
            400,
            "invalid_request_error",
            "messages.1.content.0.thinking.signature: Field required",
        ),
        (
            msgs(json!([{"role": "user", "content": [{"type": "text", "text": ""}]}])),
            400,
            "invalid_request_error",
            "text content blocks must be non-empty",
        ),
        (
            msgs(
                json!([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]),
            ),
            400,
            "invalid_request_error",
            "Input tag 'image_url'",
        ),
        (
            with(
                body("x"),
                "thinking",
                json!({"type": "enabled", "budget_tokens": 1000}),
            ),
            400,
            "invalid_request_error",
            "budget_tokens: Input should be greater than or equal to 1024",
        ),
        (
            with(
                body("x"),
                "thinking",
                json!({"type": "enabled", "budget_tokens": 2048}),
            ),
            400,
            "invalid_request_error",
            "`max_tokens` must be greater than `thinking.budget_tokens`",
        ),
        (
            with(
                with(
                    body("x"),
                    "thinking",
                    json!({"type": "enabled", "budget_tokens": 1024}),
                ),
                "temperature",
                json!(0.5),
            ),
            400,
            "invalid_request_error",
            "`temperature` may only be set to 1",
        ),
        (
            with(body("x"), "temperature", json!(1.5)),
            400,
            "invalid_request_error",
            "temperature: Input should be less than or equal to 1",
        ),
        (
            with(body("x"), "temperature", json!(-0.1)),
            400,
            "invalid_request_error",
            "temperature: Input should be greater than or equal to 0",
        ),
        (
            with(body("x"), "n", json!(2)),
            400,
            "invalid_request_error",
            "n: Extra inputs are not permitted",
        ),
        (
            with(body("x"), "stop", json!(["x"])),
            400,
            "invalid_request_error",
            "stop: Extra inputs are not permitted",
        ),
        (
            with(body("x"), "system", json!([{"type": "image"}])),
            400,
            "invalid_request_error",
            "system.0.type",
        ),
        (
            with(body("x"), "tools", json!([{"name": "f", "parameters": {}}])),
            400,
            "invalid_request_error",
            "tools.0.custom.input_schema: Field required",
        ),
        (
            with(body("x"), "tool_choice", json!({"type": "required"})),
            400,
            "invalid_request_error",
            "tool_choice",
        ),
        (
            with(body("x"), "stream", json!("yes")),
            400,
            "invalid_request_error",
            "stream: Input should be a valid boolean",
        ),
    ];
    for (request, status, kind, message) in cases {
        let r = messages(&fake, &request).await;
        assert_eq!(r.status, status, "{request} -> {}", r.text);
        let err = r.json();
        assert_eq!(err["type"], "error", "{}", r.text);
        assert_eq!(err["error"]["type"], kind, "{request} -> {}", r.text);
        let got = err["error"]["message"].as_str().unwrap();
        assert!(
            got.contains(message),
            "{request}: wanted `{message}`, got `{got}`"
        );
    }

    // A well-formed tool round trip (with a signed thinking block passed back) is accepted.
    let ok = msgs(json!([
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "sig"},
            tool_use,
        ]},
        {"role": "user", "content": [tool_result, {"type": "text", "text": "thanks"}]},
    ]));
    let r = messages(&fake, &with(ok, "tools", json!([weather_tool()]))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json()["stop_reason"],
        "end_turn",
        "tool results get a text answer"
    );
}

// ---- answers ------------------------------------------------------------------------------

#[actix_rt::test]
async fn answers_a_message_object() {
    let fake = fake();
    let r = messages(&fake, &body("Say hello")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.header("request-id").unwrap().starts_with("req_"));
    let m = r.json();
    assert!(m["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(m["type"], "message");
    assert_eq!(m["role"], "assistant");
    assert_eq!(m["model"], "claude-sonnet-4-5");
    assert_eq!(m["content"], json!([{"type": "text", "text": REPLY}]));
    assert_eq!(m["stop_reason"], "end_turn");
    assert_eq!(m["stop_sequence"], Value::Null);
    let usage = &m["usage"];
    assert!(usage["input_tokens"].as_u64().unwrap() > 0);
    assert_eq!(usage["output_tokens"], forge_testkit::text_tokens(REPLY));
    assert_eq!(usage["cache_creation_input_tokens"], 0);
    assert_eq!(usage["cache_read_input_tokens"], 0);
}

#[actix_rt::test]
async fn cached_system_prompt_reports_cache_reads() {
    let fake = fake();
    let system = json!([
        {"type": "text", "text": "You are a helpful assistant with a long cached preamble."},
        {"type": "text", "text": "More rules.", "cache_control": {"type": "ephemeral"}},
    ]);
    let r = messages(&fake, &with(body("hi"), "system", system)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let usage = &r.json()["usage"];
    assert!(
        usage["cache_read_input_tokens"].as_u64().unwrap() > 0,
        "{usage}"
    );

    // count_tokens counts everything, cached or not.
    let plain = messages(&fake, &with(body("hi"), "system", json!("short"))).await;
    assert_eq!(plain.json()["usage"]["cache_read_input_tokens"], 0);
}

#[actix_rt::test]
async fn stop_sequences_and_max_tokens_cut_the_reply() {
    let fake = fake();
    let r = messages(
        &fake,
        &with(body("hi"), "stop_sequences", json!(["upstream", "zzz"])),
    )
    .await;
    let m = r.json();
    assert_eq!(m["stop_reason"], "stop_sequence");
    assert_eq!(m["stop_sequence"], "upstream");
    assert_eq!(m["content"][0]["text"], "Hello from fake ");

    let r = messages(&fake, &with(body("hi"), "max_tokens", json!(2))).await;
    let m = r.json();
    assert_eq!(m["stop_reason"], "max_tokens");
    assert_eq!(m["stop_sequence"], Value::Null);
    assert_eq!(m["content"][0]["text"], "Hello ");
    assert_eq!(m["usage"]["output_tokens"], 2);
}

#[actix_rt::test]
async fn weather_prompt_with_tools_calls_a_tool() {
    let fake = fake();
    let req = with(
        body("What's the weather in Paris?"),
        "tools",
        json!([weather_tool(), time_tool()]),
    );
    let m = messages(&fake, &req).await.json();
    assert_eq!(m["stop_reason"], "tool_use");
    let content = m["content"].as_array().unwrap();
    assert_eq!(content.len(), 1);
    assert_eq!(content[0]["type"], "tool_use");
    assert!(content[0]["id"].as_str().unwrap().starts_with("toolu_"));
    assert_eq!(content[0]["name"], "get_weather");
    assert_eq!(content[0]["input"], json!({"location": "Paris"}));

    // Without tools the same prompt gets text.
    let m = messages(&fake, &body("What's the weather in Paris?"))
        .await
        .json();
    assert_eq!(m["stop_reason"], "end_turn");

    // tool_choice none forbids calls; any forces one.
    let none = with(req.clone(), "tool_choice", json!({"type": "none"}));
    assert_eq!(
        messages(&fake, &none).await.json()["stop_reason"],
        "end_turn"
    );
    let any = with(
        with(
            body("Say hi"),
            "tools",
            json!([weather_tool(), time_tool()]),
        ),
        "tool_choice",
        json!({"type": "tool", "name": "get_time"}),
    );
    let m = messages(&fake, &any).await.json();
    assert_eq!(m["content"][0]["name"], "get_time");
    assert_eq!(m["content"][0]["input"], json!({"zone": "Paris"}));
}

#[actix_rt::test]
async fn parallel_prompt_calls_two_tools() {
    let fake = fake();
    let req = with(
        body("Check weather and time in parallel"),
        "tools",
        json!([weather_tool(), time_tool()]),
    );
    let m = messages(&fake, &req).await.json();
    let content = m["content"].as_array().unwrap();
    assert_eq!(content.len(), 2);
    assert_eq!(content[0]["name"], "get_weather");
    assert_eq!(content[1]["name"], "get_time");
    assert_eq!(content[1]["input"], json!({"zone": "Tokyo"}));
    assert_ne!(content[0]["id"], content[1]["id"]);
    assert_eq!(m["stop_reason"], "tool_use");
}

#[actix_rt::test]
async fn thinking_comes_first_with_a_signature() {
    let fake = fake();
    let req = with(
        with(
            body("weather?"),
            "thinking",
            json!({"type": "enabled", "budget_tokens": 1024}),
        ),
        "tools",
        json!([weather_tool()]),
    );
    let m = messages(&fake, &req).await.json();
    let content = m["content"].as_array().unwrap();
    assert_eq!(
        content[0],
        json!({"type": "thinking", "thinking": FAKE_THINKING, "signature": FAKE_SIGNATURE})
    );
    assert_eq!(content[1]["type"], "tool_use");
}

#[actix_rt::test]
async fn counts_tokens_and_lists_models() {
    let fake = fake();
    let req = without(body("Count these words please"), "max_tokens");
    let r = post_with(&fake, "/messages/count_tokens", &req, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json()["input_tokens"].as_u64().unwrap() > 0);
    let r = post_with(&fake, "/messages/count_tokens", &body("x"), &[]).await;
    assert_eq!(r.status, 400, "count_tokens takes no max_tokens");
    assert!(
        r.text
            .contains("max_tokens: Extra inputs are not permitted")
    );

    let key = fake.api_key().to_owned();
    let headers = [
        ("x-api-key", key.as_str()),
        ("anthropic-version", "2023-06-01"),
    ];
    let r = send(&format!("{}/models", fake.base_url()), &headers, None).await;
    assert_eq!(r.status, 200);
    let list = r.json();
    assert_eq!(list["has_more"], false);
    assert_eq!(list["first_id"], "claude-sonnet-4-5");
    assert_eq!(list["last_id"], "claude-3-5-haiku-latest");
    let first = &list["data"][0];
    assert_eq!(first["type"], "model");
    assert_eq!(first["id"], "claude-sonnet-4-5");
    assert!(first["display_name"].is_string());
    assert!(first["created_at"].as_str().unwrap().ends_with('Z'));
    let r = send(
        &format!("{}/models/claude-nope", fake.base_url()),
        &headers,
        None,
    )
    .await;
    assert_eq!(
        (r.status, r.json()["error"]["type"].clone()),
        (404, json!("not_found_error"))
    );
    let r = send(&format!("{}/nowhere", fake.base_url()), &headers, None).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["type"], "error");
}

// ---- streams ------------------------------------------------------------------------------

async fn stream(fake: &FakeAnthropic, req: &Value) -> Vec<(String, Value)> {
    let r = messages(fake, &with(req.clone(), "stream", json!(true))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("text/event-stream")
    );
    events(&r.text)
}

fn names(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(n, _)| n.as_str()).collect()
}

#[actix_rt::test]
async fn streams_text_in_anthropic_event_order() {
    let fake = fake();
    let events = stream(&fake, &body("Say hello")).await;
    let mut expected = vec!["message_start", "content_block_start", "ping"];
    expected.extend(std::iter::repeat_n("content_block_delta", 4));
    expected.extend(["content_block_stop", "message_delta", "message_stop"]);
    assert_eq!(names(&events), expected);
    let start = &events[0].1["message"];
    assert!(start["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(start["content"], json!([]));
    assert_eq!(start["stop_reason"], Value::Null);
    assert!(start["usage"]["input_tokens"].as_u64().unwrap() > 0);
    assert_eq!(
        events[1].1["content_block"],
        json!({"type": "text", "text": ""})
    );
    let text: String = events
        .iter()
        .filter(|(n, _)| n == "content_block_delta")
        .map(|(_, d)| {
            assert_eq!(d["delta"]["type"], "text_delta");
            assert_eq!(d["index"], 0);
            d["delta"]["text"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(text, REPLY);
    let pieces: Vec<String> = split_reply(REPLY, 4);
    assert_eq!(events[3].1["delta"]["text"], pieces[0].as_str());
    let delta = &events[events.len() - 2].1;
    assert_eq!(
        delta["delta"],
        json!({"stop_reason": "end_turn", "stop_sequence": null})
    );
    assert_eq!(
        delta["usage"]["output_tokens"],
        forge_testkit::text_tokens(REPLY)
    );
}

#[actix_rt::test]
async fn streams_thinking_and_parallel_tool_calls() {
    let fake = fake();
    let req = with(
        with(
            body("weather and time, in parallel"),
            "thinking",
            json!({"type": "enabled", "budget_tokens": 1024}),
        ),
        "tools",
        json!([weather_tool(), time_tool()]),
    );
    let events = stream(&fake, &req).await;
    let starts: Vec<&Value> = events
        .iter()
        .filter(|(n, _)| n == "content_block_start")
        .map(|(_, d)| &d["content_block"])
        .collect();
    assert_eq!(starts.len(), 3);
    assert_eq!(starts[0]["type"], "thinking");
    assert_eq!(starts[1]["type"], "tool_use");
    assert_eq!(starts[1]["input"], json!({}));
    assert!(starts[1]["id"].as_str().unwrap().starts_with("toolu_"));
    assert_eq!(starts[2]["name"], "get_time");

    let deltas = |index: u64, kind: &str, field: &str| -> Vec<String> {
        events
            .iter()
            .filter(|(n, d)| {
                n == "content_block_delta" && d["index"] == index && d["delta"]["type"] == kind
            })
            .map(|(_, d)| d["delta"][field].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        deltas(0, "thinking_delta", "thinking").concat(),
        FAKE_THINKING
    );
    assert_eq!(
        deltas(0, "signature_delta", "signature"),
        vec![FAKE_SIGNATURE]
    );
    let json_parts = deltas(1, "input_json_delta", "partial_json");
    assert!(json_parts.len() > 1, "input JSON arrives in fragments");
    let input: Value = serde_json::from_str(&json_parts.concat()).unwrap();
    assert_eq!(input, json!({"location": "Paris"}));
    let input: Value =
        serde_json::from_str(&deltas(2, "input_json_delta", "partial_json").concat()).unwrap();
    assert_eq!(input, json!({"zone": "Tokyo"}));
    // Each block is closed before the next opens.
    let order: Vec<(&str, u64)> = events
        .iter()
        .filter(|(n, _)| n.starts_with("content_block_"))
        .filter(|(n, _)| n != "content_block_delta")
        .map(|(n, d)| (n.as_str(), d["index"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        order,
        vec![
            ("content_block_start", 0),
            ("content_block_stop", 0),
            ("content_block_start", 1),
            ("content_block_stop", 1),
            ("content_block_start", 2),
            ("content_block_stop", 2),
        ]
    );
    let delta = &events[events.len() - 2].1;
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");
    assert_eq!(names(&events).last(), Some(&"message_stop"));
}

#[actix_rt::test]
async fn streamed_stop_reasons_match_the_non_streamed_ones() {
    let fake = fake();
    let events = stream(&fake, &with(body("hi"), "max_tokens", json!(2))).await;
    let delta = &events[events.len() - 2].1;
    assert_eq!(delta["delta"]["stop_reason"], "max_tokens");
    let events = stream(&fake, &with(body("hi"), "stop_sequences", json!(["fake"]))).await;
    let delta = &events[events.len() - 2].1;
    assert_eq!(
        delta["delta"],
        json!({"stop_reason": "stop_sequence", "stop_sequence": "fake"})
    );
}

// ---- faults and recording -----------------------------------------------------------------

#[actix_rt::test]
async fn status_faults_use_anthropic_error_shapes() {
    let fake = fake();
    fake.set_fault(
        Fault::Status {
            status: 429,
            body: None,
            retry_after: Some(3),
        },
        FaultMode::Once,
    );
    let r = messages(&fake, &body("hi")).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after").as_deref(), Some("3"));
    assert_eq!(r.json()["type"], "error");
    assert_eq!(r.json()["error"]["type"], "rate_limit_error");

    fake.set_fault(Fault::status(529), FaultMode::Times(2));
    for _ in 0..2 {
        let r = messages(&fake, &body("hi")).await;
        assert_eq!(r.status, 529);
        assert_eq!(r.json()["error"]["type"], "overloaded_error");
    }
    assert_eq!(
        messages(&fake, &body("hi")).await.status,
        200,
        "fault used up"
    );

    let r = post_with(
        &fake,
        "/messages",
        &body("hi"),
        &[("x-fake-fault", "status=500")],
    )
    .await;
    assert_eq!(
        (r.status, r.json()["error"]["type"].clone()),
        (500, json!("api_error"))
    );
    let r = post_with(
        &fake,
        "/messages",
        &body("hi"),
        &[("x-fake-fault", "bogus")],
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["type"], "invalid_request_error");
}

#[actix_rt::test]
async fn stream_faults_cut_stall_and_slow_the_events() {
    let fake = fake();
    let payload = with(body("hi"), "stream", json!(true)).to_string();
    let request = |fault: &str| {
        format!(
            "POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: {}\r\nanthropic-version: 2023-06-01\r\n\
             content-type: application/json\r\ncontent-length: {}\r\nx-fake-fault: {fault}\r\nconnection: close\r\n\r\n{payload}",
            fake.api_key(),
            payload.len()
        )
    };
    let cut = raw_http(fake.addr(), request("drop_after=3")).await;
    assert!(cut.starts_with("HTTP/1.1 200"), "{cut}");
    assert_eq!(cut.matches("event: ").count(), 3, "{cut}");
    assert!(
        !cut.contains("message_stop") && !cut.ends_with("0\r\n\r\n"),
        "{cut}"
    );

    let started = std::time::Instant::now();
    let slow = raw_http(fake.addr(), request("chunk_delay_ms=30")).await;
    assert!(slow.contains("event: message_stop"), "{slow}");
    assert!(started.elapsed() >= std::time::Duration::from_millis(30 * 8));

    // A stalled stream stays in flight until the client hangs up.
    fake.set_fault(Fault::HangMidStream { after_chunks: 2 }, FaultMode::Once);
    let url = format!("{}/messages", fake.base_url());
    let key = fake.api_key().to_owned();
    let client = awc::Client::builder()
        .timeout(std::time::Duration::from_millis(300))
        .finish();
    let resp = client
        .post(url)
        .insert_header(("x-api-key", key.as_str()))
        .insert_header(("anthropic-version", "2023-06-01"))
        .send_json(&with(body("hi"), "stream", json!(true)))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    eventually("the stalled stream is in flight", || fake.in_flight() == 1).await;
    drop(resp);
    drop(client);
    eventually("the hung-up stream is no longer in flight", || {
        fake.in_flight() == 0
    })
    .await;
}

#[actix_rt::test]
async fn hang_before_headers_holds_until_the_client_gives_up() {
    let fake = fake();
    fake.set_fault(Fault::HangBeforeHeaders, FaultMode::Once);
    let key = fake.api_key().to_owned();
    let client = awc::Client::builder()
        .timeout(std::time::Duration::from_millis(200))
        .finish();
    let err = client
        .post(format!("{}/messages", fake.base_url()))
        .insert_header(("x-api-key", key.as_str()))
        .insert_header(("anthropic-version", "2023-06-01"))
        .send_json(&body("hi"))
        .await;
    assert!(err.is_err());
    eventually("hung request released", || fake.in_flight() == 0).await;
    assert_eq!(messages(&fake, &body("hi")).await.status, 200);
}

#[actix_rt::test]
async fn records_requests() {
    let fake = fake();
    let req = with(body("hi"), "system", json!("sys"));
    messages(&fake, &req).await;
    let last = fake.last_request().unwrap();
    assert_eq!(last.method, "POST");
    assert_eq!(last.path, "/v1/messages");
    assert_eq!(last.body, req);
    assert_eq!(last.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(fake.requests().len(), 1);
    fake.clear_requests();
    assert_eq!(fake.request_count(), 0);
    assert!(fake.base_url().starts_with("http://127.0.0.1:") && fake.base_url().ends_with("/v1"));
}

#[test]
fn starts_without_an_outer_runtime() {
    let fake = fake();
    assert!(fake.addr().port() > 0);
    drop(fake);
}
