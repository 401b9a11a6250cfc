//! HS256 session tokens for the admin API (`sub` = username, as Forge v1 issues them).
//! Only HS256 is accepted, so `alg: none` and algorithm-confusion tokens fail verification.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use chrono::Utc;
use futures_util::future::LocalBoxFuture;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
    iat: i64,
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    lifetime_minutes: i64,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys { .. }")
    }
}

impl JwtKeys {
    pub fn new(secret: &[u8], lifetime_minutes: u32) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            lifetime_minutes: i64::from(lifetime_minutes.max(1)),
        }
    }

    pub fn issue(&self, username: &str) -> Result<String, ApiError> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: username.to_owned(),
            iat: now,
            exp: now + self.lifetime_minutes * 60,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(|e| {
            tracing::error!(error = %e, "cannot sign a JWT");
            ApiError::internal()
        })
    }

    /// The username of a valid, unexpired token.
    pub fn verify(&self, token: &str) -> Option<String> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|data| data.claims.sub)
            .filter(|sub| !sub.is_empty())
    }
}

/// The user behind a valid `Authorization: Bearer <jwt>`; rejects as Forge v1 does.
pub struct CurrentUser(pub forge_storage::User);

impl FromRequest for CurrentUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req);
        Box::pin(async move {
            let state = state.ok_or_else(ApiError::internal)?;
            let token = token.ok_or_else(|| ApiError::unauthorized_bearer("Not authenticated"))?;
            let invalid =
                || ApiError::unauthorized_bearer("Could not validate credentials for local user");
            let username = state.jwt.verify(&token).ok_or_else(invalid)?;
            let user = state
                .store
                .user_by_username(&username)
                .await?
                .ok_or_else(invalid)?;
            if !user.is_active {
                return Err(ApiError::bad_request("Inactive user"));
            }
            Ok(CurrentUser(user))
        })
    }
}

/// An admin, for operator-only routes.
pub struct AdminUser(pub forge_storage::User);

impl FromRequest for AdminUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = CurrentUser::from_request(req, payload);
        Box::pin(async move {
            let CurrentUser(user) = user.await?;
            if !user.is_admin {
                return Err(ApiError::forbidden("Admin privileges required"));
            }
            Ok(AdminUser(user))
        })
    }
}

fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn issued_tokens_verify_and_foreign_ones_do_not() {
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef", 60);
        let token = keys.issue("alice").unwrap();
        assert_eq!(keys.verify(&token).as_deref(), Some("alice"));
        let other = JwtKeys::new(b"another-secret-another-secret-xx", 60);
        assert_eq!(other.verify(&token), None);
    }

    #[test]
    fn alg_none_is_rejected() {
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef", 60);
        // {"alg":"none","typ":"JWT"} . {"sub":"alice","exp":9999999999,"iat":0} . (no signature)
        let token = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6OTk5OTk5OTk5OSwiaWF0IjowfQ.";
        assert_eq!(keys.verify(token), None);
    }

    #[test]
    fn expired_tokens_are_rejected() {
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef", 60);
        let claims = Claims {
            sub: "alice".into(),
            iat: 0,
            exp: Utc::now().timestamp() - 3600,
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &keys.encoding).unwrap();
        assert_eq!(keys.verify(&token), None);
    }
}
