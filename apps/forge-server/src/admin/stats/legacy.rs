//! `GET /v1/stats/` (Forge key) and `GET /v1/stats/admin` (admin JWT): totals per
//! (provider, model). Upstream reads a table nothing writes any more and so always answers
//! `[]`; here the same shape is filled from the live usage records.

use actix_web::{HttpRequest, HttpResponse, web};
use forge_storage::{UsageFilter, UsageGroup, UsageTotals};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::params::{date, day_end_ms, day_start_ms, present};
use super::{forge_caller, money};
use crate::admin::Deferred;
use crate::auth::jwt::CurrentUser;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    provider: Option<String>,
    model: Option<String>,
    /// A date (`2026-01-31`) or an RFC 3339 time, inclusive.
    start_date: Option<String>,
    /// A date (that whole day included) or an RFC 3339 time.
    end_date: Option<String>,
}

/// Totals per provider and model.
#[derive(Serialize, ToSchema)]
struct StatsRow {
    provider_name: String,
    /// The model the upstream was asked for (after mapping), as upstream logged it.
    model: String,
    input_tokens: i64,
    output_tokens: i64,
    total_tokens: i64,
    requests_count: i64,
    /// Currency units, a JSON number as upstream sends it. Unpriced records add nothing:
    /// this shape has no way to say "unknown", so it under-reports them; `/v1/usage` keeps
    /// them apart.
    cost: f64,
}

impl From<&UsageTotals> for StatsRow {
    fn from(t: &UsageTotals) -> Self {
        StatsRow {
            provider_name: t.provider.clone().unwrap_or_default(),
            model: t.model.clone().unwrap_or_default(),
            input_tokens: t.input_tokens,
            output_tokens: t.output_tokens,
            total_tokens: t.input_tokens.saturating_add(t.output_tokens),
            requests_count: t.requests,
            cost: money::units(t.cost_nanos.unwrap_or(0)),
        }
    }
}

/// Exact provider and model, inclusive UTC days; empty values filter nothing (as upstream).
fn filter(q: StatsQuery) -> Result<UsageFilter, ApiError> {
    Ok(UsageFilter {
        provider: present(q.provider),
        model: present(q.model),
        from_ms: match present(q.start_date) {
            Some(d) => Some(day_start_ms(date(&d, "start_date")?)),
            None => None,
        },
        to_ms: match present(q.end_date) {
            Some(d) => Some(day_end_ms(date(&d, "end_date")?)),
            None => None,
        },
        ..UsageFilter::default()
    })
}

/// The caller's user's records (all of its keys), or a static key's own records.
#[utoipa::path(get, path = "/v1/stats", tag = "Usage", operation_id = "user_stats",
    params(StatsQuery),
    responses(
        (status = 200, description = "Totals per provider and model of the caller's keys", body = Vec<StatsRow>),
        (status = 401, description = "A missing or unknown Forge API key", body = crate::openapi::errors::AdminError),
        (status = 403, description = "The key is inactive", body = crate::openapi::errors::AdminError),
        (status = 422, description = "A malformed query", body = crate::openapi::errors::AdminError),
        (status = 503, description = "The database is unreachable", body = crate::openapi::errors::AdminError),
    ),
    security(("forge_key" = []), ("x_api_key" = [])))]
pub async fn user_stats(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: Deferred<web::Query<StatsQuery>>,
) -> Result<HttpResponse, ApiError> {
    let caller = forge_caller(&req).await?;
    let mut filter = filter(query?.into_inner())?;
    let rows: Vec<StatsRow> = match &caller.gateway {
        // The filter cannot name a static key: split by it in SQL and keep this one's rows.
        Some(gateway) => state
            .store
            .usage_totals(
                filter,
                &[
                    UsageGroup::Provider,
                    UsageGroup::Model,
                    UsageGroup::GatewayKey,
                ],
            )
            .await?
            .iter()
            .filter(|t| t.gateway_key.as_deref() == Some(gateway.name.as_str()))
            .map(StatsRow::from)
            .collect(),
        None => {
            filter.user_id = Some(caller.user_id);
            per_model(&state, filter).await?
        }
    };
    Ok(HttpResponse::Ok().json(rows))
}

/// Every caller's records. Upstream always answers this 403; here admins get the totals.
#[utoipa::path(get, path = "/v1/stats/admin", tag = "Usage", operation_id = "admin_stats",
    params(StatsQuery),
    responses(
        (status = 200, description = "Totals per provider and model over every caller", body = Vec<StatsRow>),
        (status = 403, description = "Not an admin", body = crate::openapi::errors::AdminError),
    ),
    security(("jwt" = [])))]
pub async fn admin_stats(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    query: Deferred<web::Query<StatsQuery>>,
) -> Result<HttpResponse, ApiError> {
    if !user.is_admin {
        return Err(ApiError::forbidden(
            "Not authorized to access admin statistics",
        ));
    }
    let filter = filter(query?.into_inner())?;
    Ok(HttpResponse::Ok().json(per_model(&state, filter).await?))
}

async fn per_model(state: &AppState, filter: UsageFilter) -> Result<Vec<StatsRow>, ApiError> {
    let totals = state
        .store
        .usage_totals(filter, &[UsageGroup::Provider, UsageGroup::Model])
        .await?;
    Ok(totals.iter().map(StatsRow::from).collect())
}
