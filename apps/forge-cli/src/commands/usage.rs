//! `usage`: the server's usage report (`GET /v1/usage`, JWT) as a table. Admins see every
//! user's traffic, others their own. A cost the server could not price is never shown as 0:
//! it reads `unpriced`, or `+N unpriced` beside the part that was priced.

use awc::http::Method;
use clap::Args;
use serde_json::Value;

use super::{Ctx, as_list};
use crate::client::{ADMIN_TIMEOUT, Auth, path_segment};
use crate::error::CliError;
use crate::{output, say};

#[derive(Args, Clone, Default)]
pub struct UsageArgs {
    /// Split the totals by these, comma-separated: day, hour, model, provider, key, user.
    #[arg(long, value_name = "KEYS", value_delimiter = ',')]
    pub group_by: Vec<String>,
    /// Start, inclusive: RFC 3339 (2025-06-01T12:00:00Z) or a date (2025-06-01, UTC).
    #[arg(long)]
    pub from: Option<String>,
    /// End, exclusive: RFC 3339, or a date, which includes that whole day.
    #[arg(long)]
    pub to: Option<String>,
    /// Only this upstream model (exact name).
    #[arg(long)]
    pub model: Option<String>,
    /// Only this provider (exact name).
    #[arg(long)]
    pub provider: Option<String>,
    /// Only this user's usage (admins only).
    #[arg(long, value_name = "ID")]
    pub user_id: Option<i64>,
    /// Only this Forge key's usage (ids from `keys list`).
    #[arg(long, value_name = "ID")]
    pub key_id: Option<i64>,
}

/// `/v1/usage` with the given filters, values percent-encoded (offsets carry `+`).
pub fn request_path(args: &UsageArgs) -> String {
    let groups: Vec<&str> = args
        .group_by
        .iter()
        .map(|g| g.trim())
        .filter(|g| !g.is_empty())
        .collect();
    let mut params: Vec<(&str, String)> = Vec::new();
    if !groups.is_empty() {
        params.push(("group_by", groups.join(",")));
    }
    let texts = [
        ("from", &args.from),
        ("to", &args.to),
        ("model", &args.model),
        ("provider", &args.provider),
    ];
    for (name, value) in texts {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            params.push((name, v.to_string()));
        }
    }
    for (name, value) in [("user_id", args.user_id), ("key_id", args.key_id)] {
        if let Some(v) = value {
            params.push((name, v.to_string()));
        }
    }
    let query: Vec<String> = params
        .iter()
        .map(|(name, value)| format!("{name}={}", path_segment(value)))
        .collect();
    if query.is_empty() {
        "/v1/usage".to_string()
    } else {
        format!("/v1/usage?{}", query.join("&"))
    }
}

pub async fn run(ctx: &mut Ctx, args: UsageArgs) -> Result<(), CliError> {
    let jwt = ctx.jwt()?;
    let answer = ctx
        .client
        .call(
            Method::GET,
            &request_path(&args),
            Auth::Jwt(&jwt),
            None,
            ADMIN_TIMEOUT,
        )
        .await?;
    if ctx.json {
        return output::json(&answer);
    }
    let report = Report::parse(&answer)?;
    if report.groups.is_empty() {
        return output::table(&report.header(), &[report.cells(&answer["totals"])]);
    }
    if report.rows.is_empty() {
        say!("No usage recorded for this selection.");
        return Ok(());
    }
    output::table(&report.header(), &report.table_rows(&answer["totals"]))
}

/// The parts of the answer the table needs.
pub struct Report<'a> {
    pub groups: Vec<String>,
    pub rows: &'a [Value],
}

