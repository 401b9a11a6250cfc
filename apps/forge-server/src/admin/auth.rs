//! Registration and login (`/v1/auth/*`, and the deprecated `POST /v1/users/` twin).

use std::sync::OnceLock;

use actix_web::{HttpResponse, web};
use forge_storage::{NewUser, StorageError, password};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::admin::views::UserView;
use crate::config::Registration;
use crate::error::ApiError;
use crate::state::AppState;
use crate::validate;

pub const MIN_PASSWORD_LEN: usize = 8;
const MAX_USERNAME_LEN: usize = 64;

#[derive(Deserialize, ToSchema)]
pub struct RegisterBody {
    /// 1 to 64 characters, no spaces or control characters.
    #[schema(min_length = 1, max_length = 64)]
    pub username: String,
    #[schema(format = Email)]
    pub email: String,
    /// At least 8 characters.
    #[schema(min_length = 8)]
    pub password: String,
}

/// How registration fails, on both registration routes.
pub struct RegistrationErrors;

impl utoipa::IntoResponses for RegistrationErrors {
    fn responses() -> std::collections::BTreeMap<
        String,
        utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
    > {
        use crate::openapi::security::admin_error;
        [
            ("400", "Email or username already registered"),
            ("403", "Registration is closed on this server"),
            ("422", "Invalid username, email or password"),
            ("503", "The database is unreachable"),
        ]
        .into_iter()
        .map(|(status, what)| (status.to_owned(), admin_error(what).into()))
        .collect()
    }
}

/// `POST /v1/auth/register`: answers the User with `forge_api_keys: []`.
#[utoipa::path(post, path = "/v1/auth/register", tag = "Accounts", operation_id = "register",
    request_body = RegisterBody,
    responses(
        (status = 200, description = "The new user (the first one is the admin)", body = UserView),
        RegistrationErrors,
    ),
    security(()))]
pub async fn register(
    state: web::Data<AppState>,
    body: web::Json<RegisterBody>,
) -> Result<HttpResponse, ApiError> {
    let user = create_user(&state, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(UserView::new(&user, Some(Vec::new()))))
}

/// `POST /v1/users/`: the deprecated twin, answering `forge_api_keys: null`.
#[utoipa::path(post, path = "/v1/users", tag = "Accounts", operation_id = "create_user",
    request_body = RegisterBody,
    responses(
        (status = 200, description = "The new user (`forge_api_keys` is null). Deprecated: use `POST /v1/auth/register`", body = UserView),
        RegistrationErrors,
    ),
    security(()))]
pub async fn create_user_route(
    state: web::Data<AppState>,
    body: web::Json<RegisterBody>,
) -> Result<HttpResponse, ApiError> {
    let user = create_user(&state, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(UserView::new(&user, None)))
}

pub fn check_username(username: &str) -> Result<(), ApiError> {
    if username.trim().is_empty() || username.chars().count() > MAX_USERNAME_LEN {
        return Err(ApiError::validation(
            &["body", "username"],
            format!("username must be 1 to {MAX_USERNAME_LEN} characters"),
            "value_error",
        ));
    }
    if username
        .chars()
        .any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(ApiError::validation(
            &["body", "username"],
            "username must not contain spaces or control characters",
            "value_error",
        ));
    }
    Ok(())
}

pub fn check_email(email: &str) -> Result<(), ApiError> {
    validate::email(email)
        .map_err(|msg| ApiError::validation(&["body", "email"], msg, "value_error"))
}

pub fn check_password(pw: &str) -> Result<(), ApiError> {
    if pw.chars().count() < MIN_PASSWORD_LEN {
        return Err(ApiError::validation(
            &["body", "password"],
            format!("password must be at least {MIN_PASSWORD_LEN} characters"),
            "value_error",
        ));
    }
    Ok(())
}

pub async fn hash_password(pw: String) -> Result<String, ApiError> {
    web::block(move || password::hash_password(&pw))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(ApiError::from)
}

