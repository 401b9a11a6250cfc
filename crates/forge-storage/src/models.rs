//! Domain records handed to and returned by [`crate::Store`]. Timestamps are naive UTC.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;

use crate::redact::{KeysOnly, Redacted};

#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: String,
    /// PHC string; never a plaintext password.
    pub hashed_password: String,
    pub is_active: bool,
    pub is_admin: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Session tokens name it; a password or username change bumps it, ending every older
    /// session.
    pub token_generation: i64,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("email", &self.email)
            .field("hashed_password", &Redacted)
            .field("is_active", &self.is_active)
            .field("is_admin", &self.is_admin)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

#[derive(Clone, Copy)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub hashed_password: &'a str,
}

impl std::fmt::Debug for NewUser<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("email", &self.email)
            .field("hashed_password", &Redacted)
            .finish()
    }
}

/// `None` leaves a field unchanged.
#[derive(Clone, Default)]
pub struct UserChanges {
    pub username: Option<String>,
    pub email: Option<String>,
    pub hashed_password: Option<String>,
}

impl std::fmt::Debug for UserChanges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserChanges")
            .field("username", &self.username)
            .field("email", &self.email)
            .field(
                "hashed_password",
                &self.hashed_password.as_ref().map(|_| Redacted),
            )
            .finish()
    }
}

/// A Forge API key as stored: only the SHA-256 digest of the secret is kept, never the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForgeKey {
    pub id: i64,
    pub user_id: i64,
    pub name: Option<String>,
    pub key_suffix: String,
    pub is_active: bool,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    /// `None`: may use every provider key of the user. `Some(ids)`: only these (possibly
    /// none, e.g. after all of them were deleted). Sorted ascending.
    pub scope: Option<Vec<i64>>,
}

#[derive(Debug, Clone, Copy)]
pub struct NewForgeKey<'a> {
    pub user_id: i64,
    pub name: Option<&'a str>,
    /// Lowercase hex SHA-256 of the full key (see [`crate::apikey::digest_forge_key`]).
    pub key_digest: &'a str,
    pub key_suffix: &'a str,
    pub scope: Option<&'a [i64]>,
}

#[derive(Debug, Clone, Default)]
pub struct ForgeKeyChanges {
    /// `Some(None)` clears the name.
    pub name: Option<Option<String>>,
    pub is_active: Option<bool>,
    /// `Some(ids)` replaces the scope and marks the key restricted; there is no way back to
    /// unrestricted short of a new key, matching the v1 API.
    pub scope: Option<Vec<i64>>,
}

/// A provider credential; `encrypted_api_key` is a [`crate::crypto::SecretBox`] blob bound to
/// `provider_key_aad(user_id, provider_name)`.
#[derive(Clone, PartialEq, Eq)]
pub struct ProviderKey {
    pub id: i64,
    pub user_id: i64,
    pub provider_name: String,
    pub encrypted_api_key: Vec<u8>,
    pub base_url: Option<String>,
    pub model_mapping: Option<BTreeMap<String, String>>,
    pub config: Option<BTreeMap<String, String>>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl std::fmt::Debug for ProviderKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderKey")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("provider_name", &self.provider_name)
            .field(
                "encrypted_api_key",
                &format_args!("<{} bytes>", self.encrypted_api_key.len()),
            )
            .field("base_url", &self.base_url)
            .field("model_mapping", &self.model_mapping)
            .field("config", &KeysOnly(self.config.as_ref()))
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

#[derive(Clone, Copy)]
pub struct NewProviderKey<'a> {
    pub user_id: i64,
    pub provider_name: &'a str,
    pub encrypted_api_key: &'a [u8],
    pub base_url: Option<&'a str>,
    pub model_mapping: Option<&'a BTreeMap<String, String>>,
    pub config: Option<&'a BTreeMap<String, String>>,
}

impl std::fmt::Debug for NewProviderKey<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewProviderKey")
            .field("user_id", &self.user_id)
            .field("provider_name", &self.provider_name)
            .field(
                "encrypted_api_key",
                &format_args!("<{} bytes>", self.encrypted_api_key.len()),
            )
            .field("base_url", &self.base_url)
            .field("model_mapping", &self.model_mapping)
            .field("config", &KeysOnly(self.config))
            .finish()
    }
}

/// `None` leaves a field unchanged; `Some(None)` clears a nullable one.
#[derive(Clone, Default)]
pub struct ProviderKeyChanges {
    pub encrypted_api_key: Option<Vec<u8>>,
    pub base_url: Option<Option<String>>,
    pub model_mapping: Option<Option<BTreeMap<String, String>>>,
    pub config: Option<Option<BTreeMap<String, String>>>,
}

impl std::fmt::Debug for ProviderKeyChanges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderKeyChanges")
            .field(
                "encrypted_api_key",
                &self
                    .encrypted_api_key
                    .as_ref()
                    .map(|b| format!("<{} bytes>", b.len())),
            )
            .field("base_url", &self.base_url)
            .field("model_mapping", &self.model_mapping)
            .field(
                "config",
                &self.config.as_ref().map(|c| KeysOnly(c.as_ref())),
            )
            .finish()
    }
}

/// Everything the proxy needs to authorise a request with one Forge key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRecord {
    pub key: ForgeKey,
    pub user: User,
    pub provider_keys: Vec<ProviderKey>,
}
