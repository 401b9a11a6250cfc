//! `routes ...`, `deployments ...`, `sessions drop`: the server's routing admin API
//! (`/v1/admin/...`, admin JWT). They show what the router would do and reset its health state;
//! none of them changes the routing config itself.

mod view;

use awc::http::Method;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::{Ctx, show};
use crate::client::{ADMIN_TIMEOUT, Auth, path_segment};
use crate::error::CliError;
use crate::{output, say};
use view::{
    CANDIDATE_HEADER, DEPLOYMENT_HEADER, Decision, DeploymentsView, ROUTE_HEADER, RoutesView,
};

#[derive(Subcommand, Clone)]
pub enum RoutesCommand {
    /// Show the loaded routes, their deployments and fallbacks, aliases and the default model.
    List,
    /// Show which deployments a request for MODEL would try now, in order, without sending one.
    Decide(DecideArgs),
}

#[derive(Args, Clone, Default)]
pub struct DecideArgs {
    /// A route name or alias, as a client would send it in `model`.
    pub model: String,
    /// Decide as for this sticky session.
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
}

#[derive(Subcommand, Clone)]
pub enum DeploymentsCommand {
    /// Show every deployment's health: availability, cooldown, load, latency, counters.
    List,
    /// Clear a deployment's cooldown and failure history so it is tried again at once.
    Reset(DeploymentArg),
}

#[derive(Args, Clone, Default)]
pub struct DeploymentArg {
    /// Deployment id as `deployments list` shows it, e.g. openai/gpt-4o#0.
    pub id: String,
}

#[derive(Subcommand, Clone)]
pub enum SessionsCommand {
    /// Forget a session's sticky deployment; its next request is routed afresh.
    Drop(SessionArg),
}

#[derive(Args, Clone, Default)]
pub struct SessionArg {
    pub id: String,
}

pub async fn run_routes(ctx: &mut Ctx, command: RoutesCommand) -> Result<(), CliError> {
    match command {
        RoutesCommand::List => list_routes(ctx).await,
        RoutesCommand::Decide(args) => decide(ctx, args).await,
    }
}

pub async fn run_deployments(ctx: &mut Ctx, command: DeploymentsCommand) -> Result<(), CliError> {
    match command {
        DeploymentsCommand::List => list_deployments(ctx).await,
        DeploymentsCommand::Reset(args) => reset_deployment(ctx, args).await,
    }
}

pub async fn run_sessions(ctx: &mut Ctx, command: SessionsCommand) -> Result<(), CliError> {
    match command {
        SessionsCommand::Drop(args) => drop_session(ctx, args).await,
    }
}

async fn admin_call(
    ctx: &Ctx,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Value, CliError> {
    let jwt = ctx.jwt()?;
    ctx.client
        .call(method, path, Auth::Jwt(&jwt), body, ADMIN_TIMEOUT)
        .await
}

fn required(what: &str, value: &str) -> Result<(), CliError> {
    if value.trim().is_empty() {
        return Err(CliError::Usage(format!("{what} must not be empty")));
    }
    Ok(())
}

pub async fn list_routes(ctx: &mut Ctx) -> Result<(), CliError> {
    let answer = admin_call(ctx, Method::GET, "/v1/admin/routes", None).await?;
    if ctx.json {
        return output::json(&answer);
    }
    let routes: RoutesView = view::parse(answer, "the route list")?;
    for line in view::routes_preamble(&routes) {
        say!("{line}");
    }
    say!("");
    if routes.routes.is_empty() {
        say!("No routes configured.");
    } else {
        output::table(&ROUTE_HEADER, &view::route_rows(&routes))?;
    }
    say!("");
    for line in view::routes_epilogue(&routes) {
        say!("{line}");
    }
    Ok(())
}

pub async fn decide(ctx: &mut Ctx, args: DecideArgs) -> Result<(), CliError> {
    required("the model", &args.model)?;
    let mut body = json!({"model": args.model});
    if let Some(session) = &args.session {
        required("--session", session)?;
        body["session_id"] = json!(session);
    }
    let answer = admin_call(ctx, Method::POST, "/v1/admin/routes/decide", Some(&body)).await?;
    if ctx.json {
        return output::json(&answer);
    }
    let decision: Decision = view::parse(answer, "the routing decision")?;
    match &args.session {
        Some(session) => say!(
            "Model {} goes to route {} (session {session}).",
            args.model,
            decision.route
        ),
        None => say!("Model {} goes to route {}.", args.model, decision.route),
    }
    say!("");
    if decision.candidates.is_empty() {
        say!("No deployment can take the request now.");
    } else {
        say!("Tried in this order:");
        output::table(
            &CANDIDATE_HEADER,
            &view::candidate_rows(&decision.candidates),
        )?;
    }
    if !decision.excluded.is_empty() {
        say!("");
        say!("Excluded:");
        output::table(&CANDIDATE_HEADER, &view::candidate_rows(&decision.excluded))?;
    }
    say!("");
    say!("{}", view::fallbacks_line(&decision.fallbacks));
    Ok(())
}

pub async fn list_deployments(ctx: &mut Ctx) -> Result<(), CliError> {
    let answer = admin_call(ctx, Method::GET, "/v1/admin/deployments", None).await?;
    if ctx.json {
        return output::json(&answer);
    }
    let deployments: DeploymentsView = view::parse(answer, "the deployment list")?;
    if deployments.deployments.is_empty() {
        say!("No deployments.");
        return Ok(());
    }
    output::table(&DEPLOYMENT_HEADER, &view::deployment_rows(&deployments))
}

pub async fn reset_deployment(ctx: &mut Ctx, args: DeploymentArg) -> Result<(), CliError> {
    required("the deployment id", &args.id)?;
    let path = format!("/v1/admin/deployments/{}/reset", path_segment(&args.id));
    let answer = admin_call(ctx, Method::POST, &path, None).await?;
    if ctx.json {
        return output::json(&answer);
    }
    say!(
        "Reset deployment {}: {}.",
        args.id,
        show(&answer, "availability")
    );
    Ok(())
}

pub async fn drop_session(ctx: &mut Ctx, args: SessionArg) -> Result<(), CliError> {
    required("the session id", &args.id)?;
    let path = format!("/v1/admin/sessions/{}", path_segment(&args.id));
    let answer = admin_call(ctx, Method::DELETE, &path, None).await?;
    if ctx.json {
        // A 204 has nothing to print; the exit code says it worked.
        return match answer {
            Value::Null => Ok(()),
            other => output::json(&other),
        };
    }
    say!(
        "Dropped session {}; its next request is routed afresh.",
        args.id
    );
    Ok(())
}
