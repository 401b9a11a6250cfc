//! HS256 session tokens for the admin API. Only HS256 is accepted, so `alg: none` and
//! algorithm-confusion tokens fail verification.
//!
//! The subject is the user's immutable id (Forge v1 used the username, so a token followed a
//! name to whoever registered it next), and `gen` is the user's token generation: a password
//! or username change bumps it (Forge v1 clients expect a rename to end their session), and
//! every token issued before stops working at once, on every instance (each admin request
//! reads the user by id anyway).

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use chrono::Utc;
use futures_util::future::LocalBoxFuture;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The user's id, as a string (JWT subjects are strings).
    sub: String,
    /// The user's token generation when the token was issued.
    #[serde(rename = "gen")]
    generation: i64,
    exp: i64,
    iat: i64,
}

/// Who a valid token speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    pub user_id: i64,
    pub generation: i64,
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

    pub fn issue(&self, user: &forge_storage::User) -> Result<String, ApiError> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user.id.to_string(),
            generation: user.token_generation,
            iat: now,
            exp: now + self.lifetime_minutes * 60,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(|e| {
            tracing::error!(error = %e, "cannot sign a JWT");
            ApiError::internal()
        })
    }

    /// The session of a valid, unexpired token.
    pub fn verify(&self, token: &str) -> Option<Session> {
        let claims = decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()?
            .claims;
        Some(Session {
            user_id: claims.sub.parse().ok()?,
            generation: claims.generation,
        })
    }
}

/// The user behind a valid `Authorization: Bearer <jwt>`; rejects as Forge v1 does.
pub struct CurrentUser(pub forge_storage::User);

impl FromRequest for CurrentUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // The narrow handles this needs, registered by the app's wiring.
        let keys = req.app_data::<web::Data<JwtKeys>>().cloned();
        let store = req.app_data::<web::Data<forge_storage::Store>>().cloned();
        let token = bearer_token(req);
        Box::pin(async move {
            let (Some(keys), Some(store)) = (keys, store) else {
                return Err(ApiError::internal());
            };
            let token = token.ok_or_else(|| ApiError::unauthorized_bearer("Not authenticated"))?;
            let invalid =
                || ApiError::unauthorized_bearer("Could not validate credentials for local user");
            let session = keys.verify(&token).ok_or_else(invalid)?;
            let user = store
                .user_by_id(session.user_id)
                .await?
                .filter(|user| user.token_generation == session.generation)
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
    super::bearer(value).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn alice() -> forge_storage::User {
        let at = chrono::NaiveDateTime::default();
        forge_storage::User {
            id: 42,
            username: "alice".into(),
            email: "alice@example.com".into(),
            hashed_password: String::new(),
            is_active: true,
            is_admin: false,
            created_at: at,
            updated_at: at,
            token_generation: 3,
        }
    }

    #[test]
    fn issued_tokens_verify_and_foreign_ones_do_not() {
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef", 60);
        let token = keys.issue(&alice()).unwrap();
        assert_eq!(
            keys.verify(&token),
            Some(Session {
                user_id: 42,
                generation: 3
            })
        );
        let other = JwtKeys::new(b"another-secret-another-secret-xx", 60);
        assert_eq!(other.verify(&token), None);
    }

    /// Tokens of the old form (`sub` = username, no generation) are no longer sessions.
    #[test]
    fn username_subjects_are_rejected() {
        #[derive(Serialize)]
        struct Old {
            sub: &'static str,
            exp: i64,
            iat: i64,
        }
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef", 60);
        let old = Old {
            sub: "alice",
            exp: Utc::now().timestamp() + 600,
            iat: 0,
        };
        let token = encode(&Header::new(Algorithm::HS256), &old, &keys.encoding).unwrap();
        assert_eq!(keys.verify(&token), None);
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
            sub: "42".into(),
            generation: 0,
            iat: 0,
            exp: Utc::now().timestamp() - 3600,
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &keys.encoding).unwrap();
        assert_eq!(keys.verify(&token), None);
    }
}
