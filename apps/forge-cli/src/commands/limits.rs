//! `keys limits ID` and `admin user-limits USER_ID`: show or change the rates and budgets of
//! one Forge key (`/v1/api-keys/{id}/limits`, your own keys, never looser than your account)
//! or one user (`/v1/admin/users/{id}/limits`, admins). The server replaces a scope's limits
//! as a whole, so flags are merged into what applies now: the limits you do not name stay.

use std::str::FromStr;

use awc::http::Method;
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use super::Ctx;
use crate::client::{ADMIN_TIMEOUT, Auth};
use crate::error::CliError;
use crate::{output, say};

/// A count limit: a number, or `off` to remove it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Count {
    Set(u64),
    Off,
}

impl FromStr for Count {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if is_off(s) {
            return Ok(Count::Off);
        }
        match s.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(Count::Set(n)),
            _ => Err("expected a whole number of at least 1, or `off`".into()),
        }
    }
}

/// A spend ceiling in currency units (`5.00`), or `off` to remove it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Amount {
    Set(String),
    Off,
}

impl FromStr for Amount {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if is_off(s) {
            return Ok(Amount::Off);
        }
        let s = s.trim();
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if (whole.is_empty() && frac.is_empty()) || !digits(whole) || !digits(frac) {
            return Err("expected an amount such as 5.00, or `off`".into());
        }
        Ok(Amount::Set(s.to_string()))
    }
}

fn is_off(s: &str) -> bool {
    matches!(s.trim().to_ascii_lowercase().as_str(), "off" | "none")
}

#[derive(Args, Clone, Default, Debug)]
pub struct LimitFlags {
    /// Requests per minute (`off` removes the limit).
    #[arg(long, value_name = "N|off")]
    pub rpm: Option<Count>,
    /// Tokens per minute.
    #[arg(long, value_name = "N|off")]
    pub tpm: Option<Count>,
    /// Requests in flight at once.
    #[arg(long, value_name = "N|off")]
    pub concurrency: Option<Count>,
    /// Spend per UTC day, in currency units.
    #[arg(long, value_name = "AMOUNT|off")]
    pub daily_budget: Option<Amount>,
    /// Spend per calendar month (UTC).
    #[arg(long, value_name = "AMOUNT|off")]
    pub monthly_budget: Option<Amount>,
    /// Spend over all time.
    #[arg(long, value_name = "AMOUNT|off")]
    pub total_budget: Option<Amount>,
    /// Tokens per UTC day.
    #[arg(long, value_name = "N|off")]
    pub daily_tokens: Option<Count>,
    /// Tokens per calendar month (UTC).
    #[arg(long, value_name = "N|off")]
    pub monthly_tokens: Option<Count>,
    /// Tokens over all time.
    #[arg(long, value_name = "N|off")]
    pub total_tokens: Option<Count>,
    /// Remove every limit set here, going back to the server's defaults.
    #[arg(long, conflicts_with_all = [
        "rpm", "tpm", "concurrency", "daily_budget", "monthly_budget", "total_budget",
        "daily_tokens", "monthly_tokens", "total_tokens",
    ])]
    pub clear: bool,
}

impl LimitFlags {
    fn changes_nothing(&self) -> bool {
        self.rpm.is_none()
            && self.tpm.is_none()
            && self.concurrency.is_none()
            && self
                .periods()
                .iter()
                .all(|(_, c, t)| c.is_none() && t.is_none())
    }

