//! The SQLite insert of usage records, prepared once per connection.
//!
//! SQLite parses a statement at about the cost of running it, and diesel parses SQL text
//! (`sql_query`) again at every execution, so a multi-row insert built as text paid a full
//! parse per record. These statements have a fixed text per row count and a static query id,
//! so diesel's statement cache finds them by type, and each execution only binds values.
//!
//! `INSERT OR IGNORE`, not `ON CONFLICT DO NOTHING`: a statement writing several rows that
//! may abort on a constraint makes SQLite keep a statement journal in a temporary file (~5
//! page writes per record); one that ignores conflicts can never abort half-way. Every
//! NOT NULL column is bound from a non-optional field, so the only conflict left to ignore
//! is a replayed id. PostgreSQL keeps the text builder of `usage_sql` (a whole batch per
//! round trip).

use diesel::QueryResult;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text, Timestamp};
use diesel::sqlite::Sqlite;

use chrono::NaiveDateTime;
use forge_core::usage_record::UsageRecord;

use crate::usage_sql::COLUMNS;

/// Rows per statement; the remainder of a batch goes one row at a time.
pub(crate) const ROWS: usize = 16;

/// `INSERT OR IGNORE INTO usage_records (…) VALUES (…) × N`.
pub(crate) struct UsageInsert<'a, const N: usize> {
    pub(crate) rows: &'a [UsageRecord; N],
    /// Each row's values in their column types (computed first: binds borrow them).
    pub(crate) columns: &'a [Converted; N],
}

/// The values of a record whose column type differs from the record's.
pub(crate) struct Converted {
    pub(crate) started_at: NaiveDateTime,
    pub(crate) status: i32,
}

impl<const N: usize> QueryId for UsageInsert<'_, N> {
    type QueryId = UsageInsert<'static, N>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<const N: usize> QueryFragment<Sqlite> for UsageInsert<'_, N> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql("INSERT OR IGNORE INTO usage_records (");
        out.push_sql(COLUMNS);
        out.push_sql(") VALUES ");
        for (i, (r, c)) in self.rows.iter().zip(self.columns).enumerate() {
            out.push_sql(if i == 0 { "(" } else { ", (" });
            row(&mut out, r, c)?;
            out.push_sql(")");
        }
        Ok(())
    }
}

/// One row's values, in the order of [`COLUMNS`].
fn row<'b>(
    out: &mut AstPass<'_, 'b, Sqlite>,
    r: &'b UsageRecord,
    c: &'b Converted,
) -> QueryResult<()> {
    out.push_bind_param::<Text, _>(&r.id)?;
    out.push_sql(", ");
    out.push_bind_param::<Text, _>(&r.request_id)?;
    out.push_sql(", ");
    out.push_bind_param::<Timestamp, _>(&c.started_at)?;
    out.push_sql(", ");
    out.push_bind_param::<Nullable<BigInt>, _>(&r.user_id)?;
    out.push_sql(", ");
    out.push_bind_param::<Nullable<BigInt>, _>(&r.forge_key_id)?;
    out.push_sql(", ");
    out.push_bind_param::<Nullable<Text>, _>(&r.gateway_key)?;
    out.push_sql(", ");
    out.push_bind_param::<Nullable<BigInt>, _>(&r.provider_key_id)?;
    out.push_sql(", ");
    out.push_bind_param::<Nullable<Text>, _>(&r.deployment)?;
    for text in [
        &r.provider,
        &r.requested_model,
        &r.upstream_model,
        &r.endpoint,
        &r.dialect,
    ] {
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(text)?;
    }
    for count in [
        &r.input_tokens,
        &r.cached_read_tokens,
        &r.cache_write_tokens,
        &r.output_tokens,
        &r.reasoning_tokens,
    ] {
        out.push_sql(", ");
        out.push_bind_param::<BigInt, _>(count)?;
    }
    out.push_sql(", ");
    out.push_bind_param::<Nullable<BigInt>, _>(&r.cost_nanos)?;
    out.push_sql(", ");
    out.push_bind_param::<Text, _>(&r.currency)?;
    out.push_sql(", ");
    out.push_bind_param::<Text, _>(&r.price_source)?;
    out.push_sql(", ");
    out.push_bind_param::<Integer, _>(&c.status)?;
    out.push_sql(", ");
    out.push_bind_param::<Nullable<Text>, _>(&r.error_class)?;
    out.push_sql(", ");
    out.push_bind_param::<Bool, _>(&r.streamed)?;
    out.push_sql(", ");
    out.push_bind_param::<Bool, _>(&r.estimated)?;
    out.push_sql(", ");
    out.push_bind_param::<Nullable<BigInt>, _>(&r.ttft_ms)?;
    out.push_sql(", ");
    out.push_bind_param::<BigInt, _>(&r.duration_ms)?;
    out.push_sql(", ");
    out.push_bind_param::<Bool, _>(&r.client_disconnected)?;
    Ok(())
}
