//! Usage records: idempotent writes of settled attempts and the statistics read from them.

use std::sync::Arc;

use diesel_async::{AsyncConnection, RunQueryDsl};
use forge_core::usage_record::UsageRecord;

use crate::db::{Db, SqliteConn, with_conn};
use crate::usage_insert::{self, Converted, UsageInsert};
use crate::usage_rows::{CountRow, TotalsRow, UsageRow, push_record, records_from_rows};
use crate::usage_sql::naive_from_ms;
use crate::usage_sql::{self, INSERT_BATCH_ROWS, INSERT_TAIL, Sql};
use crate::{StorageError, Store};

/// Which records a query covers; every field set narrows it, `Default` covers all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageFilter {
    pub user_id: Option<i64>,
    pub forge_key_id: Option<i64>,
    /// Exact provider name.
    pub provider: Option<String>,
    /// Exact upstream model.
    pub model: Option<String>,
    /// Inclusive lower bound on `started_at_ms`.
    pub from_ms: Option<i64>,
    /// Exclusive upper bound on `started_at_ms`.
    pub to_ms: Option<i64>,
    /// Case-insensitive substring of the provider name (on SQLite, ASCII letters only).
    pub provider_contains: Option<String>,
    /// Case-insensitive substring of the upstream model (on SQLite, ASCII letters only).
    pub model_contains: Option<String>,
}

/// A key to split totals by. `Hour` and `Day` are UTC buckets; given both, `Hour` wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UsageGroup {
    Hour,
    Day,
    /// The upstream model.
    Model,
    Provider,
    ForgeKey,
    User,
    GatewayKey,
}

/// Sums over one group. Key fields not grouped by are `None`; so are grouped keys whose
/// records carry none (e.g. `forge_key_id` of static-key traffic).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageTotals {
    /// Start of the hour or day bucket, Unix milliseconds (UTC).
    pub bucket_start_ms: Option<i64>,
    pub model: Option<String>,
    pub provider: Option<String>,
    pub forge_key_id: Option<i64>,
    pub user_id: Option<i64>,
    pub gateway_key: Option<String>,
    pub requests: i64,
    pub input_tokens: i64,
    pub cached_read_tokens: i64,
    pub cache_write_tokens: i64,
    pub output_tokens: i64,
    pub reasoning_tokens: i64,
    /// Sum over priced records; `None` when no record of the group has a price, so an
    /// unknown cost never reads as zero.
    pub cost_nanos: Option<i64>,
    /// Records with tokens but no price: `cost_nanos` leaves them out.
    pub unpriced_requests: i64,
    pub estimated_requests: i64,
    /// Records with an error class.
    pub errors: i64,
}

impl Store {
    /// Writes `records` in one transaction, skipping ids already stored, so replaying a
    /// journal is harmless. Returns how many rows were new.
    pub async fn insert_usage(
        &self,
        records: impl Into<Arc<[UsageRecord]>>,
    ) -> Result<usize, StorageError> {
        let records: Arc<[UsageRecord]> = records.into();
        if records.is_empty() {
            return Ok(0);
        }
        if let Db::Sqlite(pool) = self.db() {
            // SQLite: statements prepared once per connection (see `usage_insert`).
            let columns = records
                .iter()
                .map(|r| {
                    Ok(Converted {
                        started_at: naive_from_ms(r.started_at_ms)?,
                        status: i32::from(r.status),
                    })
                })
                .collect::<Result<Vec<_>, StorageError>>()?;
            let conn = pool.get_owned().await.map_err(crate::db::pool_error)?;
            return crate::db::run_detached(conn, async move |conn: &mut SqliteConn| {
                conn.transaction::<_, StorageError, _>(async |conn| {
                    let mut inserted = 0;
                    let rows = records.chunks_exact(usage_insert::ROWS);
                    let converted = columns.chunks_exact(usage_insert::ROWS);
                    let (rest, rest_columns) = (rows.remainder(), converted.remainder());
                    for (rows, columns) in rows.zip(converted) {
                        if let (Ok(rows), Ok(columns)) = (rows.try_into(), columns.try_into()) {
                            inserted += UsageInsert::<{ usage_insert::ROWS }> { rows, columns }
                                .execute(conn)
                                .await?;
                        }
                        // A batch of thousands is tens of milliseconds of CPU; on a machine
                        // as busy as its cores, the scheduler would run it in slices that
                        // hold request workers back by milliseconds. Handing the core over
                        // between statements bounds that wait to one statement.
                        std::thread::yield_now();
                    }
                    for (row, column) in rest.iter().zip(rest_columns) {
                        let rows = std::array::from_ref(row);
                        let columns = std::array::from_ref(column);
                        inserted += UsageInsert::<1> { rows, columns }.execute(conn).await?;
                    }
                    Ok(inserted)
                })
                .await
            })
            .await;
        }
        let mut statements = Vec::with_capacity(records.len().div_ceil(INSERT_BATCH_ROWS));
        let mut records = records.iter().peekable();
        while records.peek().is_some() {
            let mut sql = Sql::new(true);
            usage_sql::insert_head(&mut sql);
            for (i, record) in records.by_ref().take(INSERT_BATCH_ROWS).enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                push_record(&mut sql, record)?;
            }
            sql.push(INSERT_TAIL);
            statements.push(sql);
        }
        with_conn!(self.db(), |conn| {
            conn.transaction::<_, StorageError, _>(async |conn| {
                let mut inserted = 0;
                for sql in statements {
                    inserted += sql.query(&*conn).execute(conn).await?;
                }
                Ok(inserted)
            })
            .await
        })
    }

    /// Totals per combination of `group` keys (duplicates ignored), ordered by bucket, then
    /// by the keys in the order given, missing keys last. Without groups: exactly one row,
    /// zero counts if nothing matches.
    pub async fn usage_totals(
        &self,
        filter: UsageFilter,
        group: &[UsageGroup],
    ) -> Result<Vec<UsageTotals>, StorageError> {
        let sql = usage_sql::totals(self.is_pg(), &filter, group)?;
        with_conn!(self.db(), |conn| {
            let rows: Vec<TotalsRow> = sql.query(&*conn).load(conn).await?;
            Ok(rows.into_iter().map(UsageTotals::from).collect())
        })
    }

    /// The number of matching records and the `limit` newest of them after skipping
    /// `offset` (ties on time broken by id, descending).
    pub async fn usage_page(
        &self,
        filter: UsageFilter,
        offset: i64,
        limit: i64,
    ) -> Result<(i64, Vec<UsageRecord>), StorageError> {
        let pg = self.is_pg();
        let count = usage_sql::count_records(pg, &filter)?;
        let page = usage_sql::select_records(pg, &filter, true, Some((offset, limit)))?;
        with_conn!(self.db(), |conn| {
            let total: CountRow = count.query(&*conn).get_result(conn).await?;
            let rows: Vec<UsageRow> = page.query(&*conn).load(conn).await?;
            Ok((total.n, records_from_rows(rows)?))
        })
    }

    /// Every matching record, oldest first (ties broken by id). Unbounded: for export.
    pub async fn usage_records(
        &self,
        filter: UsageFilter,
    ) -> Result<Vec<UsageRecord>, StorageError> {
        let sql = usage_sql::select_records(self.is_pg(), &filter, false, None)?;
        with_conn!(self.db(), |conn| {
            let rows: Vec<UsageRow> = sql.query(&*conn).load(conn).await?;
            records_from_rows(rows)
        })
    }

    fn is_pg(&self) -> bool {
        matches!(self.db(), Db::Pg(_))
    }
}
