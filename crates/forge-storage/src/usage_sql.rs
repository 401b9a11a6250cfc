//! SQL text for `usage_records`, one builder for both backends. Only fixed fragments are
//! written into the text; every value from a caller travels as a bind parameter.

use chrono::NaiveDateTime;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text, Timestamp};
use diesel_async::AsyncConnectionCore;

use crate::StorageError;
use crate::store::usage::{UsageFilter, UsageGroup};

/// The table's columns, in the order [`crate::usage_rows::push_record`] binds them.
pub(crate) const COLUMNS: &str = "id, request_id, started_at, user_id, forge_key_id, \
     gateway_key, provider_key_id, deployment, provider, requested_model, upstream_model, \
     endpoint, dialect, input_tokens, cached_read_tokens, cache_write_tokens, output_tokens, \
     reasoning_tokens, cost_nanos, currency, price_source, status, error_class, streamed, \
     estimated, ttft_ms, duration_ms, client_disconnected";

const COLUMN_COUNT: usize = 28;

/// SQLite allows 32766 variables per statement, PostgreSQL 65535: 500 rows stay well below.
pub(crate) const INSERT_BATCH_ROWS: usize = 500;

const _: () = assert!(INSERT_BATCH_ROWS * COLUMN_COUNT <= 32_766);

pub(crate) enum Bind {
    Int(Option<i64>),
    Int4(i32),
    Text(Option<String>),
    Bool(bool),
    Time(NaiveDateTime),
}

/// Statement text with its parameters, placeholders numbered for PostgreSQL (`$n`) or
/// positional for SQLite (`?`).
pub(crate) struct Sql {
    pg: bool,
    text: String,
    binds: Vec<Bind>,
}

impl Sql {
    pub(crate) fn new(pg: bool) -> Sql {
        Sql {
            pg,
            text: String::new(),
            binds: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    pub(crate) fn bind(&mut self, value: Bind) -> &mut Sql {
        self.binds.push(value);
        if self.pg {
            self.text.push('$');
            self.text.push_str(&self.binds.len().to_string());
        } else {
            self.text.push('?');
        }
        self
    }

    /// Appends ` WHERE …` for every set field of `filter` (nothing if none is set).
    pub(crate) fn push_filter(&mut self, filter: &UsageFilter) -> Result<(), StorageError> {
        let mut first = true;
        let mut cond = |sql: &mut Sql, text: &str| {
            sql.push(if first { " WHERE " } else { " AND " }).push(text);
            first = false;
        };
        if let Some(id) = filter.user_id {
            cond(self, "user_id = ");
            self.bind(Bind::Int(Some(id)));
        }
        if let Some(id) = filter.forge_key_id {
            cond(self, "forge_key_id = ");
            self.bind(Bind::Int(Some(id)));
        }
        if let Some(provider) = &filter.provider {
            cond(self, "provider = ");
            self.bind(Bind::Text(Some(provider.clone())));
        }
        if let Some(model) = &filter.model {
            cond(self, "upstream_model = ");
            self.bind(Bind::Text(Some(model.clone())));
        }
        if let Some(ms) = filter.from_ms {
            cond(self, "started_at >= ");
            self.bind(Bind::Time(naive_from_ms(ms)?));
        }
        if let Some(ms) = filter.to_ms {
            cond(self, "started_at < ");
            self.bind(Bind::Time(naive_from_ms(ms)?));
        }
        if let Some(part) = &filter.provider_contains {
            cond(self, "lower(provider) LIKE ");
            self.bind(Bind::Text(Some(contains_pattern(part))))
                .push(" ESCAPE '\\'");
        }
        if let Some(part) = &filter.model_contains {
            cond(self, "lower(upstream_model) LIKE ");
            self.bind(Bind::Text(Some(contains_pattern(part))))
                .push(" ESCAPE '\\'");
        }
        Ok(())
    }

    /// The statement, ready to run on `conn`'s backend.
    pub(crate) fn query<C>(self, _conn: &C) -> BoxedSqlQuery<'static, C::Backend, SqlQuery>
    where
        C: AsyncConnectionCore,
        C::Backend: BindValue,
    {
        let mut query = diesel::sql_query(self.text).into_boxed::<C::Backend>();
        for value in self.binds {
            query = C::Backend::bind_value(query, value);
        }
        query
    }
}

/// Binding a [`Bind`], per backend: the `ToSql` bounds it needs cannot be stated once for
/// a generic backend without repeating them at every caller.
pub(crate) trait BindValue: diesel::backend::Backend + Sized {
    fn bind_value(
        query: BoxedSqlQuery<'static, Self, SqlQuery>,
        value: Bind,
    ) -> BoxedSqlQuery<'static, Self, SqlQuery>;
}

macro_rules! impl_bind_value {
    ($backend:ty) => {
        impl BindValue for $backend {
            fn bind_value(
                query: BoxedSqlQuery<'static, Self, SqlQuery>,
                value: Bind,
            ) -> BoxedSqlQuery<'static, Self, SqlQuery> {
                match value {
                    Bind::Int(v) => query.bind::<Nullable<BigInt>, _>(v),
                    Bind::Int4(v) => query.bind::<Integer, _>(v),
                    Bind::Text(v) => query.bind::<Nullable<Text>, _>(v),
                    Bind::Bool(v) => query.bind::<Bool, _>(v),
                    Bind::Time(v) => query.bind::<Timestamp, _>(v),
                }
            }
        }
    };
}

impl_bind_value!(diesel::pg::Pg);
impl_bind_value!(diesel::sqlite::Sqlite);

pub(crate) fn naive_from_ms(ms: i64) -> Result<NaiveDateTime, StorageError> {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.naive_utc())
        .ok_or_else(|| StorageError::Database(format!("timestamp {ms} ms is out of range")))
}

