//! The interactive menu (`forge-cli` with no arguments): numbered actions, prompts for their
//! fields, the same command code as the subcommands. A failed action prints its error and the menu
//! goes on; `q`, `0` or the end of stdin leaves it.

use crate::commands::auth::{LoginArgs, RegisterArgs};
use crate::commands::chat::TestArgs;
use crate::commands::forge_keys::{CreateArgs, UpdateArgs};
use crate::commands::provider_keys::{AddKeyArgs, ProviderArg, UpdateKeyArgs};
use crate::commands::routing::{DecideArgs, DeploymentArg, SessionArg};
use crate::commands::{Ctx, auth, chat, forge_keys, provider_keys, routing};
use crate::error::CliError;
use crate::{output, say};

const ITEMS: &[&str] = &[
    "Register",
    "Log in",
    "Who am I",
    "Create a Forge API key",
    "List Forge API keys",
    "Update a Forge API key",
    "Delete a Forge API key",
    "Regenerate a Forge API key",
    "Add a provider key",
    "List provider keys",
    "Update a provider key",
    "Delete a provider key",
    "List models",
    "Test a chat completion",
    "Log out",
    // Admin items come after the rest so the numbers above stay what people learned.
    "Show routes (admin)",
    "Explain a routing decision (admin)",
    "List deployments (admin)",
    "Reset a deployment (admin)",
    "Drop a sticky session (admin)",
];

pub async fn run(ctx: &mut Ctx) -> Result<(), CliError> {
    say!("Forge admin menu, server {}", ctx.server());
    loop {
        say!("");
        for (i, item) in ITEMS.iter().enumerate() {
            say!("{:>2}. {item}", i + 1);
        }
        say!(" 0. Quit");
        let choice = match ctx.prompter.line("Choose") {
            Ok(choice) => choice,
            Err(CliError::Eof) => return Ok(()),
            Err(err) => return Err(err),
        };
        let choice = choice.trim();
        if matches!(choice, "0" | "q" | "quit" | "exit") {
            return Ok(());
        }
        if choice.is_empty() {
            continue;
        }
        let Some(number) = choice
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=ITEMS.len()).contains(n))
        else {
            output::note(format_args!(
                "unknown option {choice:?}: type a number from the list"
            ));
            continue;
        };
        match action(ctx, number).await {
            Ok(()) => {}
            Err(CliError::Eof) => return Ok(()),
            Err(CliError::BrokenPipe) => return Err(CliError::BrokenPipe),
            Err(err) => output::note(format_args!("error: {err}")),
        }
    }
}

