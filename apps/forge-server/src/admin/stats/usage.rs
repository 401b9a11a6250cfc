//! `GET /v1/usage` (JWT): Forge's own usage report, totals split by any of day, hour, model,
//! provider, key and user. Admins see every caller (static keys included); others only
//! themselves. Unlike the upstream-compatible routes, an unknown price never reads as zero:
//! `cost` is `null` when nothing in a row is priced, and `unpriced_requests` says how many
//! requests a priced sum leaves out.

use std::collections::{BTreeSet, HashMap};

use actix_web::{HttpResponse, web};
use chrono::{DateTime, SecondsFormat, Utc};
use forge_storage::{UsageFilter, UsageGroup, UsageTotals};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, ToSchema};

use super::keys::KeyLabels;
use super::money;
use super::params::{instant, present};
use crate::admin::Deferred;
use crate::auth::jwt::CurrentUser;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// Comma-separated keys to group rows by (`provider`, `model`, `key`, `user`, `day`, ...).
    group_by: Option<String>,
    /// A date or an RFC 3339 time, inclusive.
    from: Option<String>,
    /// A date (that whole day included) or an RFC 3339 time, exclusive.
    to: Option<String>,
    provider: Option<String>,
    model: Option<String>,
    /// Another user's id (admins only).
    #[param(value_type = Option<i64>)]
    user_id: Option<String>,
    #[param(value_type = Option<i64>)]
    key_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GroupKey {
    Day,
    Hour,
    Model,
    Provider,
    Key,
    User,
}

impl GroupKey {
    const ALL: [GroupKey; 6] = [
        GroupKey::Day,
        GroupKey::Hour,
        GroupKey::Model,
        GroupKey::Provider,
        GroupKey::Key,
        GroupKey::User,
    ];

    fn name(self) -> &'static str {
        match self {
            GroupKey::Day => "day",
            GroupKey::Hour => "hour",
            GroupKey::Model => "model",
            GroupKey::Provider => "provider",
            GroupKey::Key => "key",
            GroupKey::User => "user",
        }
    }
}

/// A comma list, blanks and repeats ignored, order kept.
fn parse_group_by(text: Option<&str>) -> Result<Vec<GroupKey>, ApiError> {
    let mut keys = Vec::new();
    for part in text.unwrap_or("").split(',').map(str::trim) {
        if part.is_empty() {
            continue;
        }
        let key = GroupKey::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(part))
            .ok_or_else(|| {
                ApiError::validation(
                    &["query", "group_by"],
                    format!(
                        "Unknown group '{part}': use a comma list of day, hour, model, provider, key, user"
                    ),
                    "enum",
                )
            })?;
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    Ok(keys)
}

/// The storage groups behind the requested keys, in their order. A key belongs to one user,
/// so grouping keys by user too splits nothing, and tells whose key list names each key.
fn storage_groups(keys: &[GroupKey]) -> Vec<UsageGroup> {
    let mut groups = Vec::new();
    for key in keys {
        match key {
            GroupKey::Day => groups.push(UsageGroup::Day),
            GroupKey::Hour => groups.push(UsageGroup::Hour),
            GroupKey::Model => groups.push(UsageGroup::Model),
            GroupKey::Provider => groups.push(UsageGroup::Provider),
            GroupKey::Key => groups.extend([UsageGroup::ForgeKey, UsageGroup::GatewayKey]),
            GroupKey::User => groups.push(UsageGroup::User),
        }
    }
    if keys.contains(&GroupKey::Key) && !keys.contains(&GroupKey::User) {
        groups.push(UsageGroup::User);
    }
    groups
}

/// Sums over a row or over everything.
#[derive(Serialize, ToSchema)]
struct Sums {
    requests: i64,
    input_tokens: i64,
    cached_input_tokens: i64,
    cache_write_tokens: i64,
    output_tokens: i64,
    reasoning_tokens: i64,
    /// Decimal currency units over the priced requests; `null` when none is priced.
    cost: Option<String>,
    currency: &'static str,
    unpriced_requests: i64,
    estimated_requests: i64,
    errors: i64,
}

