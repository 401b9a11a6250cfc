//! `add-key`, `list-keys`, `update-key`, `delete-key`: the user's provider keys
//! (`/v1/provider-keys/`), addressed by provider name. The server returns them masked; the CLI
//! prints only what it returns.

use awc::http::Method;
use clap::Args;
use serde_json::{Map, Value, json};

use super::{Ctx, list_table, show};
use crate::client::{ADMIN_TIMEOUT, Auth, path_segment};
use crate::error::CliError;
use crate::{output, say};

#[derive(Args, Clone, Default)]
pub struct AddKeyArgs {
    /// Provider name, e.g. openai, groq, openrouter (any other name needs --base-url).
    #[arg(long)]
    pub provider: String,
    /// The provider's secret; asked for without echo when left out (not for `mock`).
    #[arg(long)]
    pub api_key: Option<String>,
    /// Upstream base URL; the provider's default when left out.
    #[arg(long)]
    pub base_url: Option<String>,
    /// JSON object of alias -> upstream model, e.g. '{"fast":"gpt-4o-mini"}'.
    #[arg(long, value_name = "JSON")]
    pub model_mapping: Option<String>,
    /// JSON object of provider settings, e.g. '{"api_version":"2024-02-01"}'.
    #[arg(long, value_name = "JSON")]
    pub config: Option<String>,
}

#[derive(Args, Clone, Default)]
pub struct UpdateKeyArgs {
    #[arg(long)]
    pub provider: String,
    #[arg(long)]
    pub api_key: Option<String>,
    /// `""` goes back to the provider's default.
    #[arg(long)]
    pub base_url: Option<String>,
    /// JSON object, or `null` to clear the mapping.
    #[arg(long, value_name = "JSON")]
    pub model_mapping: Option<String>,
    #[arg(long, value_name = "JSON")]
    pub config: Option<String>,
}

#[derive(Args, Clone, Default)]
pub struct ProviderArg {
    #[arg(long)]
    pub provider: String,
}

pub async fn add(ctx: &mut Ctx, args: AddKeyArgs) -> Result<(), CliError> {
    let api_key = match args.api_key {
        Some(key) => key,
        // The built-in mock provider needs no secret; the server still stores one.
        None if args.provider.trim().eq_ignore_ascii_case("mock") => "mock".to_owned(),
        None => ctx.prompter.secret("Provider API key")?,
    };
    if args.provider.trim().is_empty() {
        return Err(CliError::Usage("--provider must not be empty".into()));
    }
    if api_key.is_empty() {
        return Err(CliError::Usage(
            "the provider API key must not be empty".into(),
        ));
    }
    let mut body = Map::new();
    body.insert("provider_name".into(), json!(args.provider));
    body.insert("api_key".into(), json!(api_key));
    if let Some(base_url) = args.base_url {
        body.insert("base_url".into(), json!(base_url));
    }
    if let Some(mapping) = args.model_mapping {
        body.insert(
            "model_mapping".into(),
            parse_object("--model-mapping", &mapping)?,
        );
    }
    if let Some(config) = args.config {
        body.insert("config".into(), parse_object("--config", &config)?);
    }
    let jwt = ctx.jwt()?;
    let key = ctx
        .client
        .call(
            Method::POST,
            "/v1/provider-keys/",
            Auth::Jwt(&jwt),
            Some(&Value::Object(body)),
            ADMIN_TIMEOUT,
        )
        .await?;
    if ctx.json {
        return output::json(&key);
    }
    say!(
        "Added provider key {} (id {}): {}, base URL {}.",
        show(&key, "provider_name"),
        show(&key, "id"),
        show(&key, "api_key"),
        show(&key, "base_url")
    );
    Ok(())
}

pub async fn list(ctx: &mut Ctx) -> Result<(), CliError> {
    list_table(
        ctx,
        "/v1/provider-keys/",
        "the provider key list",
        "No provider keys. Add one with `forge-cli add-key --provider NAME --api-key KEY`.",
        &[
            ("ID", "id"),
            ("PROVIDER", "provider_name"),
            ("API KEY", "api_key"),
            ("BASE URL", "base_url"),
            ("MODEL MAPPING", "model_mapping"),
        ],
    )
    .await
}

pub async fn update(ctx: &mut Ctx, args: UpdateKeyArgs) -> Result<(), CliError> {
    // Only what was given is sent: the server sets base_url and model_mapping to whatever it
    // receives, so sending a skipped field would clear it.
    let mut body = Map::new();
    if let Some(api_key) = args.api_key {
        body.insert("api_key".into(), json!(api_key));
    }
    if let Some(base_url) = args.base_url {
        body.insert("base_url".into(), json!(base_url));
    }
    if let Some(mapping) = args.model_mapping {
        body.insert(
            "model_mapping".into(),
            parse_object_or_null("--model-mapping", &mapping)?,
        );
    }
    if let Some(config) = args.config {
        body.insert("config".into(), parse_object_or_null("--config", &config)?);
    }
    if body.is_empty() {
        return Err(CliError::Usage(
            "nothing to update: give --api-key, --base-url, --model-mapping or --config".into(),
        ));
    }
    let jwt = ctx.jwt()?;
    let key = ctx
        .client
        .call(
            Method::PUT,
            &format!("/v1/provider-keys/{}", path_segment(&args.provider)),
            Auth::Jwt(&jwt),
            Some(&Value::Object(body)),
            ADMIN_TIMEOUT,
        )
        .await?;
    if ctx.json {
        return output::json(&key);
    }
    say!(
        "Updated provider key {}: {}, base URL {}, model mapping {}.",
        show(&key, "provider_name"),
        show(&key, "api_key"),
        show(&key, "base_url"),
        show(&key, "model_mapping")
    );
    Ok(())
}

pub async fn delete(ctx: &mut Ctx, args: ProviderArg) -> Result<(), CliError> {
    let jwt = ctx.jwt()?;
    let key = ctx
        .client
        .call(
            Method::DELETE,
            &format!("/v1/provider-keys/{}", path_segment(&args.provider)),
            Auth::Jwt(&jwt),
            None,
            ADMIN_TIMEOUT,
        )
        .await?;
    if ctx.json {
        return output::json(&key);
    }
    say!("Deleted provider key {}.", args.provider);
    Ok(())
}

/// A flag's JSON text that must be an object (the server wants string values; it says so itself
/// if they are not).
fn parse_object(flag: &str, text: &str) -> Result<Value, CliError> {
    match serde_json::from_str::<Value>(text) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err(CliError::Usage(format!(
            "{flag} must be a JSON object, like '{{\"alias\":\"model\"}}'"
        ))),
        Err(err) => Err(CliError::Usage(format!("{flag} is not valid JSON: {err}"))),
    }
}

fn parse_object_or_null(flag: &str, text: &str) -> Result<Value, CliError> {
    if text.trim() == "null" {
        Ok(Value::Null)
    } else {
        parse_object(flag, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_flags_must_be_objects() {
        assert!(parse_object("--x", r#"{"a":"b"}"#).is_ok());
        assert!(parse_object("--x", "[1]").is_err());
        assert!(parse_object("--x", "{oops").is_err());
        assert!(parse_object("--x", "null").is_err());
        assert_eq!(
            parse_object_or_null("--x", " null ").ok(),
            Some(Value::Null)
        );
    }
}
