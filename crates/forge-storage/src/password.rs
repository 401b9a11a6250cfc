//! Password hashing with argon2id at the crate's default cost (tens of milliseconds: run it
//! off the async executor, e.g. in `spawn_blocking`).

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::StorageError;

/// Returns a PHC string (`$argon2id$v=19$...`) with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, StorageError> {
    let hash: PasswordHash = Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|e| StorageError::Crypto(format!("hash password: {e}")))?;
    Ok(hash.to_string())
}

/// False on a mismatch and on a malformed hash alike.
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &hash)
        .is_ok()
}
