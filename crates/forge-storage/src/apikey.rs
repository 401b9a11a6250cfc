//! Forge API keys: `forge-` + 64 hex chars. Only the SHA-256 digest is stored; a fast hash is
//! enough because the key has 256 bits of entropy.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::StorageError;

pub const PREFIX: &str = "forge-";

/// A newly minted key: `full` is shown to the user once, then only `digest` and `suffix` remain.
pub struct GeneratedKey {
    pub full: Zeroizing<String>,
    pub digest: String,
    pub suffix: String,
}

impl std::fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("full", &"<redacted>")
            .field("digest", &self.digest)
            .field("suffix", &self.suffix)
            .finish()
    }
}

pub fn generate_forge_key() -> Result<GeneratedKey, StorageError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| StorageError::Crypto(format!("random: {e}")))?;
    let mut hex = hex::encode(bytes);
    bytes.zeroize();
    let full = Zeroizing::new(format!("{PREFIX}{hex}"));
    hex.zeroize();
    let digest = digest_forge_key(&full);
    let suffix = full[full.len() - 4..].to_owned();
    Ok(GeneratedKey {
        full,
        digest,
        suffix,
    })
}

/// Lowercase hex SHA-256 of the key as presented.
pub fn digest_forge_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Constant-time comparison of two digests.
pub fn digests_match(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}
