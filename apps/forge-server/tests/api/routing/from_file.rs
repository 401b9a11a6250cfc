//! A server that runs from forge.toml alone: no account, no admin API call.

use serde_json::json;
use sha2::Digest;

use super::common::*;
use crate::harness::{TestServer, client, read};

#[actix_rt::test]
async fn serves_logical_models_aliases_and_fallbacks_with_a_static_key() {
    let primary = openai();
    let claude = anthropic();
    let config = format!(
        r#"default_model = "chat"

[aliases]
fast = "oa:gpt-4o-mini"
sonnet = "claude/claude-sonnet-4-5"

{}{}{}[models.chat]
strategy = "priority"
deployments = [{{ provider = "oa", model = "gpt-4o" }}]
fallbacks = ["chat-backup"]

[models.chat-backup]
deployments = [{{ provider = "claude", model = "claude-sonnet-4-5" }}]

[[keys]]
name = "limited"
key = "sha256:{}"
models = ["fast"]
"#,
        openai_provider("oa", &primary),
        anthropic_provider("claude", &claude),
        static_key(),
        hex::encode(sha2::Sha256::digest(b"limited-key-000111")),
    );
    let server = TestServer::start_with_config(&config).await;
    let c = client();

    // The logical model, passed through to the OpenAI-compatible deployment.
    let reply = chat(&c, &server, &chat_body("chat", false), &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("x-forge-provider"), Some("oa"));
    assert_eq!(reply.header("x-forge-model"), Some("gpt-4o"));
    assert_eq!(attempts(&reply), 1);
    assert!(reply.header("x-forge-route-ms").is_some());
    assert_eq!(primary.last_request().unwrap().body["model"], "gpt-4o");

    // No model: the default model.
    let reply = chat(
        &c,
        &server,
        &json!({"messages": [{"role": "user", "content": "hi"}]}),
        &[],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("x-forge-model"), Some("gpt-4o"));

    // Aliases: `provider:model` and `provider/model` targets.
    let reply = chat(&c, &server, &chat_body("fast", false), &[]).await;
    assert_eq!(reply.header("x-forge-model"), Some("gpt-4o-mini"));
    let reply = chat(&c, &server, &chat_body("sonnet", false), &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("x-forge-provider"), Some("claude"));
    assert!(answer_text(&reply).contains("claude-sonnet-4-5"));

    // The primary fails: the fallback model answers, translated from Anthropic.
    primary.set_fault(
        forge_testkit::Fault::status(503),
        forge_testkit::FaultMode::Always,
    );
    let reply = chat(&c, &server, &chat_body("chat", false), &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("x-forge-provider"), Some("claude"));
    assert_eq!(attempts(&reply), 2);
    assert!(answer_text(&reply).contains("claude-sonnet-4-5"));
    primary.clear_fault();

    // The Anthropic dialect reaches the same logical model.
    let reply = read(
        c.post(server.url("/v1/messages"))
            .insert_header(("x-api-key", KEY))
            .insert_header(("anthropic-version", "2023-06-01"))
            .send_json(&json!({
                "model": "sonnet",
                "max_tokens": 64,
                "messages": [{"role": "user", "content": "hi"}],
            }))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["type"], "message");

    // Unknown models are 404 in the client's dialect; wrong keys 401.
    let reply = chat(&c, &server, &chat_body("nope", false), &[]).await;
    assert_eq!(reply.status, 404, "{}", reply.text);
    assert!(reply.body["error"]["message"].is_string());
    let reply = read(
        c.post(server.url("/v1/chat/completions"))
            .insert_header(("authorization", "Bearer not-a-configured-key"))
            .send_json(&chat_body("chat", false))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, 401);

    // A key limited to some models gets 403 for the others, by name or by what they resolve to.
    let limited = |model: &'static str| {
        let c = c.clone();
        let url = server.url("/v1/chat/completions");
        async move {
            read(
                c.post(url)
                    .insert_header(("authorization", "Bearer limited-key-000111"))
                    .send_json(&chat_body(model, false))
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    assert_eq!(limited("fast").await.status, 200);
    assert_eq!(limited("oa/gpt-4o-mini").await.status, 200);
    assert_eq!(limited("chat").await.status, 403);

    // /v1/models lists what each key may use.
    let ids = |bearer: &'static str| {
        let c = c.clone();
        let url = server.url("/v1/models");
        async move {
            let reply = read(
                c.get(url)
                    .insert_header(("authorization", format!("Bearer {bearer}")))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(reply.status, 200, "{}", reply.text);
            let mut ids: Vec<String> = reply.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_str().unwrap().to_owned())
                .collect();
            ids.sort();
            ids
        }
    };
    let all = ids(KEY).await;
    for expected in [
        "chat",
        "chat-backup",
        "fast",
        "sonnet",
        "oa/gpt-4o",
        "claude/claude-sonnet-4-5",
    ] {
        assert!(
            all.iter().any(|id| id == expected),
            "{expected} missing from {all:?}"
        );
    }
    assert_eq!(ids("limited-key-000111").await, ["fast", "oa/gpt-4o-mini"]);
}

#[actix_rt::test]
async fn check_config_validates_a_file_and_names_the_line() {
    let exe = env!("CARGO_BIN_EXE_forge-server");
    let dir = std::env::temp_dir().join(format!("forge-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.toml");
    std::fs::write(
        &good,
        "[[providers]]\nname = \"oa\"\nkind = \"openai-compatible\"\nbase_url = \"https://api.example.com/v1\"\nkeys = [{ key = \"sk-x\" }]\n\n[models.m]\ndeployments = [{ provider = \"oa\", model = \"x\" }]\n",
    )
    .unwrap();
    let out = std::process::Command::new(exe)
        .args(["check-config", good.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok (1 providers, 1 models"));

    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "[[providers]]\nname = \"oa\"\nkind = \"openai-compatible\"\nbase_url = \"https://api.example.com/v1\"\nkeys = [{ key = \"sk-secret-value\" }]\n\n[models.m]\nstrategy = \"fastest\"\ndeployments = [{ provider = \"oa\", model = \"x\" }]\n",
    )
    .unwrap();
    let out = std::process::Command::new(exe)
        .args(["check-config", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 8"), "{stderr}");
    assert!(stderr.contains("strategy"), "{stderr}");
    assert!(!stderr.contains("sk-secret-value"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
