//! The crate's one error type. Messages never carry secrets or connection strings.

use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind, Error as DieselError};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("not found")]
    NotFound,
    /// A unique constraint was violated; the message names the field (`username`, `email`,
    /// `provider_name`, `key_digest`) so the HTTP layer can say which one.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Database(String),
    #[error("database unavailable: {0}")]
    Pool(String),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("invalid database url: {0}")]
    Url(String),
    #[error("crypto: {0}")]
    Crypto(String),
}

impl From<DieselError> for StorageError {
    fn from(err: DieselError) -> Self {
        match err {
            DieselError::NotFound => StorageError::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                StorageError::Conflict(conflicting_field(info.as_ref()).to_owned())
            }
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                StorageError::Pool(info.message().to_owned())
            }
            other => StorageError::Database(other.to_string()),
        }
    }
}

/// Postgres reports the constraint name, SQLite only a message such as
/// `UNIQUE constraint failed: users.email_lower`; both contain the column name.
fn conflicting_field(info: &(dyn DatabaseErrorInformation + Send + Sync)) -> &'static str {
    let text = match info.constraint_name() {
        Some(name) => name.to_owned(),
        None => info.message().to_owned(),
    };
    if text.contains("provider_name") {
        "provider_name"
    } else if text.contains("email") {
        "email"
    } else if text.contains("username") {
        "username"
    } else if text.contains("key_digest") {
        "key_digest"
    } else if text.contains("forge_key_scopes") {
        "scope"
    } else {
        "unique"
    }
}