    fn periods(&self) -> [(&'static str, Option<&Amount>, Option<Count>); 3] {
        [
            ("day", self.daily_budget.as_ref(), self.daily_tokens),
            ("month", self.monthly_budget.as_ref(), self.monthly_tokens),
            ("total", self.total_budget.as_ref(), self.total_tokens),
        ]
    }
}

#[derive(Args, Clone, Debug)]
pub struct KeyLimitsArgs {
    /// The key's id (from `keys list`).
    pub id: i64,
    #[command(flatten)]
    pub flags: LimitFlags,
}

#[derive(Subcommand, Clone)]
pub enum AdminCommand {
    /// Show or set a user's limits and budgets (all their keys together).
    UserLimits(UserLimitsArgs),
}

#[derive(Args, Clone, Debug)]
pub struct UserLimitsArgs {
    pub user_id: i64,
    #[command(flatten)]
    pub flags: LimitFlags,
}

pub async fn run_admin(ctx: &mut Ctx, command: AdminCommand) -> Result<(), CliError> {
    match command {
        AdminCommand::UserLimits(args) => {
            let path = format!("/v1/admin/users/{}/limits", args.user_id);
            let what = format!("user {}", args.user_id);
            run(ctx, &path, &what, &args.flags).await
        }
    }
}

pub async fn key_limits(ctx: &mut Ctx, args: KeyLimitsArgs) -> Result<(), CliError> {
    let path = format!("/v1/api-keys/{}/limits", args.id);
    let what = format!("API key {}", args.id);
    run(ctx, &path, &what, &args.flags).await
}

/// No flag: show. `--clear`: delete. Else read what applies, merge the flags, write it.
async fn run(ctx: &mut Ctx, path: &str, what: &str, flags: &LimitFlags) -> Result<(), CliError> {
    let jwt = ctx.jwt()?;
    let call = |method: Method, body: Option<Value>| {
        let jwt = jwt.clone();
        let client = &ctx.client;
        async move {
            client
                .call(method, path, Auth::Jwt(&jwt), body.as_ref(), ADMIN_TIMEOUT)
                .await
        }
    };
    let (answer, verb) = if flags.clear {
        (call(Method::DELETE, None).await?, "Cleared the limits of")
    } else {
        let current = call(Method::GET, None).await?;
        if flags.changes_nothing() {
            (current, "Limits of")
        } else {
            let body = merged(&current, flags);
            (call(Method::PUT, Some(body)).await?, "Set the limits of")
        }
    };
    if ctx.json {
        return output::json(&answer);
    }
    say!("{verb} {what} ({}).", source_text(&answer));
    for line in describe(&answer) {
        say!("  {line}");
    }
    Ok(())
}

/// The PUT body: the limits in `current` (an answer of the server), changed by `flags`.
pub fn merged(current: &Value, flags: &LimitFlags) -> Value {
    let mut body = Map::new();
    for (name, flag) in [
        ("rpm", flags.rpm),
        ("tpm", flags.tpm),
        ("concurrency", flags.concurrency),
    ] {
        let value = match flag {
            Some(Count::Set(n)) => json!(n),
            Some(Count::Off) => Value::Null,
            None => current.get(name).cloned().unwrap_or(Value::Null),
        };
        body.insert(name.into(), value);
    }
    let mut budgets: Vec<Value> = current
        .get("budgets")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (period, cost, tokens) in flags.periods() {
        if cost.is_none() && tokens.is_none() {
            continue;
        }
        let at = budgets
            .iter()
            .position(|b| b.get("period").and_then(Value::as_str) == Some(period));
        let mut budget = match at {
            Some(i) => budgets.remove(i),
            None => json!({"period": period, "max_cost": null, "max_tokens": null}),
        };
        match cost {
            Some(Amount::Set(text)) => budget["max_cost"] = json!(text),
            Some(Amount::Off) => budget["max_cost"] = Value::Null,
            None => {}
        }
        match tokens {
            Some(Count::Set(n)) => budget["max_tokens"] = json!(n),
            Some(Count::Off) => budget["max_tokens"] = Value::Null,
            None => {}
        }
        let empty = budget["max_cost"].is_null() && budget["max_tokens"].is_null();
        if !empty {
            budgets.insert(at.unwrap_or(budgets.len()), budget);
        }
    }
    body.insert("budgets".into(), Value::Array(budgets));
    Value::Object(body)
}

fn source_text(answer: &Value) -> &'static str {
    match answer.get("source").and_then(Value::as_str) {
        Some("key") => "set on this key",
        Some("user") => "set by an administrator",
        Some("config") => "the server's defaults from forge.toml",
        Some("none") => "no limits",
        _ => "as the server reports them",
    }
}

