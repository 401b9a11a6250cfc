#![allow(clippy::unwrap_used)]

mod common;

use common::{config, table};
use forge_router::RoutingTable;
use forge_router::strategy::Strategy;

const EXAMPLE: &str = include_str!("../examples/forge.toml");

#[test]
fn keys_are_deployments_and_weights_multiply() {
    let table = table(EXAMPLE);
    let chat = table.resolve("chat").unwrap();
    assert_eq!(chat.strategy, Strategy::Weighted);
    let ids: Vec<_> = chat
        .targets
        .iter()
        .map(|t| table.deployment(t.deployment).unwrap().id.as_str())
        .collect();
    assert_eq!(
        ids,
        ["openai/gpt-4o#0", "openai/gpt-4o#1", "azure-eu/gpt-4o#0"]
    );
    let weights: Vec<_> = chat.targets.iter().map(|t| t.weight).collect();
    assert_eq!(weights, [6, 3, 1]);
    let azure = table.deployment_by_id("azure-eu/gpt-4o#0").unwrap().1;
    assert_eq!(azure.api_version.as_deref(), Some("2024-10-21"));
    assert_eq!(azure.api_key.expose(), "secret-value-of-AZURE_EU_KEY");
    assert_eq!(chat.retry.retries, 1);
    assert_eq!(
        chat.retry.deadline,
        Some(std::time::Duration::from_secs(60))
    );
    assert_eq!(chat.fallbacks, ["chat-small"]);
}

#[test]
fn one_deployment_per_provider_model_key_across_routes() {
    let table = table(EXAMPLE);
    // chat-small and the gpt-4o-mini alias share openai/gpt-4o-mini deployments.
    let small = table.resolve("chat-small").unwrap();
    let alias = table.resolve("gpt-4o-mini").unwrap();
    assert_eq!(small.targets[0].deployment, alias.targets[0].deployment);
    let mut ids: Vec<_> = table.deployments().iter().map(|d| d.id.clone()).collect();
    let total = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), total);
}

#[test]
fn alias_and_qualified_forms_resolve() {
    let table = table(EXAMPLE);
    assert_eq!(table.resolve("my-fast-model").unwrap().name, "chat-small");
    assert_eq!(
        table.resolve("gpt-4o-mini").unwrap().name,
        "openai/gpt-4o-mini"
    );
    assert_eq!(
        table.resolve("groq:llama3").unwrap().name,
        "groq/llama-3.1-8b-instant"
    );
    // provider:model and provider/model reach the same route for any pair a route uses.
    assert_eq!(
        table.resolve("openai:gpt-4o").unwrap().name,
        "openai/gpt-4o"
    );
    assert_eq!(
        table.resolve("openai/gpt-4o").unwrap().name,
        "openai/gpt-4o"
    );
    let direct = table.resolve("openai/gpt-4o").unwrap();
    assert_eq!(direct.targets.len(), 2, "one target per key");
    assert!(table.resolve("nope").is_none());
    assert!(table.resolve("ghost:gpt-4o").is_none());
    assert!(table.resolve("openai:").is_none());
    assert_eq!(table.default_route().unwrap().name, "chat");
}

#[test]
fn static_keys_limit_models() {
    let table = table(EXAMPLE);
    let ci = table
        .gateway_key("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
        .unwrap();
    assert_eq!(ci.name, "ci");
    assert!(table.key_allows(ci, "chat-small"));
    assert!(table.key_allows(ci, "my-fast-model"));
    assert!(!table.key_allows(ci, "chat"));
    assert!(!table.key_allows(ci, "unknown"));
    let ops = &table.gateway_key(&config(EXAMPLE).keys[1].digest).unwrap();
    assert!(table.key_allows(ops, "chat"));
    assert!(table.gateway_key("00").is_none());
}

#[test]
fn empty_config_has_no_routes() {
    let table = RoutingTable::from_config(&config(""));
    assert!(table.routes().next().is_none());
    assert!(table.default_route().is_none());
}

#[test]
fn responses_mode_reaches_the_deployment() {
    let table = table(
        r#"
[[providers]]
name = "deepseek"
kind = "openai-compatible"
base_url = "https://api.deepseek.com"
responses = "translate"
keys = [{ key = "k" }]

[[providers]]
name = "vllm"
kind = "openai-compatible"
base_url = "https://vllm.internal/v1"
responses = "native"
keys = [{ key = "k" }]

[models.chat]
deployments = [{ provider = "deepseek", model = "deepseek-chat" }, { provider = "vllm", model = "qwen" }]
"#,
    );
    let mode = |id: &str| table.deployment_by_id(id).unwrap().1.responses;
    assert_eq!(
        mode("deepseek/deepseek-chat#0"),
        Some(forge_router::config::ResponsesMode::Translate)
    );
    assert_eq!(
        mode("vllm/qwen#0"),
        Some(forge_router::config::ResponsesMode::Native)
    );
    let bad = r#"
[[providers]]
name = "x"
kind = "openai-compatible"
base_url = "https://x/v1"
responses = "sometimes"
keys = [{ key = "k" }]
"#;
    assert!(forge_router::Config::parse(bad, &common::fake_env).is_err());
}