impl<'a> Report<'a> {
    pub fn parse(answer: &'a Value) -> Result<Report<'a>, CliError> {
        let groups = as_list(&answer["group_by"], "the usage report's group_by")?
            .iter()
            .map(|g| g.as_str().unwrap_or_default().to_string())
            .collect();
        let rows = as_list(&answer["rows"], "the usage report's rows")?;
        if !answer["totals"].is_object() {
            return Err(CliError::BadResponse(
                "the usage report has no totals".to_string(),
            ));
        }
        Ok(Report { groups, rows })
    }

    pub fn header(&self) -> Vec<&str> {
        let mut header: Vec<&str> = self.groups.iter().map(|g| group_title(g)).collect();
        header.extend(["REQUESTS", "INPUT", "OUTPUT", "COST"]);
        header
    }

    /// One row per group, then the totals under the first column's `total`.
    pub fn table_rows(&self, totals: &Value) -> Vec<Vec<String>> {
        let mut rows: Vec<Vec<String>> = self.rows.iter().map(|r| self.cells(r)).collect();
        let mut total = self.cells(totals);
        for (i, cell) in total.iter_mut().take(self.groups.len()).enumerate() {
            *cell = if i == 0 {
                "total".to_string()
            } else {
                String::new()
            };
        }
        rows.push(total);
        rows
    }

    pub fn cells(&self, row: &Value) -> Vec<String> {
        let mut cells: Vec<String> = self.groups.iter().map(|g| group_cell(g, row)).collect();
        cells.push(number(&row["requests"]));
        cells.push(number(&row["input_tokens"]));
        cells.push(number(&row["output_tokens"]));
        cells.push(cost_cell(row));
        cells
    }
}

fn group_title(group: &str) -> &'static str {
    match group {
        "day" => "DAY",
        "hour" => "HOUR",
        "model" => "MODEL",
        "provider" => "PROVIDER",
        "key" => "KEY",
        "user" => "USER",
        _ => "GROUP",
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// A row's value for one group: keys by label, users by name, else their ids.
pub fn group_cell(group: &str, row: &Value) -> String {
    let value = match group {
        "key" => text(&row["key"]).or_else(|| text(&row["key_id"])),
        "user" => text(&row["username"]).or_else(|| text(&row["user_id"])),
        other => text(&row[other]),
    };
    value.unwrap_or_else(|| "-".to_string())
}

fn number(value: &Value) -> String {
    value
        .as_i64()
        .map(|n| n.to_string())
        .unwrap_or_else(|| "-".to_string())
}

/// `$0.0042`, `unpriced`, or `$0.0042 +2 unpriced`; `-` when nothing had tokens to price.
pub fn cost_cell(row: &Value) -> String {
    let unpriced = row["unpriced_requests"].as_i64().unwrap_or(0);
    let cost = match row["cost"].as_str() {
        None if unpriced > 0 => return "unpriced".to_string(),
        None => return "-".to_string(),
        Some(cost) => match row["currency"].as_str() {
            None | Some("USD") => format!("${cost}"),
            Some(currency) => format!("{cost} {currency}"),
        },
    };
    if unpriced > 0 {
        format!("{cost} +{unpriced} unpriced")
    } else {
        cost
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    fn sums(cost: Value, unpriced: i64) -> Value {
        json!({"requests": 3, "input_tokens": 120, "output_tokens": 40, "cost": cost,
               "currency": "USD", "unpriced_requests": unpriced})
    }

    #[test]
    fn costs_never_hide_unpriced_requests() {
        assert_eq!(cost_cell(&sums(json!("0.00042"), 0)), "$0.00042");
        assert_eq!(cost_cell(&sums(Value::Null, 2)), "unpriced");
        assert_eq!(cost_cell(&sums(json!("1.5"), 2)), "$1.5 +2 unpriced");
        assert_eq!(cost_cell(&sums(Value::Null, 0)), "-");
        let mut eur = sums(json!("2"), 0);
        eur["currency"] = json!("EUR");
        assert_eq!(cost_cell(&eur), "2 EUR");
    }

    #[test]
    fn rows_show_group_labels_then_numbers_and_a_total() {
        let answer = json!({
            "group_by": ["model", "key", "user"],
            "totals": sums(json!("0.5"), 1),
            "rows": [
                {"model": "gpt-4o", "key_id": 7, "key": "laptop", "user_id": 2, "username": "alice",
                 "requests": 2, "input_tokens": 100, "output_tokens": 30, "cost": "0.5",
                 "currency": "USD", "unpriced_requests": 0},
                {"model": "house", "key_id": 9, "key": null, "user_id": 3, "username": null,
                 "requests": 1, "input_tokens": 20, "output_tokens": 10, "cost": null,
                 "currency": "USD", "unpriced_requests": 1},
            ],
        });
        let report = Report::parse(&answer).unwrap();
        assert_eq!(
            report.header(),
            [
                "MODEL", "KEY", "USER", "REQUESTS", "INPUT", "OUTPUT", "COST"
            ]
        );
        let rows = report.table_rows(&answer["totals"]);
        assert_eq!(
            rows,
            vec![
                vec!["gpt-4o", "laptop", "alice", "2", "100", "30", "$0.5"],
                vec!["house", "9", "3", "1", "20", "10", "unpriced"],
                vec!["total", "", "", "3", "120", "40", "$0.5 +1 unpriced"],
            ]
        );
    }

    #[test]
    fn a_report_without_rows_or_totals_is_rejected() {
        assert!(Report::parse(&json!({"group_by": [], "rows": []})).is_err());
        assert!(Report::parse(&json!({"detail": "x"})).is_err());
    }

    #[test]
    fn the_request_carries_only_given_filters_encoded() {
        assert_eq!(request_path(&UsageArgs::default()), "/v1/usage");
        let args = UsageArgs {
            group_by: vec!["model".into(), " day".into(), String::new()],
            from: Some("2025-06-01T12:00:00+02:00".into()),
            to: Some("2025-06-02".into()),
            model: Some("gpt 4o".into()),
            provider: None,
            user_id: Some(4),
            key_id: None,
        };
        assert_eq!(
            request_path(&args),
            "/v1/usage?group_by=model%2Cday&from=2025-06-01T12%3A00%3A00%2B02%3A00&to=2025-06-02&model=gpt%204o&user_id=4"
        );
    }
}
