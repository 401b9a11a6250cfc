//! Forge API keys: stored by SHA-256 digest, soft-deleted, optionally scoped to provider keys.

use chrono::NaiveDateTime;
use diesel::{
    BoolExpressionMethods, ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper,
};
use diesel_async::{AsyncConnection, RunQueryDsl};

use crate::db::with_conn;
use crate::models::{AuthRecord, ForgeKey, ForgeKeyChanges, NewForgeKey, User};
use crate::rows::{
    ForgeKeyChangeset, ForgeKeyRow, InsertForgeKey, ProviderKeyRow, UserRow, now,
    provider_keys_from_rows,
};
use crate::schema::{forge_api_keys as fk, forge_key_scopes as scopes, provider_keys, users};
use crate::{StorageError, Store};

/// (forge key id, provider key id) scope rows of the given keys, counting only live provider
/// keys of the Forge key's own user: a row written while its provider key was being deleted
/// (the caller checks ownership before the write, not inside it) must not show or grant.
macro_rules! scope_pairs {
    ($conn:expr, $key_ids:expr) => {
        scopes::table
            .inner_join(provider_keys::table)
            .inner_join(fk::table)
            .filter(scopes::forge_api_key_id.eq_any($key_ids))
            .filter(provider_keys::deleted_at.is_null())
            .filter(provider_keys::user_id.eq(fk::user_id))
            .select((scopes::forge_api_key_id, scopes::provider_key_id))
            .load::<(i64, i64)>($conn)
            .await
    };
}

/// Inserts one scope row per distinct provider key id. Row by row: diesel has no multi-row
/// insert for SQLite, and scopes are short.
macro_rules! insert_scope {
    ($conn:expr, $key_id:expr, $provider_ids:expr) => {{
        for provider_id in distinct($provider_ids) {
            diesel::insert_into(scopes::table)
                .values((
                    scopes::forge_api_key_id.eq($key_id),
                    scopes::provider_key_id.eq(provider_id),
                ))
                .execute($conn)
                .await?;
        }
    }};
}

fn distinct(ids: &[i64]) -> Vec<i64> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    ids
}

impl Store {
    /// Inserts the key and its scope rows in one transaction.
    pub async fn create_forge_key(&self, k: &NewForgeKey<'_>) -> Result<ForgeKey, StorageError> {
        let row = InsertForgeKey {
            user_id: k.user_id,
            key_digest: k.key_digest.to_owned(),
            key_suffix: k.key_suffix.to_owned(),
            name: k.name.map(str::to_owned),
            is_active: true,
            scope_restricted: k.scope.is_some(),
            created_at: now(),
        };
        let scope = k.scope.unwrap_or(&[]).to_vec();
        with_conn!(self.db(), |conn| {
            conn.transaction::<_, StorageError, _>(async |conn| {
                let created: ForgeKeyRow = diesel::insert_into(fk::table)
                    .values(&row)
                    .returning(ForgeKeyRow::as_returning())
                    .get_result(conn)
                    .await?;
                insert_scope!(conn, created.id, &scope);
                let pairs = scope_pairs!(conn, [created.id])?;
                Ok(created.into_model(&pairs))
            })
            .await
        })
    }

    /// The user's live keys, ordered by id.
    pub async fn list_forge_keys(&self, user_id: i64) -> Result<Vec<ForgeKey>, StorageError> {
        with_conn!(self.db(), |conn| {
            let rows: Vec<ForgeKeyRow> = fk::table
                .filter(fk::user_id.eq(user_id))
                .filter(fk::deleted_at.is_null())
                .order(fk::id.asc())
                .select(ForgeKeyRow::as_select())
                .load(conn)
                .await?;
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            let pairs = scope_pairs!(conn, &ids)?;
            Ok(rows.into_iter().map(|r| r.into_model(&pairs)).collect())
        })
    }

    pub async fn forge_key(&self, user_id: i64, id: i64) -> Result<Option<ForgeKey>, StorageError> {
        with_conn!(self.db(), |conn| {
            let row: Option<ForgeKeyRow> = fk::table
                .filter(fk::id.eq(id))
                .filter(fk::user_id.eq(user_id))
                .filter(fk::deleted_at.is_null())
                .select(ForgeKeyRow::as_select())
                .first(conn)
                .await
                .optional()?;
            match row {
                None => Ok(None),
                Some(row) => {
                    let pairs = scope_pairs!(conn, [row.id])?;
                    Ok(Some(row.into_model(&pairs)))
                }
            }
        })
    }

    /// `None` if the user has no such live key.
    pub async fn update_forge_key(
        &self,
        user_id: i64,
        id: i64,
        c: &ForgeKeyChanges,
    ) -> Result<Option<ForgeKey>, StorageError> {
        if c.name.is_none() && c.is_active.is_none() && c.scope.is_none() {
            return self.forge_key(user_id, id).await;
        }
        let changes = ForgeKeyChangeset {
            name: c.name.clone(),
            is_active: c.is_active,
            scope_restricted: c.scope.as_ref().map(|_| true),
        };
        let scope = c.scope.clone();
        with_conn!(self.db(), |conn| {
            conn.transaction::<_, StorageError, _>(async |conn| {
                // Write first: on SQLite that takes the write lock before anything is read.
                let row: Option<ForgeKeyRow> = diesel::update(
                    fk::table
                        .filter(fk::id.eq(id))
                        .filter(fk::user_id.eq(user_id))
                        .filter(fk::deleted_at.is_null()),
                )
                .set(&changes)
                .returning(ForgeKeyRow::as_returning())
                .get_result(conn)
                .await
                .optional()?;
                let Some(row) = row else { return Ok(None) };
                if let Some(scope) = &scope {
                    diesel::delete(scopes::table.filter(scopes::forge_api_key_id.eq(row.id)))
                        .execute(conn)
                        .await?;
                    insert_scope!(conn, row.id, scope);
                }
                let pairs = scope_pairs!(conn, [row.id])?;
                Ok(Some(row.into_model(&pairs)))
            })
            .await
        })
    }

