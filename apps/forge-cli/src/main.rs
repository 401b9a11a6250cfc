//! forge-cli: the admin CLI for a Forge server. It knows the server only through its HTTP API
//! (no crate of the workspace is linked), so it works against any server that speaks Forge v1.

mod client;
mod commands;
mod config;
mod error;
mod menu;
mod output;
mod prompt;
mod sse;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::client::{ForgeClient, normalize_server};
use crate::commands::auth::{LoginArgs, RegisterArgs};
use crate::commands::chat::TestArgs;
use crate::commands::forge_keys::KeysCommand;
use crate::commands::provider_keys::{AddKeyArgs, ProviderArg, UpdateKeyArgs};
use crate::commands::routing::{DeploymentsCommand, RoutesCommand, SessionsCommand};
use crate::commands::usage::UsageArgs;
use crate::commands::{Ctx, auth, chat, forge_keys, provider_keys, routing, usage};
use crate::config::ConfigStore;
use crate::error::CliError;
use crate::prompt::Prompter;

const DEFAULT_SERVER: &str = "http://127.0.0.1:8000";

/// Admin CLI for Forge. Run it without a command for an interactive menu.
#[derive(Parser)]
#[command(name = "forge-cli", version)]
struct Cli {
    /// Forge server URL [default: the one you logged in to, else http://127.0.0.1:8000]
    #[arg(long, env = "FORGE_SERVER", global = true)]
    server: Option<String>,
    /// Forge API key for `models` and `test` [default: the one `keys create` remembered]
    #[arg(long, env = "FORGE_API_KEY", global = true, hide_env_values = true)]
    forge_key: Option<String>,
    /// Print the server's JSON answers instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Create an account.
    Register(RegisterArgs),
    /// Log in and store the session (mode 0600) in the config directory.
    Login(LoginArgs),
    /// Forget the stored session.
    Logout,
    /// Show the logged-in user.
    Whoami,
    /// Manage Forge API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Store a provider's API key (encrypted on the server).
    AddKey(AddKeyArgs),
    /// List provider keys (masked).
    ListKeys,
    /// Change a provider key; only the given fields are sent.
    UpdateKey(UpdateKeyArgs),
    /// Delete a provider key.
    DeleteKey(ProviderArg),
    /// List the models your Forge API key can use.
    Models,
    /// Send one chat message through Forge and print the answer.
    Test(TestArgs),
    /// Show requests, tokens and cost from the server's usage records (admins: everyone's).
    Usage(UsageArgs),
    /// Export request logs (recorded when forge.toml's [logging] is enabled).
    #[command(subcommand)]
    Logs(commands::logs::LogsCommand),
    /// Inspect model routing (admin).
    #[command(subcommand)]
    Routes(RoutesCommand),
    /// Inspect and reset deployment health (admin).
    #[command(subcommand)]
    Deployments(DeploymentsCommand),
    /// Manage sticky routing sessions (admin).
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// Manage users' limits and budgets (admin).
    #[command(subcommand)]
    Admin(commands::limits::AdminCommand),
}

fn main() -> ExitCode {
    // awc's rustls connector panics without a process-wide crypto provider. An error here only
    // means one is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let result = match actix_rt::System::new().block_on(run(cli)) {
        Ok(()) => return ExitCode::SUCCESS,
        Err(err) => err,
    };
    if !matches!(result, CliError::BrokenPipe) {
        output::note(format_args!("error: {result}"));
    }
    ExitCode::FAILURE
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let config = ConfigStore::load(ConfigStore::locate()?)?;
    let server = match cli.server.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(server) => normalize_server(server)?,
        None => normalize_server(config.session.server.as_deref().unwrap_or(DEFAULT_SERVER))?,
    };
    let mut ctx = Ctx {
        client: ForgeClient::new(server),
        config,
        json: cli.json,
        forge_key_flag: cli.forge_key,
        prompter: Prompter::new(),
    };
    let Some(command) = cli.command else {
        return menu::run(&mut ctx).await;
    };
    match command {
        Command::Register(args) => auth::register(&mut ctx, args).await,
        Command::Login(args) => auth::login(&mut ctx, args).await,
        Command::Logout => auth::logout(&mut ctx).await,
        Command::Whoami => auth::whoami(&mut ctx).await,
        Command::Keys(command) => forge_keys::run(&mut ctx, command).await,
        Command::AddKey(args) => provider_keys::add(&mut ctx, args).await,
        Command::ListKeys => provider_keys::list(&mut ctx).await,
        Command::UpdateKey(args) => provider_keys::update(&mut ctx, args).await,
        Command::DeleteKey(args) => provider_keys::delete(&mut ctx, args).await,
        Command::Models => chat::models(&mut ctx).await,
        Command::Test(args) => chat::test(&mut ctx, args).await,
        Command::Usage(args) => usage::run(&mut ctx, args).await,
        Command::Logs(command) => commands::logs::run(&mut ctx, command).await,
        Command::Routes(command) => routing::run_routes(&mut ctx, command).await,
        Command::Deployments(command) => routing::run_deployments(&mut ctx, command).await,
        Command::Sessions(command) => routing::run_sessions(&mut ctx, command).await,
        Command::Admin(command) => commands::limits::run_admin(&mut ctx, command).await,
    }
}
