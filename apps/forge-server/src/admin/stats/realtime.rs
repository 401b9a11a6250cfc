//! `GET /v1/statistic/usage/realtime` (Forge key): the caller's user's recent attempts, one
//! item each, newest first, paged. The window is clamped to the last seven days.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{Duration, Utc};
use forge_core::usage_record::UsageRecord;
use forge_storage::{ForgeKey, UsageFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::keys::{KeyLabels, matching};
use super::params::{instant, int, non_empty};
use super::{forge_caller, iso_utc, money};
use crate::admin::Deferred;
use crate::auth::forge_key::KEY_PREFIX;
use crate::error::ApiError;
use crate::state::AppState;

const WINDOW: Duration = Duration::days(7);
/// Upstream has no ceiling; one keeps a single request from reading a week of traffic at once.
const MAX_PAGE_SIZE: i64 = 1000;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RealtimeQuery {
    /// From 0 (default 0).
    #[param(value_type = Option<i64>, minimum = 0)]
    page_index: Option<String>,
    /// 1 to 1000 (default 10).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000)]
    page_size: Option<String>,
    forge_key: Option<String>,
    provider_name: Option<String>,
    model_name: Option<String>,
    /// A date or an RFC 3339 time.
    started_at: Option<String>,
    /// A date or an RFC 3339 time.
    ended_at: Option<String>,
}

/// One page of usage records, newest first.
#[derive(Serialize, ToSchema)]
struct Page {
    total: i64,
    items: Vec<Item>,
    page_size: i64,
    page_index: i64,
}

/// One upstream attempt.
#[derive(Serialize, ToSchema)]
struct Item {
    timestamp: String,
    forge_key: String,
    provider_name: String,
    model_name: String,
    /// All input plus output.
    tokens: i64,
    /// Uncached input only.
    input_tokens: i64,
    output_tokens: i64,
    cached_tokens: i64,
    /// Seconds, two decimals.
    duration: f64,
    /// Currency units; `"0"` for an unpriced attempt, which `priced` tells apart.
    cost: String,
    /// Nothing is billed by this server.
    billable: bool,
    /// Not upstream's: whether `cost` is known (adding a field is safe for its clients).
    priced: bool,
}

impl Item {
    fn new(r: &UsageRecord, labels: &KeyLabels) -> Self {
        Item {
            timestamp: iso_utc(r.started_at_ms),
            forge_key: labels.of(r.forge_key_id, r.gateway_key.as_deref()),
            provider_name: r.provider.clone(),
            model_name: r.upstream_model.clone(),
            tokens: r.total_tokens(),
            input_tokens: r.input_tokens.saturating_sub(r.cached_read_tokens),
            output_tokens: r.output_tokens,
            cached_tokens: r.cached_read_tokens,
            duration: (r.duration_ms as f64 / 10.0).round() / 100.0,
            cost: money::decimal(r.cost_nanos.unwrap_or(0)),
            billable: false,
            priced: r.cost_nanos.is_some(),
        }
    }
}

#[utoipa::path(get, path = "/v1/statistic/usage/realtime", tag = "Usage", operation_id = "usage_realtime",
    params(RealtimeQuery),
    responses(
        (status = 200, description = "The caller's usage records, a page at a time", body = Page),
        (status = 401, description = "A missing or unknown Forge API key", body = crate::openapi::errors::AdminError),
        (status = 403, description = "The key is inactive", body = crate::openapi::errors::AdminError),
        (status = 422, description = "A malformed query", body = crate::openapi::errors::AdminError),
        (status = 503, description = "The database is unreachable", body = crate::openapi::errors::AdminError),
    ),
    security(("forge_key" = []), ("x_api_key" = [])))]
