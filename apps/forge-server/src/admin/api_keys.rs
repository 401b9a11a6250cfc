//! `/v1/api-keys`: the caller's Forge API keys. Only a SHA-256 digest is stored, so the full key
//! is shown exactly once, on create and on regenerate; every other answer masks it.

use actix_web::{HttpResponse, web};
use forge_storage::apikey::generate_forge_key;
use forge_storage::{ForgeKeyChanges, NewForgeKey};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::admin::views::ForgeKeyView;
use crate::admin::{Deferred, double_option};
use crate::auth::jwt::CurrentUser;
use crate::error::ApiError;
use crate::state::AppState;

const NOT_FOUND: &str = "API key not found";
const MAX_NAME_LEN: usize = 200;

#[utoipa::path(get, path = "/v1/api-keys", tag = "API keys", operation_id = "list_api_keys",
    responses((status = 200, description = "The caller's Forge keys, masked", body = Vec<ForgeKeyView>)),
    security(("jwt" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<HttpResponse, ApiError> {
    let keys = state.store.list_forge_keys(user.id).await?;
    Ok(HttpResponse::Ok().json(keys.iter().map(ForgeKeyView::masked).collect::<Vec<_>>()))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateBody {
    /// At most 200 characters; empty means none.
    pub name: Option<String>,
    /// Omitted or null: unrestricted. `[]`: no provider allowed. `[ids]`: only those.
    pub allowed_provider_key_ids: Option<Vec<i64>>,
}

fn check_name(name: Option<&str>) -> Result<(), ApiError> {
    if name.is_some_and(|n| n.chars().count() > MAX_NAME_LEN) {
        return Err(ApiError::validation(
            &["body", "name"],
            format!("name must be at most {MAX_NAME_LEN} characters"),
            "string_too_long",
        ));
    }
    Ok(())
}

#[utoipa::path(post, path = "/v1/api-keys", tag = "API keys", operation_id = "create_api_key",
    request_body = CreateBody,
    responses((status = 200, description = "The new key, in full (shown this once)", body = ForgeKeyView)),
    security(("jwt" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    body: Deferred<web::Json<CreateBody>>,
) -> Result<HttpResponse, ApiError> {
    let body = body?.into_inner();
    let name = body.name.filter(|n| !n.is_empty());
    check_name(name.as_deref())?;
    if let Some(ids) = &body.allowed_provider_key_ids
        && !state.store.owns_provider_keys(user.id, ids).await?
    {
        return Err(ApiError::bad_request(
            "One or more provider_key_ids are invalid or do not belong to the user.",
        ));
    }
    let generated = generate_forge_key()?;
    let new = NewForgeKey {
        user_id: user.id,
        name: name.as_deref(),
        key_digest: &generated.digest,
        key_suffix: &generated.suffix,
        scope: body.allowed_provider_key_ids.as_deref(),
    };
    let key = state.store.create_forge_key(&new).await?;
    state.invalidate_user(user.id);
    tracing::info!(user_id = user.id, key_id = key.id, "forge key created");
    Ok(HttpResponse::Ok().json(ForgeKeyView::with_key(&key, generated.full.to_string())))
}

/// Absent fields are left as they are.
#[derive(Deserialize, ToSchema)]
pub struct UpdateBody {
    /// Null or empty clears the name.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    pub is_active: Option<bool>,
    /// Absent or null: unchanged. `[]`: emptied. `[ids]`: replaced.
    pub allowed_provider_key_ids: Option<Vec<i64>>,
}

#[utoipa::path(put, path = "/v1/api-keys/{key_id}", tag = "API keys", operation_id = "update_api_key",
    params(("key_id" = i64, Path, description = "The key's id")),
    request_body = UpdateBody,
    responses(
        (status = 200, description = "The updated key, masked", body = ForgeKeyView),
        (status = 404, description = "No such key of the caller's", body = crate::openapi::errors::AdminError),
    ),
    security(("jwt" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: Deferred<web::Path<i64>>,
    body: Deferred<web::Json<UpdateBody>>,
) -> Result<HttpResponse, ApiError> {
    let id = path?.into_inner();
    let body = body?.into_inner();
    // `null` and `""` both clear the name.
    let name = body.name.map(|n| n.filter(|s| !s.is_empty()));
    check_name(name.as_ref().and_then(|n| n.as_deref()))?;
    if state.store.forge_key(user.id, id).await?.is_none() {
        return Err(ApiError::not_found(NOT_FOUND));
    }
    if let Some(ids) = &body.allowed_provider_key_ids
        && !state.store.owns_provider_keys(user.id, ids).await?
    {
        return Err(ApiError::bad_request(
            "One or more updated provider_key_ids are invalid or do not belong to the user.",
        ));
    }
    let changes = ForgeKeyChanges {
        name,
        is_active: body.is_active,
        scope: body.allowed_provider_key_ids,
    };
    let key = state
        .store
        .update_forge_key(user.id, id, &changes)
        .await?
        .ok_or_else(|| ApiError::not_found(NOT_FOUND))?;
    state.invalidate_user(user.id);
    Ok(HttpResponse::Ok().json(ForgeKeyView::masked(&key)))
}

#[utoipa::path(delete, path = "/v1/api-keys/{key_id}", tag = "API keys", operation_id = "delete_api_key",
    params(("key_id" = i64, Path, description = "The key's id")),
    responses(
        (status = 200, description = "The deleted key, masked", body = ForgeKeyView),
        (status = 404, description = "No such key of the caller's", body = crate::openapi::errors::AdminError),
    ),
    security(("jwt" = [])))]
pub async fn delete(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: Deferred<web::Path<i64>>,
) -> Result<HttpResponse, ApiError> {
    let id = path?.into_inner();
    let key = state
        .store
        .delete_forge_key(user.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found(NOT_FOUND))?;
    state.invalidate_user(user.id);
    tracing::info!(user_id = user.id, key_id = key.id, "forge key deleted");
    Ok(HttpResponse::Ok().json(ForgeKeyView::masked(&key)))
}

#[utoipa::path(post, path = "/v1/api-keys/{key_id}/regenerate", tag = "API keys", operation_id = "regenerate_api_key",
    params(("key_id" = i64, Path, description = "The key's id")),
    responses(
        (status = 200, description = "The key with its new secret, in full (shown this once)", body = ForgeKeyView),
        (status = 404, description = "No such key of the caller's", body = crate::openapi::errors::AdminError),
    ),
    security(("jwt" = [])))]
pub async fn regenerate(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: Deferred<web::Path<i64>>,
) -> Result<HttpResponse, ApiError> {
    let id = path?.into_inner();
    let generated = generate_forge_key()?;
    let key = state
        .store
        .regenerate_forge_key(user.id, id, &generated.digest, &generated.suffix)
        .await?
        .ok_or_else(|| ApiError::not_found(NOT_FOUND))?;
    state.invalidate_user(user.id);
    tracing::info!(user_id = user.id, key_id = key.id, "forge key regenerated");
    Ok(HttpResponse::Ok().json(ForgeKeyView::with_key(&key, generated.full.to_string())))
}
