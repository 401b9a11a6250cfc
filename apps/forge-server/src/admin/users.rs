//! `/v1/users/me`.

use actix_web::{HttpResponse, web};
use forge_core::mask;
use forge_storage::{StorageError, UserChanges};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::admin::Deferred;
use crate::admin::auth::{
    check_email, check_password, check_username, conflict_detail, hash_password,
};
use crate::admin::views::{MaskedUserView, UserView};
use crate::auth::jwt::CurrentUser;
use crate::error::ApiError;
use crate::state::AppState;

#[utoipa::path(get, path = "/v1/users/me", tag = "Accounts", operation_id = "me",
    responses((status = 200, description = "The caller, with its Forge keys masked", body = MaskedUserView)),
    security(("jwt" = [])))]
pub async fn me(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<HttpResponse, ApiError> {
    let keys = state.store.list_forge_keys(user.id).await?;
    let masked = keys
        .iter()
        .map(|k| mask::mask_forge_key_suffix(&k.key_suffix))
        .collect();
    Ok(HttpResponse::Ok().json(MaskedUserView {
        user: UserView::new(&user, Some(masked)),
        is_admin: user.is_admin,
    }))
}

/// Absent, null or empty fields are left as they are.
#[derive(Deserialize, ToSchema)]
pub struct UpdateMe {
    pub email: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// Partial update: only present, non-empty fields change (as Forge v1 does).
#[utoipa::path(put, path = "/v1/users/me", tag = "Accounts", operation_id = "update_me",
    request_body = UpdateMe,
    responses(
        (status = 200, description = "The updated user (`forge_api_keys` is null)", body = UserView),
    ),
    security(("jwt" = [])))]
pub async fn update_me(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    body: Deferred<web::Json<UpdateMe>>,
) -> Result<HttpResponse, ApiError> {
    let body = body?.into_inner();
    let email = body.email.filter(|e| !e.is_empty());
    let username = body.username.filter(|u| !u.is_empty());
    let password = body.password.filter(|p| !p.is_empty());
    if let Some(email) = &email {
        check_email(email)?;
        if let Some(other) = state.store.user_by_email(email).await?
            && other.id != user.id
        {
            return Err(ApiError::bad_request("Email already registered"));
        }
    }
    if let Some(username) = &username {
        check_username(username)?;
        if let Some(other) = state.store.user_by_username(username).await?
            && other.id != user.id
        {
            return Err(ApiError::bad_request("Username already registered"));
        }
    }
    let hashed_password = match password {
        Some(pw) => {
            check_password(&pw)?;
            Some(hash_password(pw).await?)
        }
        None => None,
    };
    let changes = UserChanges {
        username,
        email,
        hashed_password,
    };
    let updated = match state.store.update_user(user.id, &changes).await {
        Ok(updated) => updated,
        Err(StorageError::Conflict(field)) => return Err(conflict_detail(&field)),
        Err(e) => return Err(e.into()),
    };
    state.invalidate_user(user.id);
    Ok(HttpResponse::Ok().json(UserView::new(&updated, None)))
}
