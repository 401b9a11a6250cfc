//! `POST /v1/responses` translated for upstreams without the Responses API, with stored state
//! for `previous_response_id`, and passed natively to OpenAI-kind upstreams.

use awc::Client;
use forge_core::sse::{SseEvent, SseParser};
use forge_testkit::{
    FakeAnthropic, FakeAnthropicConfig, FakeGemini, FakeGeminiConfig, FakeOpenAi, FakeOpenAiConfig,
};
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::harness::{
    Backend, Reply, TestServer, add_provider, client, create_forge_key, read, register_and_login,
};

struct Setup {
    server: TestServer,
    anthropic: FakeAnthropic,
    gemini: FakeGemini,
    openai: FakeOpenAi,
    client: Client,
    key: String,
}

async fn setup() -> Setup {
    let anthropic = FakeAnthropic::start(FakeAnthropicConfig::default());
    let gemini = FakeGemini::start(FakeGeminiConfig::default());
    let openai = FakeOpenAi::start(FakeOpenAiConfig::default());
    let server = TestServer::start(Backend::Sqlite).await;
    let client = client();
    let jwt = register_and_login(&client, &server, "responses").await;
    add_provider(
        &client,
        &server,
        &jwt,
        "anthropic",
        anthropic.api_key(),
        &anthropic.base_url(),
    )
    .await;
    add_provider(
        &client,
        &server,
        &jwt,
        "gemini",
        gemini.api_key(),
        &gemini.base_url(),
    )
    .await;
    add_provider(
        &client,
        &server,
        &jwt,
        "openai",
        openai.api_key(),
        &openai.base_url(),
    )
    .await;
    let (_, key) = create_forge_key(&client, &server, &jwt, None).await;
    Setup {
        server,
        anthropic,
        gemini,
        openai,
        client,
        key,
    }
}

async fn post(s: &Setup, key: &str, body: &Value) -> Reply {
    let req = s
        .client
        .post(s.server.url("/v1/responses"))
        .insert_header(("authorization", format!("Bearer {key}")));
    read(req.send_json(body).await.unwrap()).await
}

async fn events(s: &Setup, body: &Value) -> Vec<SseEvent> {
    let req = s
        .client
        .post(s.server.url("/v1/responses"))
        .insert_header(("authorization", format!("Bearer {}", s.key)));
    let mut resp = req.send_json(body).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let mut parser = SseParser::new();
    let mut out = Vec::new();
    while let Some(Ok(chunk)) = resp.next().await {
        parser.push(&chunk, &mut out);
    }
    parser.finish(&mut out);
    out
}

fn user_texts(messages: &Value) -> Vec<String> {
    messages
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "user")
        .map(|m| match &m["content"] {
            Value::String(s) => s.clone(),
            blocks => blocks
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|b| b["text"].as_str())
                .collect::<Vec<_>>()
                .join(""),
        })
        .collect()
}

