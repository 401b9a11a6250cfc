//! The JSON shapes of the admin API (spec section 3), built from storage rows. Secrets never
//! leave here unmasked except the one-time full Forge key on create and regenerate. Timestamps
//! are UTC without an offset (`2026-01-02T03:04:05.123456`), as Forge v1 sends them.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use forge_core::mask;
use forge_storage::{ForgeKey, ProviderKey, User};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct UserView {
    pub email: String,
    pub username: String,
    pub id: i64,
    pub is_active: bool,
    #[schema(value_type = String, example = "2026-01-02T03:04:05.123456")]
    pub created_at: NaiveDateTime,
    #[schema(value_type = String, example = "2026-01-02T03:04:05.123456")]
    pub updated_at: NaiveDateTime,
    pub forge_api_keys: Option<Vec<String>>,
}

impl UserView {
    pub fn new(user: &User, forge_api_keys: Option<Vec<String>>) -> Self {
        UserView {
            email: user.email.clone(),
            username: user.username.clone(),
            id: user.id,
            is_active: user.is_active,
            created_at: user.created_at,
            updated_at: user.updated_at,
            forge_api_keys,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MaskedUserView {
    #[serde(flatten)]
    pub user: UserView,
    pub is_admin: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ForgeKeyView {
    pub name: Option<String>,
    pub id: i64,
    /// The full key on create and regenerate only; otherwise masked (`forge-****abcd`).
    pub key: String,
    pub is_active: bool,
    #[schema(value_type = String, example = "2026-01-02T03:04:05.123456")]
    pub created_at: NaiveDateTime,
    #[schema(value_type = Option<String>)]
    pub last_used_at: Option<NaiveDateTime>,
    /// Always a list: an unrestricted key reports `[]`, as Forge v1 does.
    pub allowed_provider_key_ids: Vec<i64>,
}

impl ForgeKeyView {
    pub fn masked(key: &ForgeKey) -> Self {
        Self::with_key(key, mask::mask_forge_key_suffix(&key.key_suffix))
    }
    pub fn with_key(key: &ForgeKey, full_or_masked: String) -> Self {
        ForgeKeyView {
            name: key.name.clone(),
            id: key.id,
            key: full_or_masked,
            is_active: key.is_active,
            created_at: key.created_at,
            last_used_at: key.last_used_at,
            allowed_provider_key_ids: key.scope.clone().unwrap_or_default(),
        }
    }
}

/// Placeholder kept for shape compatibility: Forge v1 leaked its ciphertext in this field.
const ENCRYPTED_PLACEHOLDER: &str = "********";

#[derive(Serialize, ToSchema)]
pub struct ProviderKeyView {
    pub id: i64,
    pub provider_name: String,
    pub user_id: i64,
    pub base_url: Option<String>,
    pub model_mapping: Option<BTreeMap<String, String>>,
    #[schema(value_type = String, example = "2026-01-02T03:04:05.123456")]
    pub created_at: NaiveDateTime,
    #[schema(value_type = String, example = "2026-01-02T03:04:05.123456")]
    pub updated_at: NaiveDateTime,
    /// Always `********`.
    pub encrypted_api_key: &'static str,
    /// The provider secret, masked; null if it cannot be decrypted.
    pub api_key: Option<String>,
    pub config: Option<BTreeMap<String, String>>,
}

impl ProviderKeyView {
    /// `masked_secret` is the masked form of the decrypted key (`None` if it could not be read).
    pub fn new(key: &ProviderKey, masked_secret: Option<String>) -> Self {
        ProviderKeyView {
            id: key.id,
            provider_name: key.provider_name.clone(),
            user_id: key.user_id,
            base_url: key.base_url.clone(),
            model_mapping: key.model_mapping.clone(),
            created_at: key.created_at,
            updated_at: key.updated_at,
            encrypted_api_key: ENCRYPTED_PLACEHOLDER,
            api_key: masked_secret,
            config: key.config.clone(),
        }
    }
}
