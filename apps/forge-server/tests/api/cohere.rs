//! Cohere's native v2 Chat API as an upstream: a stored `cohere` provider key and a forge.toml
//! `kind = "cohere"` provider serve the OpenAI, Anthropic and Gemini dialects, whole and
//! streamed, with tools and usage, against a fake that validates v2 bodies as Cohere does.

use forge_testkit::{FakeCohere, FakeCohereConfig, Fault, FaultMode};
use serde_json::{Value, json};

use crate::harness::{
    Backend, TestServer, add_provider, client, create_forge_key, post_json, read,
    register_and_login,
};
use crate::routing::common::key_digest;
use crate::usage::common::wait_for;

const CO_KEY: &str = "co-fake-upstream-key-0001";
const MODEL: &str = "cohere/command-a-03-2025";

fn weather_tool() -> Value {
    json!({ "type": "function", "function": { "name": "get_weather", "description": "Weather of a city",
        "parameters": { "type": "object", "properties": { "city": { "type": "string" } }, "required": ["city"] } } })
}

async fn user_with_cohere(s: &TestServer, fake: &FakeCohere) -> String {
    let c = client();
    let jwt = register_and_login(&c, s, "cohere_user").await;
    add_provider(&c, s, &jwt, "cohere", CO_KEY, &fake.base_url()).await;
    create_forge_key(&c, s, &jwt, None).await.1
}

