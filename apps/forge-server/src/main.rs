use std::process::ExitCode;

use clap::Parser;
use forge_server::config::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    forge_server::telemetry::init(cli.settings.log_format);
    let settings = cli.settings;
    let system = actix_rt::System::new();
    let outcome = system.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Migrate => {
                forge_server::migrate(&settings).await?;
                tracing::info!(database = %redact_url(&settings.database_url()), "migrations applied");
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