pub async fn realtime(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: Deferred<web::Query<RealtimeQuery>>,
) -> Result<HttpResponse, ApiError> {
    let caller = forge_caller(&req).await?;
    let q = query?.into_inner();
    let page_index = int(q.page_index.as_deref(), "page_index", 0, 0)?;
    let page_size = int(q.page_size.as_deref(), "page_size", 10, 1)?;
    if page_size > MAX_PAGE_SIZE {
        return Err(ApiError::validation(
            &["query", "page_size"],
            format!("Input should be less than or equal to {MAX_PAGE_SIZE}"),
            "less_than_equal",
        ));
    }
    let forge_key = non_empty(q.forge_key, "forge_key")?;
    let provider = non_empty(q.provider_name, "provider_name")?;
    let model = non_empty(q.model_name, "model_name")?;
    let started = q
        .started_at
        .map(|v| instant(&v, "started_at"))
        .transpose()?;
    let ended = q.ended_at.map(|v| instant(&v, "ended_at")).transpose()?;

    let now = Utc::now();
    let floor = now - WINDOW;
    let start = started
        .map(|s| s.at)
        .filter(|s| *s > floor)
        .unwrap_or(floor);
    // An end in the future means "until now", which every stored record already is.
    let end = ended.map(|e| e.at).filter(|e| *e < now);
    let mut page = Page {
        total: 0,
        items: Vec::new(),
        page_size,
        page_index,
    };
    // Static keys have no user; their traffic is in `/v1/stats/` and `/v1/usage`.
    if caller.gateway.is_some() {
        return Ok(HttpResponse::Ok().json(page));
    }
    let mut filter = UsageFilter {
        user_id: Some(caller.user_id),
        from_ms: Some(start.timestamp_millis()),
        // Inclusive end, as upstream's `<=`.
        to_ms: end.map(|e| e.timestamp_millis().saturating_add(1)),
        provider_contains: provider,
        model_contains: model,
        ..UsageFilter::default()
    };
    let keys = state.store.list_forge_keys(caller.user_id).await?;
    let labels = KeyLabels::new(&keys);
    let offset = page_index.saturating_mul(page_size);
    let (total, records) = match forge_key {
        None => state.store.usage_page(filter, offset, page_size).await?,
        Some(needle) => {
            let ids = keys_matching(&state, &keys, caller.user_id, &needle).await?;
            match ids.as_slice() {
                [] => (0, Vec::new()),
                [id] => {
                    filter.forge_key_id = Some(*id);
                    state.store.usage_page(filter, offset, page_size).await?
                }
                // The filter takes one key id: read the (at most a week's) records and
                // page here. Reversed, oldest-first by (time, id) is newest-first.
                _ => {
                    let mut all = state.store.usage_records(filter).await?;
                    all.retain(|r| r.forge_key_id.is_some_and(|id| ids.contains(&id)));
                    all.reverse();
                    let total = i64::try_from(all.len()).unwrap_or(i64::MAX);
                    let skip = usize::try_from(offset).unwrap_or(usize::MAX);
                    let take = usize::try_from(page_size).unwrap_or(usize::MAX);
                    (total, all.into_iter().skip(skip).take(take).collect())
                }
            }
        }
    };
    page.total = total;
    page.items = records.iter().map(|r| Item::new(r, &labels)).collect();
    Ok(HttpResponse::Ok().json(page))
}

/// Upstream matches the filter against each key's name and plaintext key. Only a digest of
/// the key is stored, so a whole key is recognised by its digest, and anything else is
/// matched against the name and the mask (which ends with the key's last four characters).
async fn keys_matching(
    state: &AppState,
    keys: &[ForgeKey],
    user_id: i64,
    needle: &str,
) -> Result<Vec<i64>, ApiError> {
    let mut ids = matching(keys, needle);
    if needle.starts_with(KEY_PREFIX) {
        let digest = forge_storage::apikey::digest_forge_key(needle);
        if let Some(found) = state.store.load_auth(&digest).await?
            && found.key.user_id == user_id
            && !ids.contains(&found.key.id)
        {
            ids.push(found.key.id);
        }
    }
    Ok(ids)
}