async fn action(ctx: &mut Ctx, number: usize) -> Result<(), CliError> {
    let p = &mut ctx.prompter;
    match number {
        1 => {
            let args = RegisterArgs {
                username: p.required("Username")?,
                email: p.required("Email")?,
                password: None,
            };
            auth::register(ctx, args).await
        }
        2 => {
            let args = LoginArgs {
                username: p.required("Username")?,
                password: None,
            };
            auth::login(ctx, args).await
        }
        3 => auth::whoami(ctx).await,
        4 => {
            let name = p.optional("Name (optional)")?;
            let scope = p.optional(
                "Allowed provider key ids, comma-separated (empty = every provider, 'none' = no provider)",
            )?;
            let (allow, no_providers) = parse_scope(scope)?;
            let args = CreateArgs {
                name,
                allow,
                no_providers,
            };
            forge_keys::create(ctx, args).await
        }
        5 => forge_keys::list(ctx).await,
        6 => {
            let id = parse_id(&p.required("Key id")?)?;
            let name = match p.optional("New name (empty = keep, '-' = clear)")? {
                Some(name) if name == "-" => Some(String::new()),
                other => other,
            };
            let active = match p.optional("Active? y/n (empty = keep)")? {
                None => None,
                Some(answer) => Some(parse_yes_no(&answer)?),
            };
            let scope = p.optional(
                "Allowed provider key ids, comma-separated (empty = keep, 'none' = no provider)",
            )?;
            let (allow, no_providers) = parse_scope(scope)?;
            let args = UpdateArgs {
                id,
                name,
                active,
                allow,
                no_providers,
            };
            forge_keys::update(ctx, args).await
        }
        7 => {
            let id = parse_id(&p.required("Key id")?)?;
            forge_keys::delete(ctx, id).await
        }
        8 => {
            let id = parse_id(&p.required("Key id")?)?;
            forge_keys::regenerate(ctx, id).await
        }
        9 => {
            let args = AddKeyArgs {
                provider: p.required("Provider name (e.g. openai)")?,
                api_key: None,
                base_url: p.optional("Base URL (empty = provider default)")?,
                model_mapping: p.optional("Model mapping JSON (optional)")?,
                config: p.optional("Config JSON (optional)")?,
            };
            provider_keys::add(ctx, args).await
        }
        10 => provider_keys::list(ctx).await,
        11 => {
            let provider = p.required("Provider name")?;
            let api_key =
                Some(p.secret("New provider API key (empty = keep)")?).filter(|k| !k.is_empty());
            let base_url = match p.optional("Base URL (empty = keep, '-' = provider default)")? {
                Some(url) if url == "-" => Some(String::new()),
                other => other,
            };
            let args = UpdateKeyArgs {
                provider,
                api_key,
                base_url,
                model_mapping: p.optional("Model mapping JSON (empty = keep, 'null' = clear)")?,
                config: p.optional("Config JSON (empty = keep)")?,
            };
            provider_keys::update(ctx, args).await
        }
        12 => {
            let args = ProviderArg {
                provider: p.required("Provider name")?,
            };
            provider_keys::delete(ctx, args).await
        }
        13 => chat::models(ctx).await,
        14 => {
            let args = TestArgs {
                model: p.required("Model (provider/model)")?,
                message: p.required("Message")?,
                stream: match p.optional("Stream the answer? y/N")? {
                    None => false,
                    Some(answer) => parse_yes_no(&answer)?,
                },
            };
            chat::test(ctx, args).await
        }
        15 => auth::logout(ctx).await,
        16 => routing::list_routes(ctx).await,
        17 => {
            let args = DecideArgs {
                model: p.required("Model (route name or alias)")?,
                session: p.optional("Session id (optional)")?,
            };
            routing::decide(ctx, args).await
        }
        18 => routing::list_deployments(ctx).await,
        19 => {
            let args = DeploymentArg {
                id: p.required("Deployment id (e.g. openai/gpt-4o#0)")?,
            };
            routing::reset_deployment(ctx, args).await
        }
        20 => {
            let args = SessionArg {
                id: p.required("Session id")?,
            };
            routing::drop_session(ctx, args).await
        }
        _ => Ok(()),
    }
}

fn parse_id(text: &str) -> Result<i64, CliError> {
    text.trim()
        .parse()
        .map_err(|_| CliError::Usage(format!("{text:?} is not a key id (a number)")))
}

fn parse_yes_no(text: &str) -> Result<bool, CliError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" | "true" => Ok(true),
        "n" | "no" | "false" => Ok(false),
        other => Err(CliError::Usage(format!("answer y or n, not {other:?}"))),
    }
}

/// `None` -> no change / unrestricted; `none` -> no provider; `1, 2` -> those ids.
fn parse_scope(answer: Option<String>) -> Result<(Vec<i64>, bool), CliError> {
    match answer {
        None => Ok((Vec::new(), false)),
        Some(text) if text.trim().eq_ignore_ascii_case("none") => Ok((Vec::new(), true)),
        Some(text) => {
            let ids = text
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(parse_id)
                .collect::<Result<Vec<_>, _>>()?;
            Ok((ids, false))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_answers() {
        assert_eq!(parse_scope(None).ok(), Some((vec![], false)));
        assert_eq!(parse_scope(Some("None".into())).ok(), Some((vec![], true)));
        assert_eq!(
            parse_scope(Some("1, 2".into())).ok(),
            Some((vec![1, 2], false))
        );
        assert!(parse_scope(Some("1, x".into())).is_err());
    }
}
