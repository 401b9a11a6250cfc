//! Request logs (`[logging]`): bodies of opted-in traffic, written idempotently in batches,
//! read back in a stable order for export, and deleted past their retention. The server
//! redacts and truncates before anything reaches this module.

use chrono::NaiveDateTime;
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text, Timestamp};
use diesel_async::{AsyncConnection, RunQueryDsl};

use crate::db::{Db, with_conn};
use crate::usage_sql::{Bind, Sql, naive_from_ms};
use crate::{StorageError, Store};

/// Rows per INSERT: bodies may be large, so statements stay small (15 binds a row).
const INSERT_ROWS: usize = 100;

const COLUMNS: &str = "id, request_id, started_at, user_id, forge_key_id, gateway_key, \
     provider, model, upstream_model, endpoint, status, streamed, request_body, response_body, \
     truncated";

/// One logged upstream attempt; `id` is the attempt's usage record id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestLog {
    pub id: String,
    pub request_id: String,
    pub started_at_ms: i64,
    pub user_id: Option<i64>,
    pub forge_key_id: Option<i64>,
    /// The static forge.toml key's name, for traffic without a user.
    pub gateway_key: Option<String>,
    pub provider: String,
    /// The model the client asked for.
    pub model: String,
    pub upstream_model: String,
    pub endpoint: String,
    pub status: u16,
    pub streamed: bool,
    pub request_body: String,
    /// `None`: no answer was captured (the upstream failed before sending one).
    pub response_body: Option<String>,
    /// Either body was cut to the configured size.
    pub truncated: bool,
}

/// Which logs an export covers; every set field narrows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogFilter {
    pub user_id: Option<i64>,
    pub forge_key_id: Option<i64>,
    pub gateway_key: Option<String>,
    /// Inclusive lower bound on the start time.
    pub from_ms: Option<i64>,
    /// Exclusive upper bound on the start time.
    pub to_ms: Option<i64>,
}

/// Where the previous page ended: the next starts strictly after this log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogCursor {
    pub started_at_ms: i64,
    pub id: String,
}

impl RequestLog {
    pub fn cursor(&self) -> LogCursor {
        LogCursor {
            started_at_ms: self.started_at_ms,
            id: self.id.clone(),
        }
    }
}

