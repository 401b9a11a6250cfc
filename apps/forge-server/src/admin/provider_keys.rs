//! `/v1/provider-keys`: the caller's upstream provider keys, addressed by provider **name**.
//! Secrets are encrypted before they reach storage and only ever returned masked; a masked
//! value echoed back on update means "keep the stored secret".

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use forge_core::mask;
use forge_storage::crypto::provider_key_aad;
use forge_storage::{NewProviderKey, ProviderKey, ProviderKeyChanges, StorageError};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::admin::views::ProviderKeyView;
use crate::admin::{Deferred, double_option};
use crate::auth::jwt::CurrentUser;
use crate::error::ApiError;
use crate::proxy::family::ProviderFamily;
use crate::state::AppState;
use crate::validate;

const NOT_FOUND: &str = "Provider key not found";

type Mapping = BTreeMap<String, String>;

#[derive(Deserialize, ToSchema)]
pub struct CreateBody {
    /// A provider family (`openai`, `anthropic`, `gemini`, ...) or a custom name.
    pub provider_name: String,
    /// The provider secret; stored encrypted, answered masked.
    pub api_key: String,
    /// An `http(s)` URL; defaults to the provider's own.
    pub base_url: Option<String>,
    pub model_mapping: Option<Mapping>,
    pub config: Option<Mapping>,
}

/// Absent fields are left as they are; a masked `api_key` echoed back keeps the secret.
#[derive(Deserialize, Default, ToSchema)]
pub struct UpdateBody {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub api_key: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub base_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    pub model_mapping: Option<Option<Mapping>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    pub config: Option<Option<Mapping>>,
}

/// One item of a batch upsert; `api_key: "DELETE"` deletes the named key.
#[derive(Deserialize, ToSchema)]
pub struct UpsertItem {
    pub provider_name: String,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub api_key: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub base_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    pub model_mapping: Option<Option<Mapping>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    pub config: Option<Option<Mapping>>,
}

#[utoipa::path(get, path = "/v1/provider-keys", tag = "Provider keys", operation_id = "list_provider_keys",
    responses((status = 200, description = "The caller's provider keys, secrets masked", body = Vec<ProviderKeyView>)),
    security(("jwt" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<HttpResponse, ApiError> {
    let keys = state.store.list_provider_keys(user.id).await?;
    let views: Vec<ProviderKeyView> = keys.iter().map(|k| view(&state, k)).collect();
    Ok(HttpResponse::Ok().json(views))
}

#[utoipa::path(post, path = "/v1/provider-keys", tag = "Provider keys", operation_id = "create_provider_key",
    request_body = CreateBody,
    responses(
        (status = 200, description = "The stored key, secret masked", body = ProviderKeyView),
    ),
    security(("jwt" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    body: Deferred<web::Json<CreateBody>>,
) -> Result<HttpResponse, ApiError> {
    let key = create_key(&state, user.id, body?.into_inner()).await?;
    state.invalidate_user(user.id);
    Ok(HttpResponse::Ok().json(view(&state, &key)))
}

#[utoipa::path(put, path = "/v1/provider-keys/{provider_name}", tag = "Provider keys", operation_id = "update_provider_key",
    params(("provider_name" = String, Path, description = "The provider key's name")),
    request_body = UpdateBody,
    responses(
        (status = 200, description = "The updated key, secret masked", body = ProviderKeyView),
        (status = 404, description = "No provider key of that name", body = crate::openapi::errors::AdminError),
    ),
    security(("jwt" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: web::Path<String>,
    body: Deferred<web::Json<UpdateBody>>,
) -> Result<HttpResponse, ApiError> {
    let body = body?.into_inner();
    let name = path.into_inner();
    let existing = state
        .store
        .provider_key_by_name(user.id, &name)
        .await?
        .ok_or_else(|| ApiError::not_found(NOT_FOUND))?;
    let key = update_key(&state, existing, body).await?;
    state.invalidate_user(user.id);
    Ok(HttpResponse::Ok().json(view(&state, &key)))
}

#[utoipa::path(delete, path = "/v1/provider-keys/{provider_name}", tag = "Provider keys", operation_id = "delete_provider_key",
    params(("provider_name" = String, Path, description = "The provider key's name")),
    responses(
        (status = 200, description = "The deleted key, secret masked", body = ProviderKeyView),
        (status = 404, description = "No provider key of that name", body = crate::openapi::errors::AdminError),
    ),
    security(("jwt" = [])))]
pub async fn delete(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = path.into_inner();
    let existing = state
        .store
        .provider_key_by_name(user.id, &name)
        .await?
        .ok_or_else(|| ApiError::not_found(NOT_FOUND))?;
    let key = state
        .store
        .delete_provider_key(user.id, existing.id)
        .await?
        .ok_or_else(|| ApiError::not_found(NOT_FOUND))?;
    state.invalidate_user(user.id);
    tracing::info!(
        user_id = user.id,
        provider_key_id = key.id,
        "provider key deleted"
    );
    Ok(HttpResponse::Ok().json(view(&state, &key)))
}

/// `POST /v1/provider-keys/batch-upsert`: per item, `api_key == "DELETE"` deletes, an existing
/// name updates, anything else creates. The first failing item aborts with its status.
#[utoipa::path(post, path = "/v1/provider-keys/batch-upsert", tag = "Provider keys", operation_id = "batch_upsert_provider_keys",
    request_body = Vec<UpsertItem>,
    responses(
        (status = 200, description = "The created and updated keys, secrets masked", body = Vec<ProviderKeyView>),
        (status = 404, description = "An item names a key that does not exist", body = crate::openapi::errors::AdminError),
    ),
    security(("jwt" = [])))]
