//! A request shaped like Claude Code's (system as text blocks with `cache_control`, many
//! tools, `tool_use`/`tool_result` history, signed thinking, `anthropic-beta`, streaming)
//! through an OpenAI-compatible upstream and through Anthropic, where it passes through with
//! only `model` changed, byte for byte.

use forge_testkit::FAKE_THINKING;
use serde_json::{Value, json};

use super::client::{In, sse};
use super::fixture::{Fixture, Up};
use super::spec::reply;
use crate::harness::{Reply, read};

const BETA: &str =
    "claude-code-20250219,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14";
const SIGNATURE: &str = "EqQBCkYIBxgCKkDcl0claude0code0signature0kept0as0is==";

fn tool(name: &str, props: Value) -> Value {
    json!({"name": name, "description": format!("The {name} tool."),
        "input_schema": {"type": "object", "properties": props, "required": [], "additionalProperties": false,
            "$schema": "http://json-schema.org/draft-07/schema#"}})
}

fn claude_code_request(model: &str) -> Value {
    let mut tools: Vec<Value> = [
        ("Bash", json!({"command": {"type": "string"}, "timeout": {"type": "number"}})),
        ("Glob", json!({"pattern": {"type": "string"}})),
        ("Grep", json!({"pattern": {"type": "string"}, "path": {"type": "string"}})),
        ("Read", json!({"file_path": {"type": "string"}, "limit": {"type": "integer"}})),
        ("Edit", json!({"file_path": {"type": "string"}, "old_string": {"type": "string"}, "new_string": {"type": "string"}})),
        ("Write", json!({"file_path": {"type": "string"}, "content": {"type": "string"}})),
        ("TodoWrite", json!({"todos": {"type": "array", "items": {"type": "object"}}})),
        ("WebFetch", json!({"url": {"type": "string"}, "prompt": {"type": "string"}})),
    ]
    .into_iter()
    .map(|(n, p)| tool(n, p))
    .collect();
    tools.last_mut().unwrap()["cache_control"] = json!({"type": "ephemeral"});
    json!({
        "model": model,
        "max_tokens": 32000,
        "stream": true,
        "temperature": 1,
        "metadata": {"user_id": "user_0123_account__session_4567"},
        "system": [
            {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude.", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Working directory: /repo\nIs a git repository: true", "cache_control": {"type": "ephemeral"}}
        ],
        "thinking": {"type": "enabled", "budget_tokens": 4096},
        "tools": tools,
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "List the files in src."}]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "I should run ls on src.", "signature": SIGNATURE},
                {"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "toolu_01ABCDEF", "name": "Bash", "input": {"command": "ls src"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01ABCDEF", "content": [{"type": "text", "text": "main.rs\nlib.rs"}]},
                {"type": "text", "text": "Thanks. Now check the weather in Paris.", "cache_control": {"type": "ephemeral"}}
            ]}
        ]
    })
}

async fn send_raw(fx: &Fixture, body: &str) -> Reply {
    let req = fx
        .client
        .post(fx.server.url("/v1/messages"))
        .insert_header(("x-api-key", fx.key.as_str()))
        .insert_header(("anthropic-version", "2023-06-01"))
        .insert_header(("anthropic-beta", BETA))
        .insert_header(("content-type", "application/json"));
    read(req.send_body(body.to_owned()).await.unwrap()).await
}

#[actix_rt::test]
async fn claude_code_passes_through_to_anthropic() {
    let fx = Fixture::start().await;
    let up = Up::Anthropic;
    let text = serde_json::to_string(&claude_code_request(up.client_model())).unwrap();
    let reply = send_raw(&fx, &text).await;
    let got = In::Anthropic.parse(&reply, true, &[up.upstream_model()]);
    let r = fx.last_received(up);
    let expected = text.replacen(
        &format!("\"model\":\"{}\"", up.client_model()),
        &format!("\"model\":\"{}\"", up.upstream_model()),
        1,
    );
    assert_eq!(r.raw_body, expected, "byte-identical except the model");
    assert_eq!(r.header("anthropic-beta"), Some(BETA));
    assert_eq!(r.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(r.header("x-api-key"), Some(fx.upstream_key(up)));
    // The fake thinks (thinking is on) and calls the first tool ("weather" is asked).
    assert_eq!(got.reasoning, FAKE_THINKING);
    assert_eq!(got.calls.len(), 1, "{got:?}");
    assert_eq!(got.calls[0].name, "Bash");
    assert_eq!(got.finish, "tool_use");
    // Every event went through untouched, signature included.
    assert!(
        sse(&reply.text)
            .iter()
            .any(|e| e.data.contains("signature_delta"))
    );
}

#[actix_rt::test]
async fn claude_code_translates_to_openai() {
    let fx = Fixture::start().await;
    let up = Up::OpenAi;
    let text = serde_json::to_string(&claude_code_request(up.client_model())).unwrap();
    let reply = send_raw(&fx, &text).await;
    let got = In::Anthropic.parse(&reply, true, &[up.client_model(), up.upstream_model()]);
    assert_eq!(got.text, reply_text(up));
    assert_eq!(got.finish, "end_turn");
    let r = fx.last_received(up);
    let b = &r.body;
    assert_eq!(b["model"], up.upstream_model());
    assert_eq!(b["stream"], true);
    assert!(
        r.header("anthropic-beta").is_none(),
        "Anthropic-only header"
    );
    assert!(!r.raw_body.contains("cache_control"), "{b}");
    let messages = b["messages"].as_array().unwrap();
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        ["system", "user", "assistant", "tool", "user"],
        "{b}"
    );
    let system = serde_json::to_string(&messages[0]["content"]).unwrap();
    assert!(system.contains("Claude Code") && system.contains("Working directory"));
    let assistant = &messages[2];
    assert_eq!(assistant["tool_calls"][0]["id"], "toolu_01ABCDEF");
    assert_eq!(assistant["tool_calls"][0]["function"]["name"], "Bash");
    let args: Value = serde_json::from_str(
        assistant["tool_calls"][0]["function"]["arguments"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(args, json!({"command": "ls src"}));
    assert_eq!(messages[3]["tool_call_id"], "toolu_01ABCDEF");
    assert!(messages[3]["content"].to_string().contains("main.rs"));
    assert!(
        messages[4]["content"]
            .to_string()
            .contains("weather in Paris")
    );
    let tools = b["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 8);
    assert_eq!(tools[0]["function"]["name"], "Bash");
    // Thinking was asked, but gpt-4o-mini refuses reasoning_effort: it is left out.
    assert!(b.get("reasoning_effort").is_none(), "{b}");
    assert_eq!(b["user"], "user_0123_account__session_4567");
}

fn reply_text(up: Up) -> String {
    reply(up.upstream_model())
}
