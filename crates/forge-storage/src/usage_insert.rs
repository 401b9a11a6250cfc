//! The SQLite insert of usage records, prepared once per connection.
//!
//! SQLite parses a statement at about the cost of running it, and diesel parses SQL text
//! (`sql_query`) again at every execution, so a multi-row insert built as text paid a full
//! parse per record. This statement has a fixed text and a static query id, so diesel's
//! statement cache finds it by type, and each execution only binds values.
//!
//! One row per statement: a statement that writes several rows and may abort on a
//! constraint makes SQLite keep a statement journal (a temporary file), which cost ~5 page
//! writes per record. PostgreSQL keeps the text builder of `usage_sql` (a whole batch per
//! round trip).

use diesel::QueryResult;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text, Timestamp};
use diesel::sqlite::Sqlite;

use chrono::NaiveDateTime;
use forge_core::usage_record::UsageRecord;

use crate::usage_sql::{COLUMNS, INSERT_TAIL};

/// `INSERT INTO usage_records (…) VALUES (…) ON CONFLICT (id) DO NOTHING`.
pub(crate) struct UsageInsert<'a> {
    pub(crate) row: &'a UsageRecord,
    /// The row's values in their column types (computed first: binds borrow them).
    pub(crate) columns: &'a Converted,
}

/// The values of a record whose column type differs from the record's.
pub(crate) struct Converted {
    pub(crate) started_at: NaiveDateTime,
    pub(crate) status: i32,
}

impl QueryId for UsageInsert<'_> {
    type QueryId = UsageInsert<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryFragment<Sqlite> for UsageInsert<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql("INSERT INTO usage_records (");
        out.push_sql(COLUMNS);
        out.push_sql(") VALUES (");
        let (r, c) = (self.row, self.columns);
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
        out.push_sql(")");
        out.push_sql(INSERT_TAIL);
        Ok(())
    }
}
