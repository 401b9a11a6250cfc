//! Provider keys: encrypted credentials, one live key per (user, lowercased provider name).

use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper};
use diesel_async::{AsyncConnection, RunQueryDsl};

use crate::db::with_conn;
use crate::models::{NewProviderKey, ProviderKey, ProviderKeyChanges};
use crate::rows::{
    InsertProviderKey, ProviderKeyChangeset, ProviderKeyRow, encode_map, now,
    provider_keys_from_rows,
};
use crate::schema::{forge_key_scopes as scopes, provider_keys as pk};
use crate::{StorageError, Store};

impl Store {
    /// `Conflict("provider_name")` if the user already has a live key with the same name,
    /// compared case-insensitively.
    pub async fn create_provider_key(
        &self,
        k: &NewProviderKey<'_>,
    ) -> Result<ProviderKey, StorageError> {
        let at = now();
        let row = InsertProviderKey {
            user_id: k.user_id,
            provider_name: k.provider_name.to_owned(),
            provider_name_lower: k.provider_name.to_lowercase(),
            encrypted_api_key: k.encrypted_api_key.to_vec(),
            base_url: k.base_url.map(str::to_owned),
            model_mapping: k.model_mapping.map(encode_map).transpose()?,
            config: k.config.map(encode_map).transpose()?,
            created_at: at,
            updated_at: at,
        };
        with_conn!(self.db(), |conn| {
            let created: ProviderKeyRow = diesel::insert_into(pk::table)
                .values(&row)
                .returning(ProviderKeyRow::as_returning())
                .get_result(conn)
                .await?;
            ProviderKey::try_from(created)
        })
    }

    /// The user's live keys, ordered by id.
    pub async fn list_provider_keys(&self, user_id: i64) -> Result<Vec<ProviderKey>, StorageError> {
        with_conn!(self.db(), |conn| {
            let rows: Vec<ProviderKeyRow> = pk::table
                .filter(pk::user_id.eq(user_id))
                .filter(pk::deleted_at.is_null())
                .order(pk::id.asc())
                .select(ProviderKeyRow::as_select())
                .load(conn)
                .await?;
            provider_keys_from_rows(rows)
        })
    }

    /// Case-insensitive on the provider name.
    pub async fn provider_key_by_name(
        &self,
        user_id: i64,
        name: &str,
    ) -> Result<Option<ProviderKey>, StorageError> {
        let name_lower = name.to_lowercase();
        with_conn!(self.db(), |conn| {
            let row: Option<ProviderKeyRow> = pk::table
                .filter(pk::user_id.eq(user_id))
                .filter(pk::provider_name_lower.eq(&name_lower))
                .filter(pk::deleted_at.is_null())
                .select(ProviderKeyRow::as_select())
                .first(conn)
                .await
                .optional()?;
            row.map(ProviderKey::try_from).transpose()
        })
    }

    /// Bumps `updated_at`. `None` if the user has no such live key.
    pub async fn update_provider_key(
        &self,
        user_id: i64,
        id: i64,
        c: &ProviderKeyChanges,
    ) -> Result<Option<ProviderKey>, StorageError> {
        let encode = |m: &Option<Option<std::collections::BTreeMap<String, String>>>| {
            m.as_ref()
                .map(|inner| inner.as_ref().map(encode_map).transpose())
                .transpose()
        };
        let changes = ProviderKeyChangeset {
            encrypted_api_key: c.encrypted_api_key.clone(),
            base_url: c.base_url.clone(),
            model_mapping: encode(&c.model_mapping)?,
            config: encode(&c.config)?,
            updated_at: now(),
        };
        with_conn!(self.db(), |conn| {
            let row: Option<ProviderKeyRow> = diesel::update(
                pk::table
                    .filter(pk::id.eq(id))
                    .filter(pk::user_id.eq(user_id))
                    .filter(pk::deleted_at.is_null()),
            )
            .set(&changes)
            .returning(ProviderKeyRow::as_returning())
            .get_result(conn)
            .await
            .optional()?;
            row.map(ProviderKey::try_from).transpose()
        })
    }

    /// Soft delete, and removal from every Forge key's scope: a restricted key stays
    /// restricted (possibly to nothing) rather than silently widening.
    pub async fn delete_provider_key(
        &self,
        user_id: i64,
        id: i64,
    ) -> Result<Option<ProviderKey>, StorageError> {
        let at = now();
        with_conn!(self.db(), |conn| {
            conn.transaction::<_, StorageError, _>(async |conn| {
                let row: Option<ProviderKeyRow> = diesel::update(
                    pk::table
                        .filter(pk::id.eq(id))
                        .filter(pk::user_id.eq(user_id))
                        .filter(pk::deleted_at.is_null()),
                )
                .set(pk::deleted_at.eq(at))
                .returning(ProviderKeyRow::as_returning())
                .get_result(conn)
                .await
                .optional()?;
                let Some(row) = row else { return Ok(None) };
                let deleted = ProviderKey::try_from(row)?;
                diesel::delete(scopes::table.filter(scopes::provider_key_id.eq(deleted.id)))
                    .execute(conn)
                    .await?;
                Ok(Some(deleted))
            })
            .await
        })
    }

    /// True if every id names a live provider key of this user (duplicates allowed; an empty
    /// list is trivially owned).
    pub async fn owns_provider_keys(
        &self,
        user_id: i64,
        ids: &[i64],
    ) -> Result<bool, StorageError> {
        let mut wanted = ids.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        if wanted.is_empty() {
            return Ok(true);
        }
        with_conn!(self.db(), |conn| {
            let found: i64 = pk::table
                .filter(pk::id.eq_any(&wanted))
                .filter(pk::user_id.eq(user_id))
                .filter(pk::deleted_at.is_null())
                .count()
                .get_result(conn)
                .await?;
            Ok(usize::try_from(found).ok() == Some(wanted.len()))
        })
    }
}