async fn create_user(
    state: &AppState,
    body: RegisterBody,
) -> Result<forge_storage::User, ApiError> {
    check_username(&body.username)?;
    check_email(&body.email)?;
    check_password(&body.password)?;
    if state.settings.registration == Registration::Closed && state.store.count_users().await? > 0 {
        return Err(ApiError::forbidden(
            "Registration is closed on this server; ask an administrator",
        ));
    }
    if state.store.user_by_email(&body.email).await?.is_some() {
        return Err(ApiError::bad_request("Email already registered"));
    }
    if state
        .store
        .user_by_username(&body.username)
        .await?
        .is_some()
    {
        return Err(ApiError::bad_request("Username already registered"));
    }
    let hashed = hash_password(body.password).await?;
    let new = NewUser {
        username: &body.username,
        email: &body.email,
        hashed_password: &hashed,
    };
    match state.store.create_user(&new).await {
        Ok(user) => {
            tracing::info!(
                user_id = user.id,
                is_admin = user.is_admin,
                "user registered"
            );
            Ok(user)
        }
        Err(StorageError::Conflict(field)) => Err(conflict_detail(&field)),
        Err(e) => Err(e.into()),
    }
}

pub fn conflict_detail(field: &str) -> ApiError {
    if field.contains("email") {
        ApiError::bad_request("Email already registered")
    } else {
        ApiError::bad_request("Username already registered")
    }
}

/// OAuth2's password grant, form-encoded.
#[derive(Deserialize, ToSchema)]
pub struct TokenForm {
    pub username: String,
    pub password: String,
    /// `password` if present.
    #[schema(pattern = "^password$")]
    pub grant_type: Option<String>,
    #[allow(dead_code)]
    pub scope: Option<String>,
    #[allow(dead_code)]
    pub client_id: Option<String>,
    #[allow(dead_code)]
    pub client_secret: Option<String>,
}

/// A valid argon2id hash of a random password, so unknown usernames cost the same as wrong passwords.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut pw = [0u8; 16];
        let _ = getrandom::fill(&mut pw);
        password::hash_password(&hex::encode(pw)).unwrap_or_default()
    })
}

/// A session token for the admin API.
#[derive(Serialize, ToSchema)]
pub struct TokenView {
    pub access_token: String,
    /// `bearer`.
    pub token_type: &'static str,
}

/// `POST /v1/auth/token` (OAuth2 password form).
#[utoipa::path(post, path = "/v1/auth/token", tag = "Accounts", operation_id = "token",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "A JWT for `Authorization: Bearer`", body = TokenView),
        (status = 401, description = "Incorrect username or password", body = crate::openapi::errors::AdminError,
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
        (status = 422, description = "A missing field or a grant type other than `password`", body = crate::openapi::errors::AdminError),
        (status = 503, description = "The database is unreachable", body = crate::openapi::errors::AdminError),
    ),
    security(()))]
pub async fn token(
    state: web::Data<AppState>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, ApiError> {
    let form = form.into_inner();
    if let Some(grant) = &form.grant_type
        && grant != "password"
    {
        return Err(ApiError::validation(
            &["body", "grant_type"],
            "String should match pattern '^password$'",
            "string_pattern_mismatch",
        ));
    }
    let user = state.store.user_by_username(&form.username).await?;
    let hash = user.as_ref().map(|u| u.hashed_password.clone());
    let password = form.password;
    let verified = web::block(move || {
        let hash = hash.as_deref().unwrap_or_else(|| dummy_hash());
        password::verify_password(&password, hash)
    })
    .await
    .map_err(|_| ApiError::internal())?;
    let user = match user {
        Some(user) if verified => user,
        _ => {
            return Err(ApiError::unauthorized_bearer(
                "Incorrect username or password",
            ));
        }
    };
    let token = state.jwt.issue(&user)?;
    Ok(HttpResponse::Ok().json(TokenView {
        access_token: token,
        token_type: "bearer",
    }))
}