pub async fn batch_upsert(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    body: Deferred<web::Json<Vec<UpsertItem>>>,
) -> Result<HttpResponse, ApiError> {
    let items = body?.into_inner();
    let mut out = Vec::new();
    let result = async {
        for item in items {
            let name = item.provider_name.clone();
            let wrap = |e: ApiError| {
                let inner = match &e.detail {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                ApiError::new(e.status, format!("Error processing '{name}': {inner}"))
            };
            let existing = state
                .store
                .provider_key_by_name(user.id, &name)
                .await
                .map_err(|e| wrap(e.into()))?;
            if matches!(&item.api_key, Some(Some(k)) if k == "DELETE") {
                if let Some(existing) = existing {
                    state
                        .store
                        .delete_provider_key(user.id, existing.id)
                        .await
                        .map_err(|e| wrap(e.into()))?;
                }
                continue;
            }
            let key = match existing {
                Some(existing) => {
                    let changes = UpdateBody {
                        api_key: item.api_key,
                        base_url: item.base_url,
                        model_mapping: item.model_mapping,
                        config: item.config,
                    };
                    update_key(&state, existing, changes).await.map_err(wrap)?
                }
                None => {
                    let Some(Some(api_key)) = item.api_key else {
                        return Err(wrap(ApiError::validation(
                            &["body", "api_key"],
                            "api_key is required to create a provider key",
                            "missing",
                        )));
                    };
                    let create = CreateBody {
                        provider_name: item.provider_name,
                        api_key,
                        base_url: item.base_url.flatten(),
                        model_mapping: item.model_mapping.flatten(),
                        config: item.config.flatten(),
                    };
                    create_key(&state, user.id, create).await.map_err(wrap)?
                }
            };
            out.push(view(&state, &key));
        }
        Ok::<(), ApiError>(())
    }
    .await;
    state.invalidate_user(user.id);
    result?;
    Ok(HttpResponse::Ok().json(out))
}

fn view(state: &AppState, key: &ProviderKey) -> ProviderKeyView {
    let aad = provider_key_aad(key.user_id, &key.provider_name);
    let masked = match state.secret_box.decrypt(&key.encrypted_api_key, &aad) {
        Ok(plain) => Some(mask::mask_provider_secret(&String::from_utf8_lossy(&plain))),
        Err(e) => {
            tracing::error!(provider_key_id = key.id, error = %e, "stored provider key cannot be decrypted");
            None
        }
    };
    ProviderKeyView::new(key, masked)
}

fn init_error(name: &str, why: &str) -> ApiError {
    ApiError::bad_request(format!("Error initializing provider {name}: {why}"))
}

/// Refuses providers Forge cannot call yet and base URLs that are malformed or private.
fn check_provider(
    state: &AppState,
    name: &str,
    base_url: Option<&str>,
    config: Option<&Mapping>,
) -> Result<(), ApiError> {
    let base_url = base_url.map(str::trim).filter(|u| !u.is_empty());
    ProviderFamily::of(&name.to_lowercase())
        .check(base_url, config)
        .map_err(|why| init_error(name, why))?;
    match base_url {
        Some(url) => validate::base_url(url, state.settings.allow_private_upstreams)
            .map_err(|why| init_error(name, &why)),
        None => Ok(()),
    }
}

fn check_provider_name(name: &str) -> Result<(), ApiError> {
    let invalid = |msg: &str| ApiError::validation(&["body", "provider_name"], msg, "value_error");
    if name.trim().is_empty() {
        return Err(invalid("String should have at least 1 character"));
    }
    if name.contains('/')
        || name.chars().any(|c| c.is_whitespace() || c.is_control())
        || name.len() > 100
    {
        return Err(invalid(
            "provider_name must not contain '/', spaces or control characters (100 chars max)",
        ));
    }
    Ok(())
}

fn encrypt(
    state: &AppState,
    user_id: i64,
    provider_name: &str,
    secret: &str,
) -> Result<Vec<u8>, ApiError> {
    state
        .secret_box
        .encrypt(secret.as_bytes(), &provider_key_aad(user_id, provider_name))
        .map_err(ApiError::from)
}

async fn create_key(
    state: &AppState,
    user_id: i64,
    body: CreateBody,
) -> Result<ProviderKey, ApiError> {
    check_provider_name(&body.provider_name)?;
    if body.api_key.trim().is_empty() {
        return Err(ApiError::validation(
            &["body", "api_key"],
            "api_key must not be empty",
            "value_error",
        ));
    }
    if state
        .store
        .provider_key_by_name(user_id, &body.provider_name)
        .await?
        .is_some()
    {
        return Err(ApiError::bad_request(format!(
            "Provider key for {} already exists",
            body.provider_name
        )));
    }
    check_provider(
        state,
        &body.provider_name,
        body.base_url.as_deref(),
        body.config.as_ref(),
    )?;
    let encrypted = encrypt(state, user_id, &body.provider_name, body.api_key.trim())?;
    let new = NewProviderKey {
        user_id,
        provider_name: &body.provider_name,
        encrypted_api_key: &encrypted,
        base_url: body.base_url.as_deref().map(str::trim),
        model_mapping: body.model_mapping.as_ref(),
        config: body.config.as_ref().filter(|c| !c.is_empty()),
    };
    match state.store.create_provider_key(&new).await {
        Ok(key) => {
            tracing::info!(user_id, provider_key_id = key.id, provider = %key.provider_name, "provider key created");
            Ok(key)
        }
        Err(StorageError::Conflict(_)) => Err(ApiError::bad_request(format!(
            "Provider key for {} already exists",
            body.provider_name
        ))),
        Err(e) => Err(e.into()),
    }
}

async fn update_key(
    state: &AppState,
    existing: ProviderKey,
    body: UpdateBody,
) -> Result<ProviderKey, ApiError> {
    let new_secret = body
        .api_key
        .flatten()
        .filter(|k| !k.trim().is_empty() && !mask::looks_masked(k));
    let encrypted_api_key = match new_secret {
        Some(secret) => Some(encrypt(
            state,
            existing.user_id,
            &existing.provider_name,
            secret.trim(),
        )?),
        None => None,
    };
    let base_url = body.base_url.map(|u| u.map(|u| u.trim().to_owned()));
    let effective_base = match &base_url {
        Some(value) => value.clone(),
        None => existing.base_url.clone(),
    };
    // null or an empty object keeps the stored config, as Forge v1 does.
    let config = body.config.flatten().filter(|c| !c.is_empty()).map(Some);
    if base_url.is_some() || config.is_some() {
        let effective_config = match &config {
            Some(new) => new.clone(),
            None => existing.config.clone(),
        };
        check_provider(
            state,
            &existing.provider_name,
            effective_base.as_deref(),
            effective_config.as_ref(),
        )?;
    }
    let changes = ProviderKeyChanges {
        encrypted_api_key,
        base_url,
        model_mapping: body.model_mapping,
        config,
    };
    state
        .store
        .update_provider_key(existing.user_id, existing.id, &changes)
        .await?
        .ok_or_else(|| ApiError::not_found(NOT_FOUND))
}
