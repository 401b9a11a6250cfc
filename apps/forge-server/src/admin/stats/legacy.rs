//! `GET /v1/stats/` (Forge key) and `GET /v1/stats/admin` (admin JWT): totals per
//! (provider, model). Upstream reads a table nothing writes any more and so always answers
//! `[]`; here the same shape is filled from the live usage records.

use actix_web::{HttpRequest, HttpResponse, web};
use forge_storage::{UsageFilter, UsageGroup, UsageTotals};
use serde::{Deserialize, Serialize};

use super::params::{date, day_end_ms, day_start_ms, present};
use super::{forge_caller, money};
use crate::admin::Deferred;
use crate::auth::jwt::CurrentUser;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct StatsQuery {
    provider: Option<String>,
    model: Option<String>,
    start_date: Option<String>,
    end_date: Option<String>,
}

#[derive(Serialize)]
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
