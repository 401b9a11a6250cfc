//! Limits and budgets set through the API, replacing forge.toml's `[limits]` defaults for one
//! Forge key or one user. `/v1/api-keys/{key_id}/limits` lets a user tighten their own key,
//! never past what the administrator allows their account; `/v1/admin/users/{user_id}/limits`
//! is the administrator's. Every change drops the owner's cached keys here and on the other
//! instances, so it applies to the next request while the request path stays database-free.

pub mod body;
mod ceiling;

use actix_web::{HttpResponse, web};
use forge_router::config::LimitSet;
use forge_storage::{LimitScope, LimitSettings};

use self::body::{LimitsBody, LimitsView, Source, validation};
use crate::admin::Deferred;
use crate::auth::jwt::{AdminUser, CurrentUser};
use crate::error::ApiError;
use crate::limits::rules::LimitRules;
use crate::state::AppState;

const KEY_NOT_FOUND: &str = "API key not found";
const USER_NOT_FOUND: &str = "User not found";

#[utoipa::path(get, path = "/v1/api-keys/{key_id}/limits", tag = "Limits", operation_id = "get_key_limits",
    params(("key_id" = i64, Path, description = "The Forge key's id")),
    responses(
        (status = 200, description = "The key's limits: stored, forge.toml's default, or none", body = LimitsView),
        (status = 404, description = "No such key of the caller's", body = crate::openapi::errors::AdminError),
    ),
    security(("jwt" = [])))]
pub async fn get_key(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: Deferred<web::Path<i64>>,
) -> Result<HttpResponse, ApiError> {
    let id = path?.into_inner();
    owned_key(&state, user.id, id).await?;
    let scope = LimitScope::Key(id);
    let view = match state.store.limit_settings(scope).await? {
        Some(settings) => stored_view(&settings, Source::Key),
        None => default_view(&state, scope),
    };
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(put, path = "/v1/api-keys/{key_id}/limits", tag = "Limits", operation_id = "put_key_limits",
    params(("key_id" = i64, Path, description = "The Forge key's id")),
    request_body = LimitsBody,
    responses(
        (status = 200, description = "The stored limits", body = LimitsView),
        (status = 404, description = "No such key of the caller's", body = crate::openapi::errors::AdminError),
    ),
    security(("jwt" = [])))]
pub async fn put_key(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: Deferred<web::Path<i64>>,
    body: Deferred<web::Json<LimitsBody>>,
) -> Result<HttpResponse, ApiError> {
    let id = path?.into_inner();
    let values = body?.into_inner().validate()?;
    owned_key(&state, user.id, id).await?;
    if let Some(account) = account_rules(&state, user.id).await? {
        let errors = ceiling::looser_than(&values, &account);
        if !errors.is_empty() {
            return Err(validation(errors));
        }
    }
    let settings = state
        .store
        .set_limit_settings(LimitScope::Key(id), user.id, &values)
        .await?;
    state.invalidate_user(user.id);
    tracing::info!(user_id = user.id, key_id = id, "forge key limits set");
    Ok(HttpResponse::Ok().json(stored_view(&settings, Source::Key)))
}

/// Back to forge.toml's default for keys; answers what applies now.
#[utoipa::path(delete, path = "/v1/api-keys/{key_id}/limits", tag = "Limits", operation_id = "delete_key_limits",
    params(("key_id" = i64, Path, description = "The Forge key's id")),
    responses(
        (status = 200, description = "The limits that apply now (forge.toml's default or none)", body = LimitsView),
        (status = 404, description = "No such key of the caller's", body = crate::openapi::errors::AdminError),
    ),
    security(("jwt" = [])))]
pub async fn delete_key(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: Deferred<web::Path<i64>>,
) -> Result<HttpResponse, ApiError> {
    let id = path?.into_inner();
    owned_key(&state, user.id, id).await?;
    let scope = LimitScope::Key(id);
    if state.store.delete_limit_settings(scope).await? {
        state.invalidate_user(user.id);
        tracing::info!(user_id = user.id, key_id = id, "forge key limits cleared");
    }
    Ok(HttpResponse::Ok().json(default_view(&state, scope)))
}

#[utoipa::path(get, path = "/v1/admin/users/{user_id}/limits", tag = "Limits", operation_id = "get_user_limits",
    params(("user_id" = i64, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The user's limits: stored, forge.toml's default, or none", body = LimitsView),
        (status = 404, description = "No such user", body = crate::openapi::errors::AdminError),
        (status = 403, description = "Admin privileges required", body = crate::openapi::errors::AdminError),
    ),
    security(("jwt" = [])))]
