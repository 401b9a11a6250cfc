#![allow(clippy::unwrap_used)]

mod common;

use common::{config, fake_env, no_env};
use forge_router::config::{ProviderKind, Registration};
use forge_router::strategy::Strategy;
use forge_router::{Config, ConfigError};

const EXAMPLE: &str = include_str!("../examples/forge.toml");

fn err(text: &str) -> ConfigError {
    Config::parse(text, &fake_env).unwrap_err()
}

const PROVIDER: &str = r#"
[[providers]]
name = "openai"
kind = "openai-compatible"
base_url = "https://api.openai.com/v1"
keys = [{ key = "sk-literal" }]
"#;

#[test]
fn example_file_parses_and_resolves_env() {
    let config = config(EXAMPLE);
    assert_eq!(config.default_model.as_deref(), Some("chat"));
    assert_eq!(config.server.registration, Some(Registration::Closed));
    assert_eq!(config.server.bind.unwrap().port(), 8000);
    let openai = config.provider("openai").unwrap();
    assert_eq!(openai.keys.len(), 2);
    assert_eq!(openai.keys[0].key.expose(), "secret-value-of-OPENAI_KEY_1");
    assert_eq!(openai.keys[0].weight, 2);
    assert_eq!(
        config.provider("azure-eu").unwrap().kind,
        ProviderKind::Azure
    );
    assert_eq!(config.models["chat"].strategy, Strategy::Weighted);
    assert_eq!(config.models["chat"].fallbacks, ["chat-small"]);
    assert_eq!(config.models["chat-small"].strategy, Strategy::LeastLatency);
    assert_eq!(config.aliases["groq:llama3"], "groq/llama-3.1-8b-instant");
    assert_eq!(
        config.keys[0].digest,
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    );
    // env: keys are stored as the digest of the variable's value.
    assert_eq!(config.keys[1].digest.len(), 64);
    assert_ne!(config.keys[1].digest, config.keys[0].digest);
}

#[test]
fn secrets_stay_out_of_debug_and_errors() {
    let config = config(EXAMPLE);
    let debug = format!("{config:?}");
    assert!(!debug.contains("secret-value-of"), "{debug}");
    let e = Config::parse(EXAMPLE, &|var| {
        (var != "GROQ_API_KEY").then(|| "v".to_owned())
    })
    .unwrap_err();
    assert_eq!(e.issues.len(), 1, "{e}");
    assert_eq!(e.issues[0].path, "providers[2].keys[0].key");
    assert!(e.issues[0].message.contains("GROQ_API_KEY"));
    assert_eq!(e.issues[0].line, Some(50), "{e}");
}

#[test]
fn unknown_field_names_line_and_path() {
    let text = format!(
        "{PROVIDER}\n[models.m]\ndeployments = [{{ provider = \"openai\", model = \"x\", wieght = 2 }}]\n"
    );
    let e = err(&text);
    let issue = &e.issues[0];
    assert_eq!(issue.line, Some(9), "{e}");
    assert!(issue.path.starts_with("models.m.deployments"), "{e}");
    assert!(issue.message.contains("wieght"), "{e}");
    let e = err("[server]\nbnd = \"x\"\n");
    assert_eq!(e.issues[0].line, Some(2), "{e}");
    assert!(e.to_string().contains("bnd"), "{e}");
}

#[test]
fn syntax_and_type_errors_have_lines() {
    let e = err("[server\n");
    assert_eq!(e.issues[0].line, Some(1), "{e}");
    let e = err("[server]\nmax_body_bytes = \"big\"\n");
    assert_eq!(e.issues[0].path, "server.max_body_bytes", "{e}");
    assert_eq!(e.issues[0].line, Some(2), "{e}");
    let e = err("[models.m]\nstrategy = \"fastest\"\ndeployments = []\n");
    assert_eq!(e.issues[0].path, "models.m.strategy", "{e}");
}

#[test]
fn semantic_errors_name_field_and_line() {
    let text = format!(
        "{PROVIDER}\n[models.m]\nfallbacks = [\"nope\"]\ndeployments = [{{ provider = \"ghost\", model = \"x\" }}]\n"
    );
    let e = err(&text);
    let paths: Vec<_> = e.issues.iter().map(|i| (i.path.as_str(), i.line)).collect();
    assert!(
        paths.contains(&("models.m.deployments[0].provider", Some(10))),
        "{e}"
    );
    assert!(paths.contains(&("models.m.fallbacks[0]", Some(9))), "{e}");
}

