//! The routing admin answers as typed structs, and their text rendering as pure functions so the
//! layout is tested without a server. Unknown fields are ignored and most known ones default, so a
//! server that adds or drops a field still gets a readable table (`--json` shows everything).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Number, Value};

use crate::error::CliError;

/// `GET /v1/admin/routes`.
#[derive(Deserialize)]
pub struct RoutesView {
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub loaded_at: Option<String>,
    #[serde(default)]
    pub default_model: Option<String>,
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
    #[serde(default)]
    pub routes: Vec<Route>,
}

#[derive(Deserialize)]
pub struct Route {
    pub name: String,
    #[serde(default)]
    pub strategy: Option<String>,
    #[serde(default)]
    pub fallbacks: Vec<String>,
    #[serde(default)]
    pub deployments: Vec<RouteDeployment>,
}

#[derive(Deserialize)]
pub struct RouteDeployment {
    pub id: String,
    /// A number as the server wrote it: an integer today, maybe fractional one day.
    #[serde(default)]
    pub weight: Option<Number>,
    #[serde(default)]
    pub priority: Option<Number>,
}

/// `POST /v1/admin/routes/decide`.
#[derive(Deserialize)]
pub struct Decision {
    pub route: String,
    #[serde(default)]
    pub candidates: Vec<Candidate>,
    #[serde(default)]
    pub excluded: Vec<Candidate>,
    #[serde(default)]
    pub fallbacks: Vec<String>,
}

#[derive(Deserialize)]
pub struct Candidate {
    pub id: String,
    pub availability: String,
    #[serde(default)]
    pub cooling_for_ms: Option<u64>,
    #[serde(default)]
    pub weight: Option<Number>,
    #[serde(default)]
    pub priority: Option<Number>,
    #[serde(default)]
    pub in_flight: Option<u64>,
    #[serde(default)]
    pub latency_ms: Option<f64>,
    #[serde(default)]
    pub sticky: bool,
}

/// `GET /v1/admin/deployments`.
#[derive(Deserialize)]
pub struct DeploymentsView {
    #[serde(default)]
    pub deployments: Vec<DeploymentHealth>,
}

#[derive(Deserialize)]
pub struct DeploymentHealth {
    pub id: String,
    pub availability: String,
    #[serde(default)]
    pub cooling_for_ms: Option<u64>,
    #[serde(default)]
    pub in_flight: Option<u64>,
    #[serde(default)]
    pub ewma_ttft_ms: Option<f64>,
    #[serde(default)]
    pub successes: Option<u64>,
    #[serde(default)]
    pub failures: Option<u64>,
    #[serde(default)]
    pub trips: Option<u64>,
    #[serde(default)]
    pub rate_limited_for_ms: Option<u64>,
}

/// Reads an answer into `T`, naming `what` when its shape is not the expected one.
pub fn parse<T: for<'de> Deserialize<'de>>(value: Value, what: &str) -> Result<T, CliError> {
    serde_json::from_value(value)
        .map_err(|err| CliError::BadResponse(format!("{what} has an unexpected shape: {err}")))
}

pub const ROUTE_HEADER: [&str; 4] = ["NAME", "STRATEGY", "DEPLOYMENTS", "FALLBACKS"];

pub fn route_rows(view: &RoutesView) -> Vec<Vec<String>> {
    view.routes
        .iter()
        .map(|route| {
            let deployments: Vec<String> = route
                .deployments
                .iter()
                .map(|d| {
                    format!(
                        "{} (w={}, p={})",
                        d.id,
                        number(d.weight.as_ref()),
                        number(d.priority.as_ref())
                    )
                })
                .collect();
            vec![
                route.name.clone(),
                route.strategy.clone().unwrap_or_else(|| "-".into()),
                joined(&deployments),
                joined(&route.fallbacks),
            ]
        })
        .collect()
}

/// The lines around the route table: where the config came from, then default model and aliases.
pub fn routes_preamble(view: &RoutesView) -> Vec<String> {
    vec![
        format!("Source: {}", view.source.as_deref().unwrap_or("none")),
        format!("Loaded: {}", view.loaded_at.as_deref().unwrap_or("-")),
    ]
}

pub fn routes_epilogue(view: &RoutesView) -> Vec<String> {
    let mut lines = vec![format!(
        "Default model: {}",
        view.default_model.as_deref().unwrap_or("none")
    )];
    if view.aliases.is_empty() {
        lines.push("Aliases: none".into());
    } else {
        lines.push("Aliases:".into());
        lines.extend(
            view.aliases
                .iter()
                .map(|(alias, target)| format!("  {alias} -> {target}")),
        );
    }
    lines
}