#[actix_rt::test]
async fn anthropic_upstream_answers_and_continues_a_conversation() {
    let s = setup().await;
    let first = post(
        &s,
        &s.key,
        &json!({ "model": "anthropic/claude-sonnet-4-5", "instructions": "Be brief.", "input": "What is Rust?" }),
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["object"], "response");
    assert_eq!(first.body["status"], "completed");
    let id = first.body["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("resp_"), "{id}");
    let output = &first.body["output"][0];
    assert_eq!(output["type"], "message");
    assert!(
        output["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("claude-sonnet-4-5")
    );
    assert!(first.body["usage"]["input_tokens"].as_u64().unwrap() > 0);
    let seen = s.anthropic.last_request().unwrap();
    assert_eq!(seen.path, "/v1/messages");
    assert_eq!(seen.body["model"], "claude-sonnet-4-5");
    assert!(
        seen.body["system"].to_string().contains("Be brief."),
        "instructions become the system prompt"
    );

    let second = post(
        &s,
        &s.key,
        &json!({ "model": "anthropic/claude-sonnet-4-5", "previous_response_id": id, "input": "And Go?" }),
    )
    .await;
    assert_eq!(second.status, 200, "{}", second.text);
    let seen = s.anthropic.last_request().unwrap();
    assert_eq!(
        user_texts(&seen.body["messages"]),
        vec!["What is Rust?".to_owned(), "And Go?".to_owned()]
    );
    let roles: Vec<&str> = seen.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        ["user", "assistant", "user"],
        "the earlier answer is replayed"
    );
}

#[actix_rt::test]
async fn unknown_or_foreign_previous_response_is_rejected() {
    let s = setup().await;
    let reply = post(&s, &s.key, &json!({ "model": "anthropic/claude-sonnet-4-5", "previous_response_id": "resp_nope", "input": "hi" })).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert_eq!(reply.body["error"]["param"], "previous_response_id");

    let first = post(
        &s,
        &s.key,
        &json!({ "model": "anthropic/claude-sonnet-4-5", "input": "hi" }),
    )
    .await;
    let id = first.body["id"].as_str().unwrap().to_owned();
    let jwt = register_and_login(&s.client, &s.server, "intruder").await;
    add_provider(
        &s.client,
        &s.server,
        &jwt,
        "anthropic",
        s.anthropic.api_key(),
        &s.anthropic.base_url(),
    )
    .await;
    let (_, other) = create_forge_key(&s.client, &s.server, &jwt, None).await;
    let reply = post(&s, &other, &json!({ "model": "anthropic/claude-sonnet-4-5", "previous_response_id": id, "input": "hi" })).await;
    assert_eq!(
        reply.status, 400,
        "another user's response is not visible: {}",
        reply.text
    );
}

#[actix_rt::test]
async fn streamed_responses_have_ordered_events_and_are_stored() {
    let s = setup().await;
    let evs = events(
        &s,
        &json!({ "model": "gemini/gemini-2.5-flash", "input": "Tell me a story", "stream": true }),
    )
    .await;
    let names: Vec<&str> = evs
        .iter()
        .map(|e| e.event.as_deref().unwrap_or(""))
        .collect();
    assert_eq!(names.first(), Some(&"response.created"), "{names:?}");
    assert_eq!(names.last(), Some(&"response.completed"), "{names:?}");
    assert!(names.contains(&"response.output_text.delta"));
    let seqs: Vec<u64> = evs
        .iter()
        .map(|e| {
            serde_json::from_str::<Value>(&e.data).unwrap()["sequence_number"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "sequence numbers: {seqs:?}"
    );
    let done: Value = serde_json::from_str(&evs.last().unwrap().data).unwrap();
    let text: String = evs
        .iter()
        .filter(|e| e.event.as_deref() == Some("response.output_text.delta"))
        .map(|e| {
            serde_json::from_str::<Value>(&e.data).unwrap()["delta"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(done["response"]["output"][0]["content"][0]["text"], text);
    let id = done["response"]["id"].as_str().unwrap().to_owned();

    let follow = post(
        &s,
        &s.key,
        &json!({ "model": "gemini/gemini-2.5-flash", "previous_response_id": id, "input": "More" }),
    )
    .await;
    assert_eq!(
        follow.status, 200,
        "the streamed turn was stored: {}",
        follow.text
    );
    let seen = s.gemini.last_request().unwrap();
    assert_eq!(
        seen.body["contents"].as_array().unwrap().len(),
        3,
        "{}",
        seen.body
    );
}

#[actix_rt::test]
async fn function_calls_round_trip_through_gemini() {
    let s = setup().await;
    let tools = json!([{ "type": "function", "name": "get_weather", "description": "Weather for a city",
        "parameters": { "type": "object", "properties": { "city": { "type": "string" } }, "required": ["city"] } }]);
    let first = post(&s, &s.key, &json!({ "model": "gemini/gemini-2.5-flash", "input": "What is the weather in Paris?", "tools": tools })).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let call = first.body["output"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["type"] == "function_call")
        .unwrap()
        .clone();
    assert_eq!(call["name"], "get_weather");
    let args: Value = serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap();
    assert!(args["city"].is_string());
    let id = first.body["id"].as_str().unwrap();

    let second = post(&s, &s.key, &json!({
        "model": "gemini/gemini-2.5-flash",
        "previous_response_id": id,
        "tools": tools,
        "input": [{ "type": "function_call_output", "call_id": call["call_id"], "output": "{\"temp_c\": 21}" }],
    }))
    .await;
    assert_eq!(second.status, 200, "{}", second.text);
    let seen = s.gemini.last_request().unwrap();
    let parts: Vec<&Value> = seen.body["contents"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["parts"].as_array().unwrap())
        .collect();
    assert!(
        parts
            .iter()
            .any(|p| p["functionCall"]["name"] == "get_weather"),
        "{}",
        seen.body
    );
    assert!(
        parts
            .iter()
            .any(|p| p["functionResponse"]["name"] == "get_weather"),
        "{}",
        seen.body
    );
}

#[actix_rt::test]
async fn openai_upstreams_get_the_responses_api_natively() {
    let s = setup().await;
    let _ = post(
        &s,
        &s.key,
        &json!({ "model": "openai/gpt-4o-mini", "input": "hi", "custom_field": 1 }),
    )
    .await;
    let seen = s.openai.requests().into_iter().next().unwrap();
    assert_eq!(seen.path, "/v1/responses");
    assert_eq!(seen.body["model"], "gpt-4o-mini");
    assert_eq!(
        seen.body["custom_field"], 1,
        "passthrough keeps every field"
    );
}

/// The test kit's OpenAI fake has no `/v1/responses`, like most OpenAI-compatible hosts: the
/// native attempt's 404 falls back to translation once, and the host is remembered.
#[actix_rt::test]
async fn a_host_without_the_responses_api_gets_chat_completions() {
    let s = setup().await;
    let body = json!({
        "model": "openai/gpt-4o-mini",
        "input": "hi",
        "include": ["reasoning.encrypted_content"],
        "store": false,
        "tools": [{"type": "web_search", "external_web_access": false}]
    });
    let reply = post(&s, &s.key, &body).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["object"], "response");
    assert_eq!(reply.body["status"], "completed");
    assert_eq!(reply.header("x-forge-dropped"), Some("tools:web_search"));
    let paths: Vec<String> = s.openai.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/v1/responses", "/v1/chat/completions"]);
    let chat = s.openai.last_request().unwrap();
    assert!(chat.body.get("tools").is_none(), "{}", chat.body);

    let reply = post(&s, &s.key, &body).await;
    assert_eq!(reply.status, 200);
    let paths: Vec<String> = s.openai.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            "/v1/responses",
            "/v1/chat/completions",
            "/v1/chat/completions"
        ],
        "the missing route is remembered"
    );
}