impl Store {
    /// Writes `logs` in one transaction, skipping ids already stored; returns how many were new.
    pub async fn insert_request_logs(&self, logs: Vec<RequestLog>) -> Result<usize, StorageError> {
        let pg = is_pg(self);
        let mut statements = Vec::with_capacity(logs.len().div_ceil(INSERT_ROWS));
        for chunk in logs.chunks(INSERT_ROWS) {
            let mut sql = Sql::new(pg);
            sql.push("INSERT INTO request_logs (")
                .push(COLUMNS)
                .push(") VALUES ");
            for (i, log) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                push_row(&mut sql, log)?;
            }
            sql.push(" ON CONFLICT (id) DO NOTHING");
            statements.push(sql);
        }
        if statements.is_empty() {
            return Ok(0);
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

    /// Up to `limit` matching logs after `after`, oldest first (ties broken by id): page
    /// through an export by passing the last log's [`RequestLog::cursor`].
    pub async fn request_logs(
        &self,
        filter: &LogFilter,
        after: Option<&LogCursor>,
        limit: i64,
    ) -> Result<Vec<RequestLog>, StorageError> {
        let pg = is_pg(self);
        // Ids are hex, but the order must not depend on the server's locale.
        let id = if pg { "id COLLATE \"C\"" } else { "id" };
        let mut sql = Sql::new(pg);
        sql.push("SELECT ")
            .push(COLUMNS)
            .push(" FROM request_logs WHERE 1 = 1");
        if let Some(user) = filter.user_id {
            sql.push(" AND user_id = ").bind(Bind::Int(Some(user)));
        }
        if let Some(key) = filter.forge_key_id {
            sql.push(" AND forge_key_id = ").bind(Bind::Int(Some(key)));
        }
        if let Some(name) = &filter.gateway_key {
            sql.push(" AND gateway_key = ")
                .bind(Bind::Text(Some(name.clone())));
        }
        if let Some(ms) = filter.from_ms {
            sql.push(" AND started_at >= ")
                .bind(Bind::Time(naive_from_ms(ms)?));
        }
        if let Some(ms) = filter.to_ms {
            sql.push(" AND started_at < ")
                .bind(Bind::Time(naive_from_ms(ms)?));
        }
        if let Some(cursor) = after {
            let at = naive_from_ms(cursor.started_at_ms)?;
            sql.push(" AND (started_at > ").bind(Bind::Time(at));
            sql.push(" OR (started_at = ").bind(Bind::Time(at));
            sql.push(" AND ")
                .push(id)
                .push(" > ")
                .bind(Bind::Text(Some(cursor.id.clone())))
                .push("))");
        }
        sql.push(" ORDER BY started_at, ").push(id);
        sql.push(" LIMIT ").bind(Bind::Int(Some(limit.max(0))));
        with_conn!(self.db(), |conn| {
            let rows: Vec<LogRow> = sql.query(&*conn).load(conn).await?;
            rows.into_iter().map(RequestLog::try_from).collect()
        })
    }

    /// Retention: drops logs that started before `cutoff_ms`; returns how many went.
    pub async fn delete_request_logs_before(&self, cutoff_ms: i64) -> Result<usize, StorageError> {
        let mut sql = Sql::new(is_pg(self));
        sql.push("DELETE FROM request_logs WHERE started_at < ")
            .bind(Bind::Time(naive_from_ms(cutoff_ms)?));
        with_conn!(self.db(), |conn| {
            let n = sql.query(&*conn).execute(conn).await?;
            Ok(n)
        })
    }
}

fn is_pg(store: &Store) -> bool {
    matches!(store.db(), Db::Pg(_))
}

fn push_row(sql: &mut Sql, log: &RequestLog) -> Result<(), StorageError> {
    let values = [
        Bind::Text(Some(log.id.clone())),
        Bind::Text(Some(log.request_id.clone())),
        Bind::Time(naive_from_ms(log.started_at_ms)?),
        Bind::Int(log.user_id),
        Bind::Int(log.forge_key_id),
        Bind::Text(log.gateway_key.clone()),
        Bind::Text(Some(log.provider.clone())),
        Bind::Text(Some(log.model.clone())),
        Bind::Text(Some(log.upstream_model.clone())),
        Bind::Text(Some(log.endpoint.clone())),
        Bind::Int4(i32::from(log.status)),
        Bind::Bool(log.streamed),
        Bind::Text(Some(log.request_body.clone())),
        Bind::Text(log.response_body.clone()),
        Bind::Bool(log.truncated),
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
struct LogRow {
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
    #[diesel(sql_type = Text)]
    provider: String,
    #[diesel(sql_type = Text)]
    model: String,
    #[diesel(sql_type = Text)]
    upstream_model: String,
    #[diesel(sql_type = Text)]
    endpoint: String,
    #[diesel(sql_type = Integer)]
    status: i32,
    #[diesel(sql_type = Bool)]
    streamed: bool,
    #[diesel(sql_type = Text)]
    request_body: String,
    #[diesel(sql_type = Nullable<Text>)]
    response_body: Option<String>,
    #[diesel(sql_type = Bool)]
    truncated: bool,
}

impl TryFrom<LogRow> for RequestLog {
    type Error = StorageError;

    fn try_from(r: LogRow) -> Result<Self, StorageError> {
        let status = u16::try_from(r.status)
            .map_err(|_| StorageError::Database(format!("corrupt status column: {}", r.status)))?;
        Ok(RequestLog {
            id: r.id,
            request_id: r.request_id,
            started_at_ms: r.started_at.and_utc().timestamp_millis(),
            user_id: r.user_id,
            forge_key_id: r.forge_key_id,
            gateway_key: r.gateway_key,
            provider: r.provider,
            model: r.model,
            upstream_model: r.upstream_model,
            endpoint: r.endpoint,
            status,
            streamed: r.streamed,
            request_body: r.request_body,
            response_body: r.response_body,
            truncated: r.truncated,
        })
    }
}