    /// Replaces the stored digest and suffix; the old secret stops working at once. The
    /// scope is read in the same transaction, so the answer matches the row as written.
    pub async fn regenerate_forge_key(
        &self,
        user_id: i64,
        id: i64,
        key_digest: &str,
        key_suffix: &str,
    ) -> Result<Option<ForgeKey>, StorageError> {
        let (key_digest, key_suffix) = (key_digest.to_owned(), key_suffix.to_owned());
        with_conn!(self.db(), |conn| {
            conn.transaction::<_, StorageError, _>(async |conn| {
                let row: Option<ForgeKeyRow> = diesel::update(
                    fk::table
                        .filter(fk::id.eq(id))
                        .filter(fk::user_id.eq(user_id))
                        .filter(fk::deleted_at.is_null()),
                )
                .set((fk::key_digest.eq(key_digest), fk::key_suffix.eq(key_suffix)))
                .returning(ForgeKeyRow::as_returning())
                .get_result(conn)
                .await
                .optional()?;
                let Some(row) = row else { return Ok(None) };
                let pairs = scope_pairs!(conn, [row.id])?;
                Ok(Some(row.into_model(&pairs)))
            })
            .await
        })
    }

    /// Soft delete: sets `deleted_at` and drops the scope rows. Returns the key as it was.
    pub async fn delete_forge_key(
        &self,
        user_id: i64,
        id: i64,
    ) -> Result<Option<ForgeKey>, StorageError> {
        let at = now();
        with_conn!(self.db(), |conn| {
            conn.transaction::<_, StorageError, _>(async |conn| {
                let row: Option<ForgeKeyRow> = diesel::update(
                    fk::table
                        .filter(fk::id.eq(id))
                        .filter(fk::user_id.eq(user_id))
                        .filter(fk::deleted_at.is_null()),
                )
                .set(fk::deleted_at.eq(at))
                .returning(ForgeKeyRow::as_returning())
                .get_result(conn)
                .await
                .optional()?;
                let Some(row) = row else { return Ok(None) };
                let pairs = scope_pairs!(conn, [row.id])?;
                diesel::delete(scopes::table.filter(scopes::forge_api_key_id.eq(row.id)))
                    .execute(conn)
                    .await?;
                Ok(Some(row.into_model(&pairs)))
            })
            .await
        })
    }

    /// Records last use for a batch of keys in one transaction. A timestamp older than the
    /// stored one is ignored, so batches may be flushed out of order.
    pub async fn touch_forge_keys(
        &self,
        used: &[(i64, NaiveDateTime)],
    ) -> Result<(), StorageError> {
        let mut latest: Vec<(i64, NaiveDateTime)> = used.to_vec();
        latest.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        latest.dedup_by_key(|(id, _)| *id);
        if latest.is_empty() {
            return Ok(());
        }
        with_conn!(self.db(), |conn| {
            conn.transaction::<_, StorageError, _>(async |conn| {
                for (id, at) in &latest {
                    diesel::update(
                        fk::table
                            .filter(fk::id.eq(*id))
                            .filter(fk::last_used_at.is_null().or(fk::last_used_at.lt(*at))),
                    )
                    .set(fk::last_used_at.eq(*at))
                    .execute(conn)
                    .await?;
                }
                Ok(())
            })
            .await
        })
    }

    /// The live key with this digest (active or not), its user and the user's live provider
    /// keys. `None` if no live key has this digest.
    pub async fn load_auth(&self, key_digest: &str) -> Result<Option<AuthRecord>, StorageError> {
        let key_digest = key_digest.to_owned();
        with_conn!(self.db(), |conn| {
            let row: Option<ForgeKeyRow> = fk::table
                .filter(fk::key_digest.eq(key_digest))
                .filter(fk::deleted_at.is_null())
                .select(ForgeKeyRow::as_select())
                .first(conn)
                .await
                .optional()?;
            let Some(row) = row else { return Ok(None) };
            let pairs = scope_pairs!(conn, [row.id])?;
            let key = row.into_model(&pairs);
            let user: Option<UserRow> = users::table
                .find(key.user_id)
                .select(UserRow::as_select())
                .first(conn)
                .await
                .optional()?;
            let Some(user) = user else { return Ok(None) };
            let provider_rows: Vec<ProviderKeyRow> = provider_keys::table
                .filter(provider_keys::user_id.eq(key.user_id))
                .filter(provider_keys::deleted_at.is_null())
                .order(provider_keys::id.asc())
                .select(ProviderKeyRow::as_select())
                .load(conn)
                .await?;
            Ok(Some(AuthRecord {
                key,
                user: User::from(user),
                provider_keys: provider_keys_from_rows(provider_rows)?,
            }))
        })
    }
}
