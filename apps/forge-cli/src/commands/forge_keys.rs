//! `keys ...`: the user's Forge API keys (`/v1/api-keys/`). The full key is printed only on create
//! and regenerate, the only times the server has it.

use awc::http::Method;
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use super::{Ctx, list_table, show};
use crate::client::{ADMIN_TIMEOUT, Auth};
use crate::error::CliError;
use crate::{output, say};

#[derive(Subcommand, Clone)]
pub enum KeysCommand {
    /// Create a Forge API key (printed once, and remembered for `test` and `models`).
    Create(CreateArgs),
    /// List your Forge API keys (masked).
    List,
    /// Change a key's name, active flag or provider-key scope.
    Update(UpdateArgs),
    /// Delete a key; it stops working at once.
    Delete(IdArg),
    /// Replace a key's secret, keeping its id, name and scope.
    Regenerate(IdArg),
    /// Show or set a key's limits and budgets (never looser than your account's).
    Limits(super::limits::KeyLimitsArgs),
}

#[derive(Args, Clone, Default)]
pub struct CreateArgs {
    #[arg(long)]
    pub name: Option<String>,
    /// Restrict the key to these provider keys (ids from `list-keys`); repeatable.
    #[arg(long = "allow-provider-key-id", value_name = "ID", num_args = 1.., conflicts_with = "no_providers")]
    pub allow: Vec<i64>,
    /// Allow no provider at all (the key is unusable until updated).
    #[arg(long)]
    pub no_providers: bool,
}

#[derive(Args, Clone, Default)]
pub struct UpdateArgs {
    pub id: i64,
    /// New name; `--name ""` clears it.
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long, value_name = "true|false")]
    pub active: Option<bool>,
    /// Replace the scope with these provider keys; repeatable.
    #[arg(long = "allow-provider-key-id", value_name = "ID", num_args = 1.., conflicts_with = "no_providers")]
    pub allow: Vec<i64>,
    /// Empty the scope: allow no provider.
    #[arg(long)]
    pub no_providers: bool,
}

#[derive(Args, Clone, Default)]
pub struct IdArg {
    pub id: i64,
}

/// `None`: leave the scope alone (on create: unrestricted); `Some([])`: no provider.
fn scope(allow: &[i64], no_providers: bool) -> Option<Vec<i64>> {
    if no_providers {
        Some(Vec::new())
    } else if allow.is_empty() {
        None
    } else {
        Some(allow.to_vec())
    }
}

pub async fn run(ctx: &mut Ctx, command: KeysCommand) -> Result<(), CliError> {
    match command {
        KeysCommand::Create(args) => create(ctx, args).await,
        KeysCommand::List => list(ctx).await,
        KeysCommand::Update(args) => update(ctx, args).await,
        KeysCommand::Delete(IdArg { id }) => delete(ctx, id).await,
        KeysCommand::Regenerate(IdArg { id }) => regenerate(ctx, id).await,
        KeysCommand::Limits(args) => super::limits::key_limits(ctx, args).await,
    }
}

pub async fn create(ctx: &mut Ctx, args: CreateArgs) -> Result<(), CliError> {
    let jwt = ctx.jwt()?;
    let mut body = Map::new();
    if let Some(name) = args.name {
        body.insert("name".into(), json!(name));
    }
    if let Some(ids) = scope(&args.allow, args.no_providers) {
        body.insert("allowed_provider_key_ids".into(), json!(ids));
    }
    let key = ctx
        .client
        .call(
            Method::POST,
            "/v1/api-keys/",
            Auth::Jwt(&jwt),
            Some(&Value::Object(body)),
            ADMIN_TIMEOUT,
        )
        .await?;
    let secret = full_key(&key)?;
    ctx.config.session.forge_key = Some(secret.clone());
    ctx.config.session.forge_key_id = key.get("id").and_then(Value::as_i64);
    ctx.config.save()?;
    if ctx.json {
        return output::json(&key);
    }
    say!(
        "Created Forge API key {} (name: {}).",
        show(&key, "id"),
        show(&key, "name")
    );
    say!("{secret}");
    say!("Copy it now: it is not shown again. forge-cli will use it for `test` and `models`.");
    Ok(())
}

pub async fn list(ctx: &mut Ctx) -> Result<(), CliError> {
    list_table(
        ctx,
        "/v1/api-keys/",
        "the key list",
        "No Forge API keys. Create one with `forge-cli keys create`.",
        &[
            ("ID", "id"),
            ("NAME", "name"),
            ("KEY", "key"),
            ("ACTIVE", "is_active"),
            ("CREATED", "created_at"),
            ("LAST USED", "last_used_at"),
            ("PROVIDER KEY IDS", "allowed_provider_key_ids"),
        ],
    )
    .await
}

pub async fn update(ctx: &mut Ctx, args: UpdateArgs) -> Result<(), CliError> {
    let mut body = Map::new();
    if let Some(name) = args.name {
        body.insert("name".into(), json!(name));
    }
    if let Some(active) = args.active {
        body.insert("is_active".into(), json!(active));
    }
    if let Some(ids) = scope(&args.allow, args.no_providers) {
        body.insert("allowed_provider_key_ids".into(), json!(ids));
    }
    if body.is_empty() {
        return Err(CliError::Usage(
            "nothing to update: give --name, --active, --allow-provider-key-id or --no-providers"
                .into(),
        ));
    }
    let jwt = ctx.jwt()?;
    let key = ctx
        .client
        .call(
            Method::PUT,
            &format!("/v1/api-keys/{}", args.id),
            Auth::Jwt(&jwt),
            Some(&Value::Object(body)),
            ADMIN_TIMEOUT,
        )
        .await?;
    if ctx.json {
        return output::json(&key);
    }
    say!(
        "Updated Forge API key {}: name {}, active {}, provider key ids {}.",
        show(&key, "id"),
        show(&key, "name"),
        show(&key, "is_active"),
        show(&key, "allowed_provider_key_ids")
    );
    Ok(())
}

pub async fn delete(ctx: &mut Ctx, id: i64) -> Result<(), CliError> {
    let jwt = ctx.jwt()?;
    let key = ctx
        .client
        .call(
            Method::DELETE,
            &format!("/v1/api-keys/{id}"),
            Auth::Jwt(&jwt),
            None,
            ADMIN_TIMEOUT,
        )
        .await?;
    if ctx.config.session.forge_key_id == Some(id) {
        ctx.config.session.forge_key = None;
        ctx.config.session.forge_key_id = None;
        ctx.config.save()?;
    }
    if ctx.json {
        return output::json(&key);
    }
    say!("Deleted Forge API key {id}.");
    Ok(())
}

pub async fn regenerate(ctx: &mut Ctx, id: i64) -> Result<(), CliError> {
    let jwt = ctx.jwt()?;
    let key = ctx
        .client
        .call(
            Method::POST,
            &format!("/v1/api-keys/{id}/regenerate"),
            Auth::Jwt(&jwt),
            None,
            ADMIN_TIMEOUT,
        )
        .await?;
    let secret = full_key(&key)?;
    if ctx.config.session.forge_key_id == Some(id) {
        ctx.config.session.forge_key = Some(secret.clone());
        ctx.config.save()?;
    }
    if ctx.json {
        return output::json(&key);
    }
    say!("Regenerated Forge API key {id}; the old secret no longer works.");
    say!("{secret}");
    say!("Copy it now: it is not shown again.");
    Ok(())
}

fn full_key(key: &Value) -> Result<String, CliError> {
    key.get("key")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .ok_or_else(|| CliError::BadResponse("the answer has no `key`".into()))
}
