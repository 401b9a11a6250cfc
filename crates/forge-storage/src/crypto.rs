//! Secrets at rest: XChaCha20-Poly1305 with a random 24-byte nonce per message, so nonces
//! never need coordinating between processes. Associated data binds a ciphertext to its row.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::{Zeroize, Zeroizing};

use crate::StorageError;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// Encrypts and decrypts provider secrets. `Debug` never shows the key.
///
/// During a key rotation it also holds the previous key: what that key encrypted still
/// decrypts, and everything new is encrypted with the current one.
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
    fingerprint: String,
    previous: Option<(XChaCha20Poly1305, String)>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(<key redacted>)")
    }
}

impl SecretBox {
    pub fn new(key: [u8; 32]) -> Self {
        Self::with_previous(key, None)
    }

    /// A box that also decrypts what `previous` encrypted (while a rotation is under way).
    pub fn with_previous(key: [u8; 32], previous: Option<[u8; 32]>) -> Self {
        let open = |mut key: [u8; 32]| {
            let cipher = XChaCha20Poly1305::new(&key.into());
            let fingerprint = fingerprint(&key);
            key.zeroize();
            (cipher, fingerprint)
        };
        let (cipher, fingerprint) = open(key);
        SecretBox {
            cipher,
            fingerprint,
            previous: previous.map(open),
        }
    }

    /// The current key's fingerprint (see [`fingerprint`]).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The previous key's fingerprint, while one is held.
    pub fn previous_fingerprint(&self) -> Option<&str> {
        self.previous.as_ref().map(|(_, f)| f.as_str())
    }

    /// A fresh random key, to be persisted once (never generated per process).
    pub fn generate_key() -> Result<[u8; 32], StorageError> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| StorageError::Crypto(format!("random: {e}")))?;
        Ok(key)
    }

    /// Returns `1 || nonce (24 bytes) || ciphertext || tag (16 bytes)`.
    pub fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, StorageError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| StorageError::Crypto(format!("random: {e}")))?;
        let sealed = self
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| StorageError::Crypto("encryption failed".to_owned()))?;
        let mut blob = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        blob.push(VERSION);
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        Ok(blob)
    }

    /// Fails on a wrong key, wrong associated data, or any modified byte.
    pub fn decrypt(&self, blob: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, StorageError> {
        self.open(blob, aad, true)
    }

    /// Whether the current key (not a previous one) opens `blob`.
    pub fn opens_with_current(&self, blob: &[u8], aad: &[u8]) -> bool {
        self.open(blob, aad, false).is_ok()
    }

    fn open(
        &self,
        blob: &[u8],
        aad: &[u8],
        try_previous: bool,
    ) -> Result<Zeroizing<Vec<u8>>, StorageError> {
        let Some((&version, rest)) = blob.split_first() else {
            return Err(StorageError::Crypto("empty ciphertext".to_owned()));
        };
        if version != VERSION {
            return Err(StorageError::Crypto(format!(
                "unknown ciphertext version {version}"
            )));
        }
        if rest.len() < NONCE_LEN + TAG_LEN {
            return Err(StorageError::Crypto("ciphertext too short".to_owned()));
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce
            .try_into()
            .map_err(|_| StorageError::Crypto("ciphertext too short".to_owned()))?;
        let nonce = XNonce::from(nonce);
        let open = |cipher: &XChaCha20Poly1305| {
            cipher
                .decrypt(&nonce, Payload { msg: sealed, aad })
                .map(Zeroizing::new)
                .ok()
        };
        open(&self.cipher)
            .or_else(|| {
                let (cipher, _) = self.previous.as_ref().filter(|_| try_previous)?;
                open(cipher)
            })
            .ok_or_else(|| StorageError::Crypto("decryption failed".to_owned()))
    }
}

/// What the database keeps to recognise the encryption key: a domain-separated SHA-256 of it,
/// which says nothing about the key itself.
pub fn fingerprint(key: &[u8; 32]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(b"forge/encryption-key-fingerprint/v1:");
    hasher.update(key);
    hex::encode(hasher.finalize())
}

/// Associated data for a provider key: the owner's id and the lowercased provider name, so a
/// ciphertext copied to another user's or provider's row fails to decrypt. The id has no
/// `:`, so the encoding is unambiguous.
pub fn provider_key_aad(user_id: i64, provider_name: &str) -> Vec<u8> {
    format!(
        "forge/provider-key/v1:{user_id}:{}",
        provider_name.to_lowercase()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn debug_hides_key() {
        let sb = SecretBox::new([7u8; 32]);
        assert_eq!(format!("{sb:?}"), "SecretBox(<key redacted>)");
    }

    #[test]
    fn rejects_short_and_unknown_version() {
        let sb = SecretBox::new([7u8; 32]);
        assert!(sb.decrypt(&[], b"").is_err());
        assert!(sb.decrypt(&[1u8; 10], b"").is_err());
        let mut blob = sb.encrypt(b"x", b"").unwrap();
        blob[0] = 2;
        assert!(sb.decrypt(&blob, b"").is_err());
    }

    #[test]
    fn a_rotation_box_opens_both_keys_and_seals_with_the_new_one() {
        let (old, new) = ([1u8; 32], [2u8; 32]);
        let sealed_old = SecretBox::new(old).encrypt(b"s", b"a").unwrap();
        let both = SecretBox::with_previous(new, Some(old));
        assert_eq!(both.decrypt(&sealed_old, b"a").unwrap().as_slice(), b"s");
        assert!(!both.opens_with_current(&sealed_old, b"a"));
        let sealed_new = both.encrypt(b"s", b"a").unwrap();
        assert!(both.opens_with_current(&sealed_new, b"a"));
        assert!(SecretBox::new(old).decrypt(&sealed_new, b"a").is_err());
        assert_eq!(both.fingerprint(), fingerprint(&new));
        assert_eq!(
            both.previous_fingerprint(),
            Some(fingerprint(&old).as_str())
        );
        assert_ne!(fingerprint(&old), fingerprint(&new));
        assert!(!fingerprint(&new).contains(&hex::encode(new)));
    }
}
