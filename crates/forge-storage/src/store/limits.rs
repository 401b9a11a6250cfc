//! Limits and budgets set through the admin API, one row per Forge key or user. The server
//! reads a key's and its user's rows together when it loads the key into its cache, so the
//! request path itself never queries them. SQL text, not `table!`, keeps the table beside its
//! only user (see `usage_sql` for the builder).

use std::fmt;

use chrono::NaiveDateTime;
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};

use crate::db::{Db, with_conn};
use crate::rows::now;
use crate::usage_sql::{Bind, Sql};
use crate::{StorageError, Store};

/// Whose limits a row holds; stored as `key:<id>` or `user:<id>`, the names the limiter uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitScope {
    /// A Forge API key, by id.
    Key(i64),
    /// A user (all their keys together), by id.
    User(i64),
}

impl fmt::Display for LimitScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitScope::Key(id) => write!(f, "key:{id}"),
            LimitScope::User(id) => write!(f, "user:{id}"),
        }
    }
}

/// The calendar span (UTC) a budget counts over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BudgetPeriod {
    Day,
    Month,
    Total,
}

/// A spend and/or token ceiling over a period; `None` leaves that dimension unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetLimit {
    pub period: BudgetPeriod,
    /// Billionths of the currency unit, as usage records count cost.
    #[serde(default)]
    pub max_cost_nanos: Option<i64>,
    #[serde(default)]
    pub max_tokens: Option<i64>,
}

/// One scope's limits; `None` (or no budget for a period) is unlimited.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LimitValues {
    pub rpm: Option<i64>,
    pub tpm: Option<i64>,
    pub concurrency: Option<i64>,
    pub budgets: Vec<BudgetLimit>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitSettings {
    pub scope: LimitScope,
    /// The user the scope belongs to (a key's owner).
    pub user_id: i64,
    pub values: LimitValues,
    pub updated_at: NaiveDateTime,
}

/// What is stored for one Forge key and its user; `None` where nothing is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthLimits {
    pub key: Option<LimitValues>,
    pub user: Option<LimitValues>,
}

const COLUMNS: &str = "scope, user_id, rpm, tpm, concurrency, budgets, updated_at";

#[derive(QueryableByName)]
struct SettingsRow {
    #[diesel(sql_type = Text)]
    scope: String,
    #[diesel(sql_type = BigInt)]
    user_id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    rpm: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    tpm: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    concurrency: Option<i64>,
    #[diesel(sql_type = Text)]
    budgets: String,
    #[diesel(sql_type = Timestamp)]
    updated_at: NaiveDateTime,
}

impl SettingsRow {
    fn values(&self) -> Result<LimitValues, StorageError> {
        let budgets = serde_json::from_str(&self.budgets).map_err(|e| {
            StorageError::Database(format!("budgets of {} are unreadable: {e}", self.scope))
        })?;
        Ok(LimitValues {
            rpm: self.rpm,
            tpm: self.tpm,
            concurrency: self.concurrency,
            budgets,
        })
    }
}

impl Store {
    /// The row of `scope`, if one was set.
    pub async fn limit_settings(
        &self,
        scope: LimitScope,
    ) -> Result<Option<LimitSettings>, StorageError> {
        let mut sql = Sql::new(self.limits_pg());
        sql.push("SELECT ")
            .push(COLUMNS)
            .push(" FROM limit_settings WHERE scope = ")
            .bind(Bind::Text(Some(scope.to_string())));
        with_conn!(self.db(), |conn| {
            let rows: Vec<SettingsRow> = sql.query(&*conn).load(conn).await?;
            // `rows.first()` would name diesel's `first`, not the slice's.
            match rows.into_iter().next() {
                None => Ok(None),
                Some(row) => Ok(Some(LimitSettings {
                    scope,
                    user_id: row.user_id,
                    values: row.values()?,
                    updated_at: row.updated_at,
                })),
            }
        })
    }

    /// Inserts or replaces the row of `scope` as a whole.
    pub async fn set_limit_settings(
        &self,
        scope: LimitScope,
        user_id: i64,
        values: &LimitValues,
    ) -> Result<LimitSettings, StorageError> {
        let budgets = serde_json::to_string(&values.budgets)
            .map_err(|e| StorageError::Database(format!("budgets: {e}")))?;
        let updated_at = now();
        let mut sql = Sql::new(self.limits_pg());
        sql.push("INSERT INTO limit_settings (")
            .push(COLUMNS)
            .push(") VALUES (");
        let binds = [
            Bind::Text(Some(scope.to_string())),
            Bind::Int(Some(user_id)),
            Bind::Int(values.rpm),
            Bind::Int(values.tpm),
            Bind::Int(values.concurrency),
            Bind::Text(Some(budgets)),
            Bind::Time(updated_at),
        ];
        for (i, value) in binds.into_iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(value);
        }
        sql.push(
            ") ON CONFLICT (scope) DO UPDATE SET user_id = excluded.user_id, \
             rpm = excluded.rpm, tpm = excluded.tpm, concurrency = excluded.concurrency, \
             budgets = excluded.budgets, updated_at = excluded.updated_at",
        );
        with_conn!(self.db(), |conn| {
            sql.query(&*conn).execute(conn).await?;
            Ok::<_, StorageError>(())
        })?;
        Ok(LimitSettings {
            scope,
            user_id,
            values: values.clone(),
            updated_at,
        })
    }

    /// Removes the row of `scope`; false if there was none.
    pub async fn delete_limit_settings(&self, scope: LimitScope) -> Result<bool, StorageError> {
        let mut sql = Sql::new(self.limits_pg());
        sql.push("DELETE FROM limit_settings WHERE scope = ")
            .bind(Bind::Text(Some(scope.to_string())));
        with_conn!(self.db(), |conn| {
            let n = sql.query(&*conn).execute(conn).await?;
            Ok(n > 0)
        })
    }

    /// A Forge key's row and its user's, in one query.
    pub async fn auth_limits(&self, key_id: i64, user_id: i64) -> Result<AuthLimits, StorageError> {
        let (key, user) = (
            LimitScope::Key(key_id).to_string(),
            LimitScope::User(user_id).to_string(),
        );
        let mut sql = Sql::new(self.limits_pg());
        sql.push("SELECT ")
            .push(COLUMNS)
            .push(" FROM limit_settings WHERE scope IN (")
            .bind(Bind::Text(Some(key.clone())))
            .push(", ")
            .bind(Bind::Text(Some(user.clone())))
            .push(")");
        with_conn!(self.db(), |conn| {
            let rows: Vec<SettingsRow> = sql.query(&*conn).load(conn).await?;
            let mut out = AuthLimits::default();
            for row in &rows {
                if row.scope == key {
                    out.key = Some(row.values()?);
                } else if row.scope == user {
                    out.user = Some(row.values()?);
                }
            }
            Ok(out)
        })
    }

    fn limits_pg(&self) -> bool {
        matches!(self.db(), Db::Pg(_))
    }
}