/// `%part%`, lowercased, with LIKE's wildcards in `part` taken literally (escape `\`).
fn contains_pattern(part: &str) -> String {
    let mut pattern = String::with_capacity(part.len() + 2);
    pattern.push('%');
    for c in part.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// `INSERT INTO usage_records (<columns>) VALUES `: the caller appends one
/// [`crate::usage_rows::push_record`] per row, then [`INSERT_TAIL`], which makes a replayed
/// id a no-op.
pub(crate) fn insert_head(sql: &mut Sql) {
    sql.push("INSERT INTO usage_records (")
        .push(COLUMNS)
        .push(") VALUES ");
}

pub(crate) const INSERT_TAIL: &str = " ON CONFLICT (id) DO NOTHING";

/// `SELECT <columns> FROM usage_records WHERE … ORDER BY …`, with `LIMIT`/`OFFSET` if given.
pub(crate) fn select_records(
    pg: bool,
    filter: &UsageFilter,
    newest_first: bool,
    window: Option<(i64, i64)>,
) -> Result<Sql, StorageError> {
    let mut sql = Sql::new(pg);
    sql.push("SELECT ")
        .push(COLUMNS)
        .push(" FROM usage_records");
    sql.push_filter(filter)?;
    // `id COLLATE "C"`: ids are hex, but the tie-break must not depend on the server's locale.
    sql.push(match (newest_first, pg) {
        (true, true) => " ORDER BY started_at DESC, id COLLATE \"C\" DESC",
        (true, false) => " ORDER BY started_at DESC, id DESC",
        (false, true) => " ORDER BY started_at, id COLLATE \"C\"",
        (false, false) => " ORDER BY started_at, id",
    });
    if let Some((offset, limit)) = window {
        sql.push(" LIMIT ").bind(Bind::Int(Some(limit.max(0))));
        sql.push(" OFFSET ").bind(Bind::Int(Some(offset.max(0))));
    }
    Ok(sql)
}

pub(crate) fn count_records(pg: bool, filter: &UsageFilter) -> Result<Sql, StorageError> {
    let mut sql = Sql::new(pg);
    sql.push("SELECT COUNT(*) AS n FROM usage_records");
    sql.push_filter(filter)?;
    Ok(sql)
}

/// The aggregate query behind `Store::usage_totals`; its columns are those of
/// [`crate::usage_rows::TotalsRow`].
pub(crate) fn totals(
    pg: bool,
    filter: &UsageFilter,
    groups: &[UsageGroup],
) -> Result<Sql, StorageError> {
    let mut keys: Vec<UsageGroup> = Vec::with_capacity(groups.len());
    for g in groups {
        if !keys.contains(g) {
            keys.push(*g);
        }
    }
    // One time bucket per row: hourly buckets already split every day.
    if keys.contains(&UsageGroup::Hour) {
        keys.retain(|g| *g != UsageGroup::Day);
    }
    let bucket = keys.iter().find_map(|g| match g {
        UsageGroup::Hour => Some(if pg { PG_HOUR } else { SQLITE_HOUR }),
        UsageGroup::Day => Some(if pg { PG_DAY } else { SQLITE_DAY }),
        _ => None,
    });
    let attrs: Vec<UsageGroup> = keys
        .iter()
        .copied()
        .filter(|g| !matches!(g, UsageGroup::Hour | UsageGroup::Day))
        .collect();
    let key_column = |g: UsageGroup| attrs.contains(&g).then(|| column(g));

    let mut sql = Sql::new(pg);
    sql.push("SELECT ");
    for (expr, alias, null) in [
        (bucket, "bucket_start_ms", NULL_INT),
        (key_column(UsageGroup::Model), "model", NULL_TEXT),
        (key_column(UsageGroup::Provider), "provider", NULL_TEXT),
        (key_column(UsageGroup::ForgeKey), "forge_key_id", NULL_INT),
        (key_column(UsageGroup::User), "user_id", NULL_INT),
        (key_column(UsageGroup::GatewayKey), "gateway_key", NULL_TEXT),
    ] {
        sql.push(expr.unwrap_or(null))
            .push(" AS ")
            .push(alias)
            .push(", ");
    }
    sql.push(AGGREGATES).push(" FROM usage_records");
    sql.push_filter(filter)?;

    let mut group_by: Vec<&str> = Vec::new();
    let mut order_by: Vec<String> = Vec::new();
    if let Some(b) = bucket {
        group_by.push(b);
        order_by.push(b.to_owned());
    }
    for g in &attrs {
        let col = column(*g);
        group_by.push(col);
        // NULLs last and byte order for text on both backends.
        let collate = if pg && is_text(*g) {
            " COLLATE \"C\""
        } else {
            ""
        };
        order_by.push(format!("({col} IS NULL), {col}{collate}"));
    }
    if !group_by.is_empty() {
        sql.push(" GROUP BY ").push(&group_by.join(", "));
        sql.push(" ORDER BY ").push(&order_by.join(", "));
    }
    Ok(sql)
}

fn column(g: UsageGroup) -> &'static str {
    match g {
        UsageGroup::Model => "upstream_model",
        UsageGroup::Provider => "provider",
        UsageGroup::ForgeKey => "forge_key_id",
        UsageGroup::User => "user_id",
        UsageGroup::GatewayKey => "gateway_key",
        // Not columns; `totals` handles the buckets separately.
        UsageGroup::Hour | UsageGroup::Day => "started_at",
    }
}