async fn chat_in_every_dialect(backend: Backend) {
    let fake = FakeCohere::start(FakeCohereConfig::default());
    let s = TestServer::start(backend).await;
    let key = user_with_cohere(&s, &fake).await;
    let c = client();

    // OpenAI chat, whole: Cohere's answer and its billed units.
    let whole = post_json(
        &c,
        &s.url("/v1/chat/completions"),
        Some(&key),
        &json!({ "model": MODEL, "max_tokens": 100, "top_p": 0.5, "stop": ["NEVER"],
                 "messages": [{ "role": "system", "content": "Be brief." }, { "role": "user", "content": "Hello" }] }),
    )
    .await;
    assert_eq!(whole.status, 200, "{}", whole.text);
    assert_eq!(whole.header("x-forge-provider"), Some("cohere"));
    assert_eq!(whole.body["choices"][0]["finish_reason"], "stop");
    assert!(
        whole.body["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .len()
            > 5
    );
    assert_eq!(whole.body["model"], "command-a-03-2025");
    let billed_in = whole.body["usage"]["prompt_tokens"].as_u64().unwrap();
    assert!(
        billed_in > 0 && billed_in < 180,
        "billed units, not raw tokens: {}",
        whole.body
    );
    let seen = fake.requests().pop().unwrap();
    assert_eq!(
        (seen.method.as_str(), seen.path.as_str()),
        ("POST", "/v2/chat")
    );
    assert_eq!(
        seen.header("authorization"),
        Some(format!("Bearer {CO_KEY}").as_str())
    );
    assert_eq!(seen.body["model"], "command-a-03-2025");
    assert_eq!(
        (seen.body["p"].as_f64(), seen.body["max_tokens"].as_u64()),
        (Some(0.5), Some(100))
    );
    assert_eq!(seen.body["stop_sequences"], json!(["NEVER"]));
    assert_eq!(
        seen.body["messages"][0],
        json!({ "role": "system", "content": "Be brief." })
    );

    // OpenAI chat, streamed, with a tool call.
    let streamed = read(
        c.post(s.url("/v1/chat/completions"))
            .insert_header(("authorization", format!("Bearer {key}")))
            .send_json(&json!({ "model": MODEL, "stream": true, "stream_options": { "include_usage": true },
                "tools": [weather_tool()], "messages": [{ "role": "user", "content": "What is the weather in Paris?" }] }))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(streamed.status, 200, "{}", streamed.text);
    let chunks: Vec<Value> = streamed
        .text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert!(streamed.text.trim_end().ends_with("data: [DONE]"));
    let call = chunks
        .iter()
        .find_map(|c| c["choices"][0]["delta"]["tool_calls"][0]["function"]["name"].as_str());
    assert_eq!(call, Some("get_weather"));
    let arguments: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&arguments).unwrap(),
        json!({ "city": "Paris" })
    );
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "tool_calls")
    );
    assert!(
        chunks
            .iter()
            .any(|c| c["usage"]["completion_tokens"].as_u64() > Some(0))
    );
    let call_id = chunks
        .iter()
        .find_map(|c| c["choices"][0]["delta"]["tool_calls"][0]["id"].as_str())
        .unwrap()
        .to_owned();

    // The tool's result goes back as Cohere's `tool` message; the answer is text.
    let after = post_json(
        &c,
        &s.url("/v1/chat/completions"),
        Some(&key),
        &json!({ "model": MODEL, "tools": [weather_tool()], "messages": [
            { "role": "user", "content": "What is the weather in Paris?" },
            { "role": "assistant", "content": null, "tool_calls": [{ "id": call_id, "type": "function",
              "function": { "name": "get_weather", "arguments": "{\"city\":\"Paris\"}" } }] },
            { "role": "tool", "tool_call_id": call_id, "content": "18C and sunny" } ] }),
    )
    .await;
    assert_eq!(after.status, 200, "{}", after.text);
    assert_eq!(after.body["choices"][0]["finish_reason"], "stop");
    let seen = fake.requests().pop().unwrap();
    let sent = seen.body["messages"].as_array().unwrap();
    assert_eq!(sent[1]["tool_calls"][0]["id"], call_id.as_str());
    assert_eq!(sent[2]["role"], "tool");
    assert_eq!(sent[2]["tool_call_id"], call_id.as_str());

    // Anthropic's Messages dialect, streamed.
    let messages = read(
        c.post(s.url("/v1/messages"))
            .insert_header(("x-api-key", key.clone()))
            .insert_header(("anthropic-version", "2023-06-01"))
            .send_json(&json!({ "model": MODEL, "max_tokens": 64, "stream": true,
                "messages": [{ "role": "user", "content": "Hi there" }] }))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(messages.status, 200, "{}", messages.text);
    assert!(
        messages.text.contains("event: message_start"),
        "{}",
        messages.text
    );
    assert!(
        messages.text.contains("\"text_delta\""),
        "{}",
        messages.text
    );
    assert!(
        messages.text.contains("event: message_stop"),
        "{}",
        messages.text
    );
    assert_eq!(fake.requests().pop().unwrap().body["stream"], true);

    // Gemini's dialect, whole.
    let gemini = read(
        c.post(s.url("/v1beta/models/cohere%2Fcommand-a-03-2025:generateContent"))
            .insert_header(("x-goog-api-key", key.clone()))
            .send_json(&json!({ "contents": [{ "role": "user", "parts": [{ "text": "Hi" }] }] }))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(gemini.status, 200, "{}", gemini.text);
    assert!(
        gemini.body["candidates"][0]["content"]["parts"][0]["text"]
            .as_str()
            .is_some(),
        "{}",
        gemini.body
    );
    assert!(gemini.body["usageMetadata"]["promptTokenCount"].as_u64() > Some(0));

    // The Responses API, translated like every other non-OpenAI upstream.
    let responses = post_json(
        &c,
        &s.url("/v1/responses"),
        Some(&key),
        &json!({ "model": MODEL, "input": "Hi", "store": false }),
    )
    .await;
    assert_eq!(responses.status, 200, "{}", responses.text);
    assert_eq!(responses.body["status"], "completed", "{}", responses.text);
    assert!(
        responses.body["output"][0]["content"][0]["text"]
            .as_str()
            .is_some(),
        "{}",
        responses.text
    );

    // Cohere's refusal comes back in the client's dialect with its status and message.
    fake.set_fault(
        Fault::Status {
            status: 429,
            body: None,
            retry_after: Some(3),
        },
        FaultMode::Once,
    );
    let limited = post_json(
        &c,
        &s.url("/v1/chat/completions"),
        Some(&key),
        &json!({ "model": MODEL, "messages": [{ "role": "user", "content": "Hello" }] }),
    )
    .await;
    assert_eq!(limited.status, 429, "{}", limited.text);
    assert!(
        limited.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Trial key"),
        "{}",
        limited.text
    );
    assert!(!limited.text.contains(CO_KEY));

    // Usage records: provider `cohere`, Cohere's billed units.
    let records = wait_for(&s, 7).await;
    let ok: Vec<_> = records.iter().filter(|r| r.status == 200).collect();
    assert!(ok.len() >= 6, "{records:?}");
    assert!(
        ok.iter()
            .all(|r| r.provider == "cohere" && r.input_tokens > 0 && r.output_tokens > 0),
        "{ok:?}"
    );
}

#[actix_rt::test]
async fn cohere_serves_every_dialect_on_sqlite() {
    chat_in_every_dialect(Backend::Sqlite).await;
}

#[actix_rt::test]
async fn cohere_serves_every_dialect_on_postgres() {
    chat_in_every_dialect(Backend::Postgres).await;
}

#[actix_rt::test]
async fn a_forge_toml_cohere_provider() {
    let fake = FakeCohere::start(FakeCohereConfig::default());
    let config = format!(
        "[[providers]]\nname = \"co\"\nkind = \"cohere\"\nbase_url = \"{}\"\nkeys = [{{ key = \"{CO_KEY}\" }}]\n\n[[keys]]\nname = \"tests\"\nkey = \"sha256:{}\"\n\n[models.command]\ndeployments = [{{ provider = \"co\", model = \"command-a-03-2025\" }}]\n",
        fake.base_url(),
        key_digest()
    );
    let s = TestServer::start_with_config(&config).await;
    let c = client();
    let reply = post_json(
        &c,
        &s.url("/v1/chat/completions"),
        Some(crate::routing::common::KEY),
        &json!({ "model": "command", "messages": [{ "role": "user", "content": "Hello" }] }),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("x-forge-provider"), Some("co"));
    assert_eq!(fake.requests().pop().unwrap().path, "/v2/chat");
}

#[actix_rt::test]
async fn embeddings_and_rerank_go_to_cohere_s_own_endpoints() {
    let fake = FakeCohere::start(FakeCohereConfig::default());
    let s = TestServer::start(Backend::Sqlite).await;
    let key = user_with_cohere(&s, &fake).await;
    let c = client();

    let floats = post_json(
        &c,
        &s.url("/v1/embeddings"),
        Some(&key),
        &json!({ "model": "cohere/embed-v4.0", "input": ["red apple", "green pear"], "dimensions": 256,
                 "input_type": "search_query" }),
    )
    .await;
    assert_eq!(floats.status, 200, "{}", floats.text);
    assert_eq!(floats.body["object"], "list");
    assert_eq!(floats.body["data"][1]["index"], 1);
    assert_eq!(
        floats.body["data"][0]["embedding"]
            .as_array()
            .unwrap()
            .len(),
        256
    );
    assert!(floats.body["usage"]["prompt_tokens"].as_u64() > Some(0));
    let seen = fake.requests().pop().unwrap();
    assert_eq!(seen.path, "/v2/embed");
    assert_eq!(
        (
            seen.body["texts"].clone(),
            seen.body["input_type"].clone(),
            seen.body["output_dimension"].clone()
        ),
        (
            json!(["red apple", "green pear"]),
            json!("search_query"),
            json!(256)
        )
    );
    assert_eq!(seen.body["embedding_types"], json!(["float"]));

    // The openai SDKs' default: base64 of little-endian f32s, the same numbers.
    let encoded = post_json(
        &c,
        &s.url("/v1/embeddings"),
        Some(&key),
        &json!({ "model": "cohere/embed-v4.0", "input": "red apple", "dimensions": 256,
                 "encoding_format": "base64", "input_type": "search_query" }),
    )
    .await;
    assert_eq!(encoded.status, 200, "{}", encoded.text);
    let b64 = encoded.body["data"][0]["embedding"].as_str().unwrap();
    // 256 floats of 4 bytes: 1,024 bytes, 1,368 base64 characters.
    assert_eq!(b64.len(), 1368, "{b64}");
    assert_eq!(
        fake.requests().pop().unwrap().body["input_type"],
        "search_query"
    );
    let default_type = post_json(
        &c,
        &s.url("/v1/embeddings"),
        Some(&key),
        &json!({ "model": "cohere/embed-v4.0", "input": "x" }),
    )
    .await;
    assert_eq!(default_type.status, 200, "{}", default_type.text);
    assert_eq!(
        fake.requests().pop().unwrap().body["input_type"],
        "search_document"
    );
    let tokens = post_json(
        &c,
        &s.url("/v1/embeddings"),
        Some(&key),
        &json!({ "model": "cohere/embed-v4.0", "input": [[1, 2, 3]] }),
    )
    .await;
    assert_eq!(tokens.status, 400, "{}", tokens.text);

    let ranked = post_json(
        &c,
        &s.url("/v1/rerank"),
        Some(&key),
        &json!({ "model": "cohere/rerank-v3.5", "query": "red apple",
                 "documents": ["a green pear", "a red apple", "red wine"], "top_n": 2 }),
    )
    .await;
    assert_eq!(ranked.status, 200, "{}", ranked.text);
    let order: Vec<u64> = ranked.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["index"].as_u64().unwrap())
        .collect();
    assert_eq!(order, [1, 2]);
    let seen = fake.requests().pop().unwrap();
    assert_eq!(
        (seen.path.as_str(), seen.body["model"].as_str()),
        ("/v2/rerank", Some("rerank-v3.5"))
    );

    let records = wait_for(&s, 5).await;
    let embed = records
        .iter()
        .find(|r| r.endpoint == "embeddings" && r.status == 200)
        .unwrap();
    assert!(embed.input_tokens > 0 && !embed.estimated, "{embed:?}");
    let rerank = records.iter().find(|r| r.endpoint == "rerank").unwrap();
    assert_eq!(rerank.price_source, "tokens_unknown", "{rerank:?}");
}
