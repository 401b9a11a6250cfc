//! `usage_records` rows as written and as read back, and the aggregate row.

use chrono::NaiveDateTime;
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text, Timestamp};
use forge_core::usage_record::UsageRecord;

use crate::StorageError;
use crate::store::usage::UsageTotals;
use crate::usage_sql::{Bind, Sql, naive_from_ms};

/// Appends `(…)` with one placeholder per column of `usage_sql::COLUMNS`, in that order.
pub(crate) fn push_record(sql: &mut Sql, r: &UsageRecord) -> Result<(), StorageError> {
    let started_at = naive_from_ms(r.started_at_ms)?;
    let values = [
        Bind::Text(Some(r.id.clone())),
        Bind::Text(Some(r.request_id.clone())),
        Bind::Time(started_at),
        Bind::Int(r.user_id),
        Bind::Int(r.forge_key_id),
        Bind::Text(r.gateway_key.clone()),
        Bind::Int(r.provider_key_id),
        Bind::Text(r.deployment.clone()),
        Bind::Text(Some(r.provider.clone())),
        Bind::Text(Some(r.requested_model.clone())),
        Bind::Text(Some(r.upstream_model.clone())),
        Bind::Text(Some(r.endpoint.clone())),
        Bind::Text(Some(r.dialect.clone())),
        Bind::Int(Some(r.input_tokens)),
        Bind::Int(Some(r.cached_read_tokens)),
        Bind::Int(Some(r.cache_write_tokens)),
        Bind::Int(Some(r.output_tokens)),
        Bind::Int(Some(r.reasoning_tokens)),
        Bind::Int(r.cost_nanos),
        Bind::Text(Some(r.currency.clone())),
        Bind::Text(Some(r.price_source.clone())),
        Bind::Int4(i32::from(r.status)),
        Bind::Text(r.error_class.clone()),
        Bind::Bool(r.streamed),
        Bind::Bool(r.estimated),
        Bind::Int(r.ttft_ms),
        Bind::Int(Some(r.duration_ms)),
        Bind::Bool(r.client_disconnected),
    ];
    sql.push("(");
    for (i, value) in values.into_iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(value);
    }
    sql.push(")");
    Ok(())
}

#[derive(QueryableByName)]
pub(crate) struct UsageRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    request_id: String,
    #[diesel(sql_type = Timestamp)]
    started_at: NaiveDateTime,
    #[diesel(sql_type = Nullable<BigInt>)]
    user_id: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    forge_key_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    gateway_key: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    provider_key_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    deployment: Option<String>,
    #[diesel(sql_type = Text)]
    provider: String,
    #[diesel(sql_type = Text)]
    requested_model: String,
    #[diesel(sql_type = Text)]
    upstream_model: String,
    #[diesel(sql_type = Text)]
    endpoint: String,
    #[diesel(sql_type = Text)]
    dialect: String,
    #[diesel(sql_type = BigInt)]
    input_tokens: i64,
    #[diesel(sql_type = BigInt)]
    cached_read_tokens: i64,
    #[diesel(sql_type = BigInt)]
    cache_write_tokens: i64,
    #[diesel(sql_type = BigInt)]
    output_tokens: i64,
    #[diesel(sql_type = BigInt)]
    reasoning_tokens: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    cost_nanos: Option<i64>,
    #[diesel(sql_type = Text)]
    currency: String,
    #[diesel(sql_type = Text)]
    price_source: String,
    #[diesel(sql_type = Integer)]
    status: i32,
    #[diesel(sql_type = Nullable<Text>)]
    error_class: Option<String>,
    #[diesel(sql_type = Bool)]
    streamed: bool,
    #[diesel(sql_type = Bool)]
    estimated: bool,
    #[diesel(sql_type = Nullable<BigInt>)]
    ttft_ms: Option<i64>,
    #[diesel(sql_type = BigInt)]
    duration_ms: i64,
    #[diesel(sql_type = Bool)]
    client_disconnected: bool,
}

impl TryFrom<UsageRow> for UsageRecord {
    type Error = StorageError;

    fn try_from(r: UsageRow) -> Result<Self, StorageError> {
        let status = u16::try_from(r.status)
            .map_err(|_| StorageError::Database(format!("corrupt status column: {}", r.status)))?;
        Ok(UsageRecord {
            id: r.id,
            request_id: r.request_id,
            started_at_ms: r.started_at.and_utc().timestamp_millis(),
            user_id: r.user_id,
            forge_key_id: r.forge_key_id,
            gateway_key: r.gateway_key,
            provider_key_id: r.provider_key_id,
            deployment: r.deployment,
            provider: r.provider,
            requested_model: r.requested_model,
            upstream_model: r.upstream_model,
            endpoint: r.endpoint,
            dialect: r.dialect,
            input_tokens: r.input_tokens,
            cached_read_tokens: r.cached_read_tokens,
            cache_write_tokens: r.cache_write_tokens,
            output_tokens: r.output_tokens,
            reasoning_tokens: r.reasoning_tokens,
            cost_nanos: r.cost_nanos,
            currency: r.currency,
            price_source: r.price_source,
            status,
            error_class: r.error_class,
            streamed: r.streamed,
            estimated: r.estimated,
            ttft_ms: r.ttft_ms,
            duration_ms: r.duration_ms,
            client_disconnected: r.client_disconnected,
        })
    }
}

pub(crate) fn records_from_rows(rows: Vec<UsageRow>) -> Result<Vec<UsageRecord>, StorageError> {
    rows.into_iter().map(UsageRecord::try_from).collect()
}

#[derive(QueryableByName)]
pub(crate) struct CountRow {
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

#[derive(QueryableByName)]
pub(crate) struct TotalsRow {
    #[diesel(sql_type = Nullable<BigInt>)]
    bucket_start_ms: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    model: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    provider: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    forge_key_id: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    user_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    gateway_key: Option<String>,
    #[diesel(sql_type = BigInt)]
    requests: i64,
    #[diesel(sql_type = BigInt)]
    input_tokens: i64,
    #[diesel(sql_type = BigInt)]
    cached_read_tokens: i64,
    #[diesel(sql_type = BigInt)]
    cache_write_tokens: i64,
    #[diesel(sql_type = BigInt)]
    output_tokens: i64,
    #[diesel(sql_type = BigInt)]
    reasoning_tokens: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    cost_nanos: Option<i64>,
    #[diesel(sql_type = BigInt)]
    unpriced_requests: i64,
    #[diesel(sql_type = BigInt)]
    estimated_requests: i64,
    #[diesel(sql_type = BigInt)]
    errors: i64,
}

impl From<TotalsRow> for UsageTotals {
    fn from(r: TotalsRow) -> Self {
        UsageTotals {
            bucket_start_ms: r.bucket_start_ms,
            model: r.model,
            provider: r.provider,
            forge_key_id: r.forge_key_id,
            user_id: r.user_id,
            gateway_key: r.gateway_key,
            requests: r.requests,
            input_tokens: r.input_tokens,
            cached_read_tokens: r.cached_read_tokens,
            cache_write_tokens: r.cache_write_tokens,
            output_tokens: r.output_tokens,
            reasoning_tokens: r.reasoning_tokens,
            cost_nanos: r.cost_nanos,
            unpriced_requests: r.unpriced_requests,
            estimated_requests: r.estimated_requests,
            errors: r.errors,
        }
    }
}
