use std::process::ExitCode;

use clap::Parser;
use forge_server::config::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    forge_server::telemetry::init(cli.settings.log_format);
    let settings = cli.settings;
    if let Some(Command::CheckConfig { path }) = &cli.command {
        return check_config(path.as_ref().or(settings.config.as_ref()));
    }
    let system = actix_rt::System::new();
    let outcome = system.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Migrate => {
                forge_server::migrate(&settings).await?;
                tracing::info!(database = %redact_url(&settings.database_url()), "migrations applied");
                Ok(())
            }
            Command::CheckConfig { .. } => Ok(()),
            Command::RotateEncryptionKey => {
                let n = forge_server::rotate_encryption_key(&settings).await?;
                tracing::info!(rewritten = n, "stored provider keys are under the current encryption key");
                println!("re-encrypted {n} provider keys; the previous key may now be removed");
                Ok(())
            }
            Command::Serve => {
                let forge = forge_server::build(settings).await?;
                tracing::info!("Forge listening on http://{}", forge.addr);
                forge.run().await.map_err(forge_server::StartError::Io)
            }
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "forge-server failed");
            eprintln!("forge-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `forge-server check-config`: validates the whole file, prints every problem, exits 1 on any.
fn check_config(path: Option<&std::path::PathBuf>) -> ExitCode {
    let Some(path) = path else {
        eprintln!("forge-server: no file to check (give a path, --config or FORGE_CONFIG)");
        return ExitCode::FAILURE;
    };
    match forge_server::routing::reload::load(path) {
        Ok(config) => {
            let table = forge_router::RoutingTable::from_config(&config);
            println!(
                "{}: ok ({} providers, {} models, {} routes, {} deployments, {} aliases, {} static keys)",
                path.display(),
                config.providers.len(),
                config.models.len(),
                table.routes().count(),
                table.deployments().len(),
                config.aliases.len(),
                config.keys.len(),
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}

/// Hides a password in a database URL before it is logged.
fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("****"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}