impl From<&UsageTotals> for Sums {
    fn from(t: &UsageTotals) -> Self {
        Sums {
            requests: t.requests,
            input_tokens: t.input_tokens,
            cached_input_tokens: t.cached_read_tokens,
            cache_write_tokens: t.cache_write_tokens,
            output_tokens: t.output_tokens,
            reasoning_tokens: t.reasoning_tokens,
            cost: t.cost_nanos.map(money::decimal),
            currency: "USD",
            unpriced_requests: t.unpriced_requests,
            estimated_requests: t.estimated_requests,
            errors: t.errors,
        }
    }
}

/// Adds `b` into `a`; a cost stays `None` only while every part is unpriced.
fn add(a: &mut UsageTotals, b: &UsageTotals) {
    a.requests += b.requests;
    a.input_tokens += b.input_tokens;
    a.cached_read_tokens += b.cached_read_tokens;
    a.cache_write_tokens += b.cache_write_tokens;
    a.output_tokens += b.output_tokens;
    a.reasoning_tokens += b.reasoning_tokens;
    a.cost_nanos = match (a.cost_nanos, b.cost_nanos) {
        (None, None) => None,
        (x, y) => Some(x.unwrap_or(0).saturating_add(y.unwrap_or(0))),
    };
    a.unpriced_requests += b.unpriced_requests;
    a.estimated_requests += b.estimated_requests;
    a.errors += b.errors;
}

/// The group's keys (as `group_by` names them) and its sums.
#[derive(Serialize, ToSchema)]
struct Row {
    #[serde(flatten)]
    keys: Map<String, Value>,
    #[serde(flatten)]
    sums: Sums,
}

#[derive(Serialize, ToSchema)]
struct Report {
    from: Option<String>,
    to: Option<String>,
    group_by: Vec<&'static str>,
    totals: Sums,
    rows: Vec<Row>,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn id_param(value: Option<String>, field: &str) -> Result<Option<i64>, ApiError> {
    present(value)
        .map(|v| {
            v.trim().parse::<i64>().map_err(|_| {
                ApiError::validation(
                    &["query", field],
                    "Input should be a valid integer, unable to parse string as an integer",
                    "int_parsing",
                )
            })
        })
        .transpose()
}

/// `from` is inclusive and `to` exclusive; a bare date as `to` includes that whole day.
#[utoipa::path(get, path = "/v1/usage", tag = "Usage", operation_id = "usage",
    params(UsageQuery),
    responses(
        (status = 200, description = "Totals and grouped rows; unpriced requests kept apart", body = Report),
        (status = 403, description = "Another user's usage asked for by a non-admin", body = crate::openapi::errors::AdminError),
    ),
    security(("jwt" = [])))]
pub async fn usage(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    query: Deferred<web::Query<UsageQuery>>,
) -> Result<HttpResponse, ApiError> {
    let q = query?.into_inner();
    let keys = parse_group_by(q.group_by.as_deref())?;
    let from = present(q.from)
        .map(|v| instant(&v, "from"))
        .transpose()?
        .map(|i| i.at);
    let to = present(q.to)
        .map(|v| instant(&v, "to"))
        .transpose()?
        .map(|i| {
            if i.bare_date {
                i.at + chrono::Duration::days(1)
            } else {
                i.at
            }
        });
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(ApiError::validation(
            &["query", "to"],
            "to must not be before from",
            "value_error",
        ));
    }
    let user_id = id_param(q.user_id, "user_id")?;
    let key_id = id_param(q.key_id, "key_id")?;
    let user_filter = if user.is_admin {
        user_id
    } else {
        if user_id.is_some_and(|id| id != user.id) {
            return Err(ApiError::forbidden(
                "Not authorized to view other users' usage",
            ));
        }
        Some(user.id)
    };
    let filter = UsageFilter {
        user_id: user_filter,
        forge_key_id: key_id,
        provider: present(q.provider),
        model: present(q.model),
        from_ms: from.map(|t| t.timestamp_millis()),
        to_ms: to.map(|t| t.timestamp_millis()),
        ..UsageFilter::default()
    };
    let totals = state
        .store
        .usage_totals(filter, &storage_groups(&keys))
        .await?;
    let mut sum = UsageTotals::default();
    for t in &totals {
        add(&mut sum, t);
    }
    let names = Names::load(&state, &keys, &totals).await?;
    let rows = totals
        .iter()
        .map(|t| Row {
            keys: row_keys(&keys, t, &names),
            sums: Sums::from(t),
        })
        .collect();
    Ok(HttpResponse::Ok().json(Report {
        from: from.map(rfc3339),
        to: to.map(rfc3339),
        group_by: keys.iter().map(|k| k.name()).collect(),
        totals: Sums::from(&sum),
        rows,
    }))
}