#[test]
fn whole_file_validation() {
    let two = |name: &str| {
        format!(
            "[[providers]]\nname = \"{name}\"\nkind = \"anthropic\"\nkeys = [{{ key = \"k\" }}]\n"
        )
    };
    let e = err(&format!("{}{}", two("p"), two("p")));
    assert!(e.to_string().contains("duplicate provider `p`"), "{e}");

    let e = err(&format!(
        "{PROVIDER}\n[models.m]\ndeployments = [{{ provider = \"openai\", model = \"x\", weight = 0 }}]\n"
    ));
    assert!(
        e.issues
            .iter()
            .any(|i| i.path == "models.m.deployments[0].weight"),
        "{e}"
    );

    let e = err(&format!("{PROVIDER}\n[models.m]\ndeployments = []\n"));
    assert!(
        e.issues.iter().any(|i| i.path == "models.m.deployments"),
        "{e}"
    );

    let e = err(
        "[[providers]]\nname = \"az\"\nkind = \"azure\"\nbase_url = \"https://x\"\nkeys = [{ key = \"k\" }]\n",
    );
    assert!(
        e.issues
            .iter()
            .any(|i| i.path == "providers[0].api_version"),
        "{e}"
    );

    let e = err(
        "[[providers]]\nname = \"o\"\nkind = \"openai-compatible\"\nkeys = [{ key = \"k\" }]\n",
    );
    assert!(
        e.issues.iter().any(|i| i.path == "providers[0].base_url"),
        "{e}"
    );

    let e = err(
        "[[providers]]\nname = \"a:b\"\nkind = \"gemini\"\nkeys = [{ key = \"k\", weight = 0 }]\n",
    );
    assert!(
        e.issues.iter().any(|i| i.path == "providers[0].name"),
        "{e}"
    );
    assert!(
        e.issues
            .iter()
            .any(|i| i.path == "providers[0].keys[0].weight"),
        "{e}"
    );

    let e = err(&format!(
        "{PROVIDER}\n[models.m]\nmax_ejected_share = 1.5\nmax_attempts = 0\ndeployments = [{{ provider = \"openai\", model = \"x\" }}]\n"
    ));
    assert_eq!(e.issues.len(), 2, "{e}");

    let e = err("[routing]\nsession_header = \"bad header\"\n[routing.cooldown]\nfailures = 0\n");
    assert_eq!(e.issues.len(), 2, "{e}");
}

#[test]
fn fallback_cycles_are_rejected() {
    let model = |name: &str, fallback: &str| {
        format!(
            "[models.{name}]\nfallbacks = [\"{fallback}\"]\ndeployments = [{{ provider = \"openai\", model = \"x\" }}]\n"
        )
    };
    let text = format!(
        "{PROVIDER}{}{}{}",
        model("a", "b"),
        model("b", "c"),
        model("c", "a")
    );
    let e = err(&text);
    assert!(
        e.to_string().contains("fallback cycle: a -> b -> c -> a"),
        "{e}"
    );
    let e = err(&format!("{PROVIDER}{}", model("a", "a")));
    assert!(e.to_string().contains("itself"), "{e}");
    // A chain without a cycle is fine.
    let text = format!(
        "{PROVIDER}{}{}[models.c]\ndeployments = [{{ provider = \"openai\", model = \"x\" }}]\n",
        model("a", "b"),
        model("b", "c")
    );
    config(&text);
}

#[test]
fn aliases_defaults_and_keys_must_resolve() {
    let base = format!(
        "{PROVIDER}\n[models.m]\ndeployments = [{{ provider = \"openai\", model = \"x\" }}]\n"
    );
    config(&format!(
        "default_model = \"openai:gpt-4o\"\n{base}[aliases]\nfast = \"m\"\n\"openai:cheap\" = \"openai/gpt-4o-mini\"\n"
    ));
    let e = err(&format!("default_model = \"nope\"\n{base}"));
    assert_eq!(e.issues[0].path, "default_model", "{e}");
    assert_eq!(e.issues[0].line, Some(1), "{e}");
    let e = err(&format!(
        "{base}[aliases]\nfast = \"ghost:x\"\nfaster = \"fast\"\n\"m\" = \"m\"\n"
    ));
    let text = e.to_string();
    assert!(text.contains("unknown provider `ghost`"), "{text}");
    assert!(text.contains("`fast` is itself an alias"), "{text}");
    assert!(text.contains("also declared as an alias"), "{text}");
    let e = err(&format!(
        "{base}[[keys]]\nname = \"k\"\nkey = \"plaintext\"\n"
    ));
    assert_eq!(e.issues[0].path, "keys[0].key", "{e}");
    assert!(!e.to_string().contains("plaintext"), "{e}");
    let e = err(&format!(
        "{base}[[keys]]\nname = \"k\"\nkey = \"sha256:abc\"\nmodels = [\"zzz\"]\n"
    ));
    assert_eq!(e.issues.len(), 2, "{e}");
    let e = Config::parse(
        &format!("{base}[[keys]]\nname = \"k\"\nkey = \"env:NOPE\"\n"),
        &no_env,
    )
    .unwrap_err();
    assert!(e.to_string().contains("NOPE is not set"), "{e}");
}

#[test]
fn dotted_names_still_get_lines() {
    let text = format!("{PROVIDER}\n[aliases]\n\"gpt-4.1\" = \"ghost\"\n");
    let e = err(&text);
    assert_eq!(e.issues[0].path, "aliases.\"gpt-4.1\"", "{e}");
    assert_eq!(e.issues[0].line, Some(9), "{e}");
}

#[test]
fn empty_file_is_a_valid_config() {
    let config = config("");
    assert!(config.providers.is_empty());
    assert_eq!(config.routing.session_header, "x-session-id");
}
