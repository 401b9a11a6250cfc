//! `GET /v1/statistic/usage/summary` and `GET /v1/statistic/forge-keys/usage` (JWT): the
//! user's usage per Forge key, over time buckets or as one breakdown. Nothing is billed by
//! this server, so every `charged_cost` is `"0"`; unpriced usage counts as cost `"0"`.

use std::cmp::Ordering;

use actix_web::{HttpResponse, web};
use chrono::Utc;
use forge_storage::{UsageFilter, UsageGroup, UsageTotals};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::keys::KeyLabels;
use super::params::Span;
use super::{iso_utc, money};
use crate::admin::Deferred;
use crate::auth::jwt::CurrentUser;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SpanQuery {
    /// `day`, `week` or `month` (summary); also `year` and `all` (per key).
    span: Option<String>,
}

/// One Forge key's totals.
#[derive(Serialize, ToSchema)]
struct Breakdown {
    forge_key: String,
    tokens: i64,
    cost: String,
    charged_cost: String,
    /// Uncached input only.
    input_tokens: i64,
    output_tokens: i64,
    cached_tokens: i64,
    #[serde(skip)]
    cost_nanos: i64,
}

impl Breakdown {
    fn new(t: &UsageTotals, labels: &KeyLabels) -> Self {
        let cost_nanos = t.cost_nanos.unwrap_or(0);
        Breakdown {
            forge_key: labels.of(t.forge_key_id, t.gateway_key.as_deref()),
            tokens: t.input_tokens.saturating_add(t.output_tokens),
            cost: money::decimal(cost_nanos),
            charged_cost: "0".to_owned(),
            input_tokens: t.input_tokens.saturating_sub(t.cached_read_tokens),
            output_tokens: t.output_tokens,
            cached_tokens: t.cached_read_tokens,
            cost_nanos,
        }
    }
}

/// Cost descending, then label, as upstream orders.
fn by_cost(a: &Breakdown, b: &Breakdown) -> Ordering {
    b.cost_nanos
        .cmp(&a.cost_nanos)
        .then_with(|| a.forge_key.cmp(&b.forge_key))
}

/// One hour or day, with a breakdown per key.
#[derive(Serialize, ToSchema)]
struct TimePoint {
    time_point: String,
    breakdown: Vec<Breakdown>,
    total_tokens: i64,
    total_cost: String,
    total_charged_cost: String,
    total_input_tokens: i64,
    total_output_tokens: i64,
    total_cached_tokens: i64,
}

impl TimePoint {
    fn new(bucket_ms: i64, mut breakdown: Vec<Breakdown>) -> Self {
        breakdown.sort_by(by_cost);
        let sum =
            |f: fn(&Breakdown) -> i64| breakdown.iter().map(f).fold(0i64, i64::saturating_add);
        TimePoint {
            time_point: iso_utc(bucket_ms),
            total_tokens: sum(|b| b.tokens),
            total_cost: money::decimal(sum(|b| b.cost_nanos)),
            total_charged_cost: "0".to_owned(),
            total_input_tokens: sum(|b| b.input_tokens),
            total_output_tokens: sum(|b| b.output_tokens),
            total_cached_tokens: sum(|b| b.cached_tokens),
            breakdown,
        }
    }
}

/// Per hour over the last day, per day over the last week or 30 days; oldest first, only
/// buckets with usage (as upstream).
#[utoipa::path(get, path = "/v1/statistic/usage/summary", tag = "Usage", operation_id = "usage_summary",
    params(SpanQuery),
    responses((status = 200, description = "The caller's usage per hour (day) or per day (week, month)", body = Vec<TimePoint>)),
    security(("jwt" = [])))]
pub async fn summary(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    query: Deferred<web::Query<SpanQuery>>,
) -> Result<HttpResponse, ApiError> {
    let q = query?.into_inner();
    let span = Span::parse(q.span.as_deref(), &[Span::Day, Span::Week, Span::Month])?;
    let bucket = if span == Span::Day {
        UsageGroup::Hour
    } else {
        UsageGroup::Day
    };
    let filter = UsageFilter {
        user_id: Some(user.id),
        from_ms: span.start_ms(Utc::now()),
        ..UsageFilter::default()
    };
    let labels = KeyLabels::new(&state.store.list_forge_keys(user.id).await?);
    // Ordered by bucket first, so each bucket's rows are adjacent.
    let totals = state
        .store
        .usage_totals(filter, &[bucket, UsageGroup::ForgeKey])
        .await?;
    let mut points: Vec<TimePoint> = Vec::new();
    let mut current: Option<(i64, Vec<Breakdown>)> = None;
    for t in &totals {
        let bucket_ms = t.bucket_start_ms.unwrap_or(0);
        match &mut current {
            Some((ms, rows)) if *ms == bucket_ms => rows.push(Breakdown::new(t, &labels)),
            _ => {
                if let Some((ms, rows)) = current.take() {
                    points.push(TimePoint::new(ms, rows));
                }
                current = Some((bucket_ms, vec![Breakdown::new(t, &labels)]));
            }
        }
    }
    if let Some((ms, rows)) = current {
        points.push(TimePoint::new(ms, rows));
    }
    Ok(HttpResponse::Ok().json(points))
}

/// One breakdown per Forge key over the span (`all`: all time), cost descending.
#[utoipa::path(get, path = "/v1/statistic/forge-keys/usage", tag = "Usage", operation_id = "forge_keys_usage",
    params(SpanQuery),
    responses((status = 200, description = "The caller's usage per Forge key, cost descending", body = Vec<Breakdown>)),
    security(("jwt" = [])))]
pub async fn forge_keys(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    query: Deferred<web::Query<SpanQuery>>,
) -> Result<HttpResponse, ApiError> {
    let q = query?.into_inner();
    let span = Span::parse(
        q.span.as_deref(),
        &[Span::Day, Span::Week, Span::Month, Span::Year, Span::All],
    )?;
    let filter = UsageFilter {
        user_id: Some(user.id),
        from_ms: span.start_ms(Utc::now()),
        ..UsageFilter::default()
    };
    let labels = KeyLabels::new(&state.store.list_forge_keys(user.id).await?);
    let totals = state
        .store
        .usage_totals(filter, &[UsageGroup::ForgeKey])
        .await?;
    let mut rows: Vec<Breakdown> = totals.iter().map(|t| Breakdown::new(t, &labels)).collect();
    rows.sort_by(by_cost);
    Ok(HttpResponse::Ok().json(rows))
}