/// Key labels and usernames for the rows that show them, one lookup per user.
struct Names {
    keys: KeyLabels,
    users: HashMap<i64, String>,
}

impl Names {
    async fn load(
        state: &AppState,
        keys: &[GroupKey],
        totals: &[UsageTotals],
    ) -> Result<Names, ApiError> {
        let user_ids: BTreeSet<i64> = totals.iter().filter_map(|t| t.user_id).collect();
        let mut names = Names {
            keys: KeyLabels::empty(),
            users: HashMap::new(),
        };
        if keys.contains(&GroupKey::Key) {
            for id in &user_ids {
                names.keys.extend(&state.store.list_forge_keys(*id).await?);
            }
        }
        if keys.contains(&GroupKey::User) {
            for id in &user_ids {
                if let Some(u) = state.store.user_by_id(*id).await? {
                    names.users.insert(*id, u.username);
                }
            }
        }
        Ok(names)
    }
}

fn row_keys(keys: &[GroupKey], t: &UsageTotals, names: &Names) -> Map<String, Value> {
    let mut out = Map::new();
    let bucket = t
        .bucket_start_ms
        .and_then(DateTime::<Utc>::from_timestamp_millis);
    for key in keys {
        match key {
            GroupKey::Day => {
                out.insert(
                    "day".into(),
                    json!(bucket.map(|b| b.format("%Y-%m-%d").to_string())),
                );
            }
            GroupKey::Hour => {
                out.insert(
                    "hour".into(),
                    json!(bucket.map(|b| b.format("%Y-%m-%dT%H:00:00Z").to_string())),
                );
            }
            GroupKey::Model => {
                out.insert("model".into(), json!(t.model));
            }
            GroupKey::Provider => {
                out.insert("provider".into(), json!(t.provider));
            }
            GroupKey::Key => {
                out.insert("key_id".into(), json!(t.forge_key_id));
                out.insert("gateway_key".into(), json!(t.gateway_key));
                let label = (t.forge_key_id.is_some() || t.gateway_key.is_some())
                    .then(|| names.keys.of(t.forge_key_id, t.gateway_key.as_deref()));
                out.insert("key".into(), json!(label));
            }
            GroupKey::User => {
                out.insert("user_id".into(), json!(t.user_id));
                out.insert(
                    "username".into(),
                    json!(t.user_id.and_then(|id| names.users.get(&id))),
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn group_by_keeps_order_and_drops_repeats() {
        let keys = parse_group_by(Some("model, day,model,,KEY")).unwrap();
        assert_eq!(keys, vec![GroupKey::Model, GroupKey::Day, GroupKey::Key]);
        assert_eq!(
            storage_groups(&keys),
            vec![
                UsageGroup::Model,
                UsageGroup::Day,
                UsageGroup::ForgeKey,
                UsageGroup::GatewayKey,
                UsageGroup::User
            ]
        );
        assert!(parse_group_by(None).unwrap().is_empty());
        let err = parse_group_by(Some("model,week")).unwrap_err();
        assert_eq!(err.status.as_u16(), 422);
        assert_eq!(err.detail[0]["loc"], json!(["query", "group_by"]));
    }

    #[test]
    fn a_cost_is_unknown_only_while_every_part_is() {
        let unpriced = UsageTotals {
            requests: 2,
            unpriced_requests: 2,
            ..UsageTotals::default()
        };
        let priced = UsageTotals {
            requests: 1,
            cost_nanos: Some(1_500),
            ..UsageTotals::default()
        };
        let mut sum = UsageTotals::default();
        add(&mut sum, &unpriced);
        assert_eq!(Sums::from(&sum).cost, None);
        add(&mut sum, &priced);
        let sums = Sums::from(&sum);
        assert_eq!(sums.cost.as_deref(), Some("0.0000015"));
        assert_eq!((sums.requests, sums.unpriced_requests), (3, 2));
    }
}
