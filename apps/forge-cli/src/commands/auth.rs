//! Accounts: register, login (stores the session), logout, whoami.

use awc::http::Method;
use clap::Args;
use serde_json::{Value, json};

use super::{Ctx, show};
use crate::client::{ADMIN_TIMEOUT, Auth};
use crate::config::Session;
use crate::error::CliError;
use crate::{output, say};

#[derive(Args, Clone, Default)]
pub struct RegisterArgs {
    #[arg(long)]
    pub username: String,
    #[arg(long)]
    pub email: String,
    /// Asked for without echo when left out.
    #[arg(long)]
    pub password: Option<String>,
}

#[derive(Args, Clone, Default)]
pub struct LoginArgs {
    #[arg(long)]
    pub username: String,
    /// Asked for without echo when left out.
    #[arg(long)]
    pub password: Option<String>,
}

pub async fn register(ctx: &mut Ctx, args: RegisterArgs) -> Result<(), CliError> {
    let password = match args.password {
        Some(password) => password,
        None => ctx.prompter.new_password()?,
    };
    let body = json!({"username": args.username, "email": args.email, "password": password});
    let user = ctx
        .client
        .call(
            Method::POST,
            "/v1/auth/register",
            Auth::None,
            Some(&body),
            ADMIN_TIMEOUT,
        )
        .await?;
    if ctx.json {
        return output::json(&user);
    }
    say!(
        "Registered {} <{}> (user id {}).",
        show(&user, "username"),
        show(&user, "email"),
        show(&user, "id")
    );
    say!(
        "Next: forge-cli login --username {}",
        show(&user, "username")
    );
    Ok(())
}

pub async fn login(ctx: &mut Ctx, args: LoginArgs) -> Result<(), CliError> {
    let password = match args.password {
        Some(password) => password,
        None => ctx.prompter.secret("Password")?,
    };
    if password.is_empty() {
        return Err(CliError::Usage("the password must not be empty".into()));
    }
    let answer = ctx
        .client
        .post_form(
            "/v1/auth/token",
            &[("username", &args.username), ("password", &password)],
        )
        .await?;
    let token = answer
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| CliError::BadResponse("the login answer has no access_token".into()))?;
    let server = ctx.server();
    let old = &ctx.config.session;
    // The remembered Forge key stays only when it belongs to the same account on the same server.
    let same_account = old.server.as_deref() == Some(server.as_str())
        && old.username.as_deref() == Some(args.username.as_str());
    ctx.config.session = Session {
        server: Some(server.clone()),
        username: Some(args.username.clone()),
        token: Some(token.to_string()),
        forge_key: same_account.then(|| old.forge_key.clone()).flatten(),
        forge_key_id: same_account.then_some(old.forge_key_id).flatten(),
    };
    ctx.config.save()?;
    let path = ctx.config.path();
    if ctx.json {
        // The raw answer holds the JWT, which is never printed.
        return output::json(&json!({
            "username": args.username,
            "server": server,
            "token_type": answer.get("token_type").cloned().unwrap_or(Value::Null),
            "session_file": path.display().to_string(),
        }));
    }
    say!("Logged in to {server} as {}.", args.username);
    say!("Session saved in {}.", path.display());
    Ok(())
}

pub async fn logout(ctx: &mut Ctx) -> Result<(), CliError> {
    ctx.config.session = Session::default();
    ctx.config.save()?;
    if ctx.json {
        return output::json(&json!({"logged_out": true}));
    }
    say!("Logged out; the stored session and Forge key are forgotten.");
    Ok(())
}

pub async fn whoami(ctx: &mut Ctx) -> Result<(), CliError> {
    let jwt = ctx.jwt()?;
    let me = ctx
        .client
        .call(
            Method::GET,
            "/v1/users/me",
            Auth::Jwt(&jwt),
            None,
            ADMIN_TIMEOUT,
        )
        .await?;
    if ctx.json {
        return output::json(&me);
    }
    say!("username:   {}", show(&me, "username"));
    say!("email:      {}", show(&me, "email"));
    say!("user id:    {}", show(&me, "id"));
    say!("admin:      {}", show(&me, "is_admin"));
    say!("active:     {}", show(&me, "is_active"));
    say!("created:    {}", show(&me, "created_at"));
    let keys: Vec<String> = me
        .get("forge_api_keys")
        .and_then(Value::as_array)
        .map(|keys| {
            keys.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if keys.is_empty() {
        say!("forge keys: none");
    } else {
        say!("forge keys:");
        for key in keys {
            say!("  {key}");
        }
    }
    Ok(())
}