fn is_text(g: UsageGroup) -> bool {
    matches!(
        g,
        UsageGroup::Model | UsageGroup::Provider | UsageGroup::GatewayKey
    )
}

const NULL_INT: &str = "CAST(NULL AS BIGINT)";
const NULL_TEXT: &str = "CAST(NULL AS TEXT)";

// started_at is naive UTC, so truncating it truncates in UTC.
const SQLITE_HOUR: &str =
    "(CAST(strftime('%s', strftime('%Y-%m-%d %H:00:00', started_at)) AS BIGINT) * 1000)";
const SQLITE_DAY: &str = "(CAST(strftime('%s', started_at, 'start of day') AS BIGINT) * 1000)";
const PG_HOUR: &str = "(CAST(EXTRACT(EPOCH FROM date_trunc('hour', started_at)) AS BIGINT) * 1000)";
const PG_DAY: &str = "(CAST(EXTRACT(EPOCH FROM date_trunc('day', started_at)) AS BIGINT) * 1000)";

/// PostgreSQL's SUM of BIGINT is NUMERIC: cast back. COUNT(expr) skips NULLs.
const AGGREGATES: &str = "COUNT(*) AS requests, \
     CAST(COALESCE(SUM(input_tokens), 0) AS BIGINT) AS input_tokens, \
     CAST(COALESCE(SUM(cached_read_tokens), 0) AS BIGINT) AS cached_read_tokens, \
     CAST(COALESCE(SUM(cache_write_tokens), 0) AS BIGINT) AS cache_write_tokens, \
     CAST(COALESCE(SUM(output_tokens), 0) AS BIGINT) AS output_tokens, \
     CAST(COALESCE(SUM(reasoning_tokens), 0) AS BIGINT) AS reasoning_tokens, \
     CAST(SUM(cost_nanos) AS BIGINT) AS cost_nanos, \
     COUNT(CASE WHEN cost_nanos IS NULL AND input_tokens + output_tokens > 0 THEN 1 END) \
         AS unpriced_requests, \
     COUNT(CASE WHEN estimated THEN 1 END) AS estimated_requests, \
     COUNT(error_class) AS errors";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_literal() {
        assert_eq!(contains_pattern("GPT_4%"), "%gpt\\_4\\%%");
        assert_eq!(contains_pattern("a\\b"), "%a\\\\b%");
    }

    #[test]
    fn placeholders_follow_the_backend() {
        let filter = UsageFilter {
            user_id: Some(1),
            provider: Some("p".to_owned()),
            ..UsageFilter::default()
        };
        let mut pg = Sql::new(true);
        pg.push_filter(&filter).ok();
        assert_eq!(pg.text, " WHERE user_id = $1 AND provider = $2");
        let mut lite = Sql::new(false);
        lite.push_filter(&filter).ok();
        assert_eq!(lite.text, " WHERE user_id = ? AND provider = ?");
    }
}