pub const CANDIDATE_HEADER: [&str; 8] = [
    "#",
    "DEPLOYMENT",
    "AVAILABILITY",
    "WEIGHT",
    "PRIORITY",
    "IN FLIGHT",
    "LATENCY",
    "STICKY",
];

/// One row per candidate, numbered in the order the router tries them.
pub fn candidate_rows(candidates: &[Candidate]) -> Vec<Vec<String>> {
    candidates
        .iter()
        .enumerate()
        .map(|(i, c)| {
            vec![
                (i + 1).to_string(),
                c.id.clone(),
                availability(&c.availability, c.cooling_for_ms),
                number(c.weight.as_ref()),
                number(c.priority.as_ref()),
                count(c.in_flight),
                millis(c.latency_ms),
                if c.sticky { "yes" } else { "no" }.into(),
            ]
        })
        .collect()
}

pub fn fallbacks_line(fallbacks: &[String]) -> String {
    if fallbacks.is_empty() {
        "Fallbacks: none".into()
    } else {
        format!("Fallbacks: {}", fallbacks.join(", "))
    }
}

pub const DEPLOYMENT_HEADER: [&str; 6] = [
    "ID",
    "AVAILABILITY",
    "IN FLIGHT",
    "EWMA TTFT",
    "OK/FAILED",
    "TRIPS",
];

pub fn deployment_rows(view: &DeploymentsView) -> Vec<Vec<String>> {
    view.deployments
        .iter()
        .map(|d| {
            let mut state = availability(&d.availability, d.cooling_for_ms);
            if let Some(ms) = d.rate_limited_for_ms.filter(|ms| *ms > 0) {
                state.push_str(&format!(", rate-limited {}", duration(ms)));
            }
            vec![
                d.id.clone(),
                state,
                count(d.in_flight),
                millis(d.ewma_ttft_ms),
                format!("{}/{}", count(d.successes), count(d.failures)),
                count(d.trips),
            ]
        })
        .collect()
}

/// `cooling (1.2 s left)` while a cooldown runs, else the state as the server named it.
pub fn availability(state: &str, cooling_for_ms: Option<u64>) -> String {
    match cooling_for_ms.filter(|ms| *ms > 0) {
        Some(ms) => format!("{state} ({} left)", duration(ms)),
        None => state.to_string(),
    }
}

/// A remaining time at the precision a person needs: `850 ms`, `1.2 s`, `2m 05s`.
pub fn duration(ms: u64) -> String {
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        // Tenths, truncated: a cooldown never looks shorter than its last tenth.
        format!("{}.{} s", ms / 1_000, (ms % 1_000) / 100)
    } else {
        let secs = ms / 1_000;
        format!("{}m {:02}s", secs / 60, secs % 60)
    }
}

fn millis(value: Option<f64>) -> String {
    match value {
        Some(ms) if ms.is_finite() => format!("{ms:.1} ms"),
        _ => "-".into(),
    }
}

fn count(value: Option<u64>) -> String {
    value.map_or_else(|| "-".into(), |n| n.to_string())
}

fn number(value: Option<&Number>) -> String {
    value.map_or_else(|| "-".into(), Number::to_string)
}

