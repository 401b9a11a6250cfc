//! Diesel row types, kept apart from the public models so the schema stays private.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::{AsChangeset, Insertable, Queryable, Selectable};

use crate::StorageError;
use crate::models::{ForgeKey, ProviderKey, User};
use crate::schema::{forge_api_keys, provider_keys, users};

#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
pub(crate) struct UserRow {
    id: i64,
    username: String,
    email: String,
    hashed_password: String,
    is_active: bool,
    is_admin: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    token_generation: i64,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: r.id,
            username: r.username,
            email: r.email,
            hashed_password: r.hashed_password,
            is_active: r.is_active,
            is_admin: r.is_admin,
            created_at: r.created_at,
            updated_at: r.updated_at,
            token_generation: r.token_generation,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub(crate) struct InsertUser {
    pub username: String,
    pub email: String,
    pub email_lower: String,
    pub hashed_password: String,
    pub is_active: bool,
    pub is_admin: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(AsChangeset)]
#[diesel(table_name = users)]
pub(crate) struct UserChangeset {
    pub username: Option<String>,
    pub email: Option<String>,
    pub email_lower: Option<String>,
    pub hashed_password: Option<String>,
    pub updated_at: NaiveDateTime,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = forge_api_keys)]
pub(crate) struct ForgeKeyRow {
    pub id: i64,
    user_id: i64,
    name: Option<String>,
    key_suffix: String,
    is_active: bool,
    scope_restricted: bool,
    created_at: NaiveDateTime,
    last_used_at: Option<NaiveDateTime>,
}

impl ForgeKeyRow {
    /// `pairs` are (forge key id, provider key id) scope rows; those of other keys are ignored.
    pub(crate) fn into_model(self, pairs: &[(i64, i64)]) -> ForgeKey {
        let scope = self.scope_restricted.then(|| {
            let mut ids: Vec<i64> = pairs
                .iter()
                .filter(|(key, _)| *key == self.id)
                .map(|(_, provider)| *provider)
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        });
        ForgeKey {
            id: self.id,
            user_id: self.user_id,
            name: self.name,
            key_suffix: self.key_suffix,
            is_active: self.is_active,
            created_at: self.created_at,
            last_used_at: self.last_used_at,
            scope,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = forge_api_keys)]
pub(crate) struct InsertForgeKey {
    pub user_id: i64,
    pub key_digest: String,
    pub key_suffix: String,
    pub name: Option<String>,
    pub is_active: bool,
    pub scope_restricted: bool,
    pub created_at: NaiveDateTime,
}

#[derive(AsChangeset)]
#[diesel(table_name = forge_api_keys)]
pub(crate) struct ForgeKeyChangeset {
    pub name: Option<Option<String>>,
    pub is_active: Option<bool>,
    pub scope_restricted: Option<bool>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = provider_keys)]
pub(crate) struct ProviderKeyRow {
    id: i64,
    user_id: i64,
    provider_name: String,
    encrypted_api_key: Vec<u8>,
    base_url: Option<String>,
    model_mapping: Option<String>,
    config: Option<String>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl TryFrom<ProviderKeyRow> for ProviderKey {
    type Error = StorageError;

    fn try_from(r: ProviderKeyRow) -> Result<Self, StorageError> {
        Ok(ProviderKey {
            id: r.id,
            user_id: r.user_id,
            provider_name: r.provider_name,
            encrypted_api_key: r.encrypted_api_key,
            base_url: r.base_url,
            model_mapping: decode_map(r.model_mapping.as_deref(), "model_mapping")?,
            config: decode_map(r.config.as_deref(), "config")?,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

pub(crate) fn provider_keys_from_rows(
    rows: Vec<ProviderKeyRow>,
) -> Result<Vec<ProviderKey>, StorageError> {
    rows.into_iter().map(ProviderKey::try_from).collect()
}

#[derive(Insertable)]
#[diesel(table_name = provider_keys)]
pub(crate) struct InsertProviderKey {
    pub user_id: i64,
    pub provider_name: String,
    pub provider_name_lower: String,
    pub encrypted_api_key: Vec<u8>,
    pub base_url: Option<String>,
    pub model_mapping: Option<String>,
    pub config: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(AsChangeset)]
#[diesel(table_name = provider_keys)]
pub(crate) struct ProviderKeyChangeset {
    pub encrypted_api_key: Option<Vec<u8>>,
    pub base_url: Option<Option<String>>,
    pub model_mapping: Option<Option<String>>,
    pub config: Option<Option<String>>,
    pub updated_at: NaiveDateTime,
}

pub(crate) fn encode_map(map: &BTreeMap<String, String>) -> Result<String, StorageError> {
    serde_json::to_string(map).map_err(|e| StorageError::Database(format!("encode map: {e}")))
}

fn decode_map(
    text: Option<&str>,
    column: &str,
) -> Result<Option<BTreeMap<String, String>>, StorageError> {
    text.map(|t| {
        serde_json::from_str(t)
            .map_err(|e| StorageError::Database(format!("corrupt {column} column: {e}")))
    })
    .transpose()
}

/// Now, truncated to microseconds: Postgres keeps no more, so values read back compare
/// equal to what was written on both backends.
pub(crate) fn now() -> NaiveDateTime {
    let now = chrono::Utc::now().naive_utc();
    let micros = now.and_utc().timestamp_micros();
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|d| d.naive_utc())
        .unwrap_or(now)
}