/// One line per limit, `-` for none.
pub fn describe(answer: &Value) -> Vec<String> {
    let number = |field: &str| match answer.get(field) {
        Some(Value::Number(n)) => n.to_string(),
        _ => "-".to_string(),
    };
    let line = |label: &str, value: &str| format!("{:<22}{value}", format!("{label}:"));
    let mut lines = vec![
        line("requests per minute", &number("rpm")),
        line("tokens per minute", &number("tpm")),
        line("concurrent requests", &number("concurrency")),
    ];
    let budgets = answer.get("budgets").and_then(Value::as_array);
    for budget in budgets.into_iter().flatten() {
        let period = match budget.get("period").and_then(Value::as_str) {
            Some("day") => "daily",
            Some("month") => "monthly",
            Some("total") => "total",
            _ => "other",
        };
        let mut parts = Vec::new();
        if let Some(cost) = budget.get("max_cost").and_then(Value::as_str) {
            parts.push(format!("spend {cost}"));
        }
        if let Some(tokens) = budget.get("max_tokens").and_then(Value::as_i64) {
            parts.push(format!("{tokens} tokens"));
        }
        lines.push(line(&format!("{period} budget"), &parts.join(", ")));
    }
    lines
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        flags: LimitFlags,
    }

    fn flags(args: &[&str]) -> LimitFlags {
        let mut argv = vec!["test"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).unwrap().flags
    }

    #[test]
    fn values_parse_with_off() {
        assert_eq!("12".parse::<Count>().unwrap(), Count::Set(12));
        assert_eq!("off".parse::<Count>().unwrap(), Count::Off);
        assert!("0".parse::<Count>().is_err());
        assert!("-1".parse::<Count>().is_err());
        assert_eq!(
            "5.00".parse::<Amount>().unwrap(),
            Amount::Set("5.00".into())
        );
        assert_eq!("None".parse::<Amount>().unwrap(), Amount::Off);
        assert!("$5".parse::<Amount>().is_err());
        assert!(".".parse::<Amount>().is_err());
    }

    #[test]
    fn clear_conflicts_with_settings() {
        let mut argv = vec!["test", "--clear", "--rpm", "3"];
        assert!(Cli::try_parse_from(&argv).is_err());
        argv.truncate(2);
        assert!(Cli::try_parse_from(&argv).unwrap().flags.clear);
        assert!(flags(&[]).changes_nothing());
        assert!(!flags(&["--daily-tokens", "9"]).changes_nothing());
    }

    #[test]
    fn flags_merge_into_what_applies() {
        let current = json!({
            "scope": "key:3", "source": "config", "rpm": 100, "tpm": 5000, "concurrency": null,
            "budgets": [{"period": "day", "max_cost": "5.00", "max_tokens": null}],
            "updated_at": null,
        });
        let body = merged(
            &current,
            &flags(&[
                "--rpm",
                "2",
                "--tpm",
                "off",
                "--daily-tokens",
                "1000",
                "--monthly-budget",
                "50",
            ]),
        );
        assert_eq!(
            body,
            json!({
                "rpm": 2, "tpm": null, "concurrency": null,
                "budgets": [
                    {"period": "day", "max_cost": "5.00", "max_tokens": 1000},
                    {"period": "month", "max_cost": "50", "max_tokens": null},
                ],
            })
        );
        let body = merged(&current, &flags(&["--daily-budget", "off"]));
        assert_eq!(body["budgets"], json!([]), "an emptied budget is dropped");
        assert_eq!(body["rpm"], 100, "limits not named are kept");
    }

    #[test]
    fn answers_read_as_lines() {
        let answer = json!({
            "rpm": 3, "tpm": null, "budgets": [
                {"period": "day", "max_cost": "5.00", "max_tokens": 1000},
                {"period": "total", "max_cost": null, "max_tokens": 9},
            ],
        });
        assert_eq!(
            describe(&answer),
            [
                "requests per minute:  3",
                "tokens per minute:    -",
                "concurrent requests:  -",
                "daily budget:         spend 5.00, 1000 tokens",
                "total budget:         9 tokens",
            ]
        );
    }
}