fn joined(items: &[String]) -> String {
    if items.is_empty() {
        "-".into()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    fn routes_answer() -> Value {
        json!({
            "source": "/etc/forge.toml", "loaded_at": "2026-11-22T21:00:00Z", "default_model": "chat",
            "aliases": {"fast": "gpt-4o-mini", "big": "gpt-4o"},
            "routes": [{
                "name": "chat", "strategy": "priority", "retries": 1, "max_attempts": 4,
                "deadline_ms": null, "fallbacks": ["backup"],
                "timeouts": {"connect_ms": null, "first_token_ms": 30000, "idle_ms": null, "total_ms": null},
                "deployments": [
                    {"id": "openai/gpt-4o#0", "provider": "openai", "model": "gpt-4o", "weight": 1, "priority": 0},
                    {"id": "azure/gpt-4o#1", "provider": "azure", "model": "gpt-4o", "weight": 2.5, "priority": 1}
                ]
            }, {"name": "backup", "strategy": "weighted", "fallbacks": [], "deployments": []}],
            "something_new": true
        })
    }

    #[test]
    fn routes_render_deployments_fallbacks_and_aliases() {
        let view: RoutesView = parse(routes_answer(), "the routes").unwrap();
        assert_eq!(
            route_rows(&view),
            vec![
                vec![
                    "chat",
                    "priority",
                    "openai/gpt-4o#0 (w=1, p=0), azure/gpt-4o#1 (w=2.5, p=1)",
                    "backup"
                ],
                vec!["backup", "weighted", "-", "-"],
            ]
        );
        assert_eq!(
            routes_preamble(&view),
            vec!["Source: /etc/forge.toml", "Loaded: 2026-11-22T21:00:00Z"]
        );
        assert_eq!(
            routes_epilogue(&view),
            vec![
                "Default model: chat",
                "Aliases:",
                "  big -> gpt-4o",
                "  fast -> gpt-4o-mini"
            ]
        );
    }

    #[test]
    fn routes_without_file_default_or_aliases() {
        let view: RoutesView = parse(
            json!({"source": null, "loaded_at": null, "default_model": null, "aliases": {}, "routes": []}),
            "the routes",
        )
        .unwrap();
        assert!(route_rows(&view).is_empty());
        assert_eq!(routes_preamble(&view), vec!["Source: none", "Loaded: -"]);
        assert_eq!(
            routes_epilogue(&view),
            vec!["Default model: none", "Aliases: none"]
        );
    }

    #[test]
    fn candidates_are_numbered_with_cooldown_latency_and_stickiness() {
        let decision: Decision = parse(
            json!({
                "route": "chat",
                "candidates": [
                    {"id": "openai/gpt-4o#0", "provider": "openai", "model": "gpt-4o", "availability": "ready",
                     "cooling_for_ms": null, "weight": 1, "priority": 0, "in_flight": 3, "latency_ms": 12.54, "sticky": true},
                    {"id": "azure/gpt-4o#1", "availability": "probe", "cooling_for_ms": null, "weight": 1,
                     "priority": 1, "in_flight": 0, "latency_ms": null, "sticky": false}
                ],
                "excluded": [{"id": "groq/llama#2", "availability": "cooling", "cooling_for_ms": 1234,
                              "weight": 1, "priority": 0, "in_flight": 0, "latency_ms": null, "sticky": false}],
                "fallbacks": ["backup", "last"]
            }),
            "the decision",
        )
        .unwrap();
        assert_eq!(decision.route, "chat");
        assert_eq!(
            candidate_rows(&decision.candidates),
            vec![
                vec![
                    "1",
                    "openai/gpt-4o#0",
                    "ready",
                    "1",
                    "0",
                    "3",
                    "12.5 ms",
                    "yes"
                ],
                vec!["2", "azure/gpt-4o#1", "probe", "1", "1", "0", "-", "no"],
            ]
        );
        assert_eq!(
            candidate_rows(&decision.excluded)[0][2],
            "cooling (1.2 s left)"
        );
        assert_eq!(
            fallbacks_line(&decision.fallbacks),
            "Fallbacks: backup, last"
        );
        assert_eq!(fallbacks_line(&[]), "Fallbacks: none");
    }

    #[test]
    fn deployments_show_cooldown_rate_limit_and_counters() {
        let view: DeploymentsView = parse(
            json!({"deployments": [
                {"id": "openai/gpt-4o#0", "provider": "openai", "model": "gpt-4o", "availability": "cooling",
                 "cooling_for_ms": 65000, "in_flight": 2, "ewma_ttft_ms": 250.0, "successes": 10,
                 "failures": 2, "recent_failures": 2, "trips": 1, "rate_limited_for_ms": 800},
                {"id": "azure/gpt-4o#1", "availability": "ready", "cooling_for_ms": null, "in_flight": 0,
                 "ewma_ttft_ms": null, "successes": 0, "failures": 0, "recent_failures": 0, "trips": 0,
                 "rate_limited_for_ms": null}
            ]}),
            "the deployments",
        )
        .unwrap();
        assert_eq!(
            deployment_rows(&view),
            vec![
                vec![
                    "openai/gpt-4o#0",
                    "cooling (1m 05s left), rate-limited 800 ms",
                    "2",
                    "250.0 ms",
                    "10/2",
                    "1"
                ],
                vec!["azure/gpt-4o#1", "ready", "0", "-", "0/0", "0"],
            ]
        );
    }

    #[test]
    fn durations() {
        assert_eq!(duration(0), "0 ms");
        assert_eq!(duration(999), "999 ms");
        assert_eq!(duration(1_000), "1.0 s");
        assert_eq!(duration(1_299), "1.2 s");
        assert_eq!(duration(59_999), "59.9 s");
        assert_eq!(duration(60_000), "1m 00s");
        assert_eq!(duration(3_725_000), "62m 05s");
        assert_eq!(availability("cooling", Some(0)), "cooling");
        assert_eq!(availability("probe_in_flight", None), "probe_in_flight");
    }

    #[test]
    fn wrong_shapes_are_named() {
        let err = parse::<Decision>(json!({"candidates": []}), "the decision")
            .err()
            .unwrap();
        assert!(
            err.to_string()
                .contains("the decision has an unexpected shape"),
            "{err}"
        );
        assert!(parse::<DeploymentsView>(json!([1]), "the deployments").is_err());
    }
}
