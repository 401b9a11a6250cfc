//! One module per group of subcommands. Each command takes its clap `Args` struct, so the
//! interactive menu builds the same structs from prompts and runs the same code.

pub mod auth;
pub mod chat;
pub mod forge_keys;
pub mod limits;
pub mod logs;
pub mod provider_keys;
pub mod routing;
pub mod usage;

use awc::http::Method;
use serde_json::Value;

use crate::client::{ADMIN_TIMEOUT, Auth, ForgeClient};
use crate::config::ConfigStore;
use crate::error::CliError;
use crate::prompt::Prompter;
use crate::{output, say};

/// Everything a command needs: where the server is, the stored session, and how to answer.
pub struct Ctx {
    pub client: ForgeClient,
    pub config: ConfigStore,
    /// `--json`: print the server's JSON instead of sentences.
    pub json: bool,
    /// `--forge-key` / `FORGE_API_KEY`, which wins over the remembered key.
    pub forge_key_flag: Option<String>,
    pub prompter: Prompter,
}

impl Ctx {
    pub fn server(&self) -> String {
        self.client.base().to_string()
    }

    /// The JWT of the stored session, if it was issued by this server.
    pub fn jwt(&self) -> Result<String, CliError> {
        let server = self.server();
        self.config
            .token_for(&server)
            .map(str::to_string)
            .ok_or(CliError::NotLoggedIn(server))
    }

    pub fn forge_key(&self) -> Result<String, CliError> {
        if let Some(key) = self.forge_key_flag.as_deref().filter(|k| !k.is_empty()) {
            return Ok(key.to_string());
        }
        let server = self.server();
        self.config
            .forge_key_for(&server)
            .map(str::to_string)
            .ok_or(CliError::NoForgeKey(server))
    }
}

/// A field shown to a person: strings as they are, null or missing as `-`.
pub fn show(value: &Value, field: &str) -> String {
    match value.get(field) {
        None | Some(Value::Null) => "-".to_string(),
        Some(Value::String(s)) if s.is_empty() => "-".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(true)) => "yes".to_string(),
        Some(Value::Bool(false)) => "no".to_string(),
        Some(Value::Array(items)) if items.is_empty() => "-".to_string(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(","),
        Some(Value::Object(map)) if map.is_empty() => "-".to_string(),
        Some(other) => other.to_string(),
    }
}

/// The elements of a JSON list answer, or a clear error when the server sent something else.
pub fn as_list<'a>(value: &'a Value, what: &str) -> Result<&'a Vec<Value>, CliError> {
    value
        .as_array()
        .ok_or_else(|| CliError::BadResponse(format!("{what} is not a list")))
}

/// GETs a list the logged-in user owns and prints it: the JSON as it came with `--json`,
/// else one row per item under `columns` (header, field), or `empty` when there is none.
pub async fn list_table(
    ctx: &Ctx,
    path: &str,
    what: &str,
    empty: &str,
    columns: &[(&str, &str)],
) -> Result<(), CliError> {
    let jwt = ctx.jwt()?;
    let answer = ctx
        .client
        .call(Method::GET, path, Auth::Jwt(&jwt), None, ADMIN_TIMEOUT)
        .await?;
    if ctx.json {
        return output::json(&answer);
    }
    let items = as_list(&answer, what)?;
    if items.is_empty() {
        say!("{empty}");
        return Ok(());
    }
    let header: Vec<&str> = columns.iter().map(|(title, _)| *title).collect();
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|item| columns.iter().map(|(_, field)| show(item, field)).collect())
        .collect();
    output::table(&header, &rows)
}