pub async fn get_user(
    state: web::Data<AppState>,
    _admin: AdminUser,
    path: Deferred<web::Path<i64>>,
) -> Result<HttpResponse, ApiError> {
    let id = path?.into_inner();
    existing_user(&state, id).await?;
    let scope = LimitScope::User(id);
    let view = match state.store.limit_settings(scope).await? {
        Some(settings) => stored_view(&settings, Source::User),
        None => default_view(&state, scope),
    };
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(put, path = "/v1/admin/users/{user_id}/limits", tag = "Limits", operation_id = "put_user_limits",
    params(("user_id" = i64, Path, description = "The user's id")),
    request_body = LimitsBody,
    responses(
        (status = 200, description = "The stored limits", body = LimitsView),
        (status = 404, description = "No such user", body = crate::openapi::errors::AdminError),
        (status = 403, description = "Admin privileges required", body = crate::openapi::errors::AdminError),
    ),
    security(("jwt" = [])))]
pub async fn put_user(
    state: web::Data<AppState>,
    AdminUser(admin): AdminUser,
    path: Deferred<web::Path<i64>>,
    body: Deferred<web::Json<LimitsBody>>,
) -> Result<HttpResponse, ApiError> {
    let id = path?.into_inner();
    let values = body?.into_inner().validate()?;
    existing_user(&state, id).await?;
    let settings = state
        .store
        .set_limit_settings(LimitScope::User(id), id, &values)
        .await?;
    state.invalidate_user(id);
    tracing::info!(admin_id = admin.id, user_id = id, "user limits set");
    Ok(HttpResponse::Ok().json(stored_view(&settings, Source::User)))
}

/// Back to forge.toml's default for users; answers what applies now.
#[utoipa::path(delete, path = "/v1/admin/users/{user_id}/limits", tag = "Limits", operation_id = "delete_user_limits",
    params(("user_id" = i64, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The limits that apply now (forge.toml's default or none)", body = LimitsView),
        (status = 404, description = "No such user", body = crate::openapi::errors::AdminError),
        (status = 403, description = "Admin privileges required", body = crate::openapi::errors::AdminError),
    ),
    security(("jwt" = [])))]
pub async fn delete_user(
    state: web::Data<AppState>,
    AdminUser(admin): AdminUser,
    path: Deferred<web::Path<i64>>,
) -> Result<HttpResponse, ApiError> {
    let id = path?.into_inner();
    existing_user(&state, id).await?;
    let scope = LimitScope::User(id);
    if state.store.delete_limit_settings(scope).await? {
        state.invalidate_user(id);
        tracing::info!(admin_id = admin.id, user_id = id, "user limits cleared");
    }
    Ok(HttpResponse::Ok().json(default_view(&state, scope)))
}

async fn owned_key(state: &AppState, user_id: i64, key_id: i64) -> Result<(), ApiError> {
    match state.store.forge_key(user_id, key_id).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found(KEY_NOT_FOUND)),
    }
}

async fn existing_user(state: &AppState, user_id: i64) -> Result<(), ApiError> {
    match state.store.user_by_id(user_id).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found(USER_NOT_FOUND)),
    }
}

/// What applies to the whole account: the administrator's settings, else forge.toml's.
async fn account_rules(state: &AppState, user_id: i64) -> Result<Option<LimitRules>, ApiError> {
    let stored = state
        .store
        .limit_settings(LimitScope::User(user_id))
        .await?;
    Ok(match stored {
        Some(settings) => Some(LimitRules::from_stored(&settings.values)),
        None => {
            config_default(state, LimitScope::User(user_id)).map(|s| LimitRules::from_config(&s))
        }
    })
}

/// forge.toml's `[limits]` default for the kind of `scope`.
fn config_default(state: &AppState, scope: LimitScope) -> Option<LimitSet> {
    let snapshot = state.routing.snapshot();
    let limits = &snapshot.config.limits;
    match scope {
        LimitScope::Key(_) => limits.forge_keys.clone(),
        LimitScope::User(_) => limits.users.clone(),
    }
}

fn default_view(state: &AppState, scope: LimitScope) -> LimitsView {
    match config_default(state, scope) {
        Some(set) => LimitsView::new(
            scope.to_string(),
            Source::Config,
            Some(&LimitRules::from_config(&set)),
        ),
        None => LimitsView::new(scope.to_string(), Source::None, None),
    }
}

fn stored_view(settings: &LimitSettings, source: Source) -> LimitsView {
    let rules = LimitRules::from_stored(&settings.values);
    LimitsView {
        updated_at: Some(settings.updated_at),
        ..LimitsView::new(settings.scope.to_string(), source, Some(&rules))
    }
}
