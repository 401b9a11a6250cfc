//! The two server secrets: the key that encrypts provider keys at rest and the JWT signing secret.
//!
//! Each comes from its environment variable or, when that is absent, from a file in the data
//! directory that is generated once (mode 0600) and reused, so a restart can always decrypt what
//! an earlier run stored. A per-process random key would silently make every stored key unreadable.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

pub const ENCRYPTION_KEY_ENV: &str = "FORGE_ENCRYPTION_KEY";
/// The key being rotated away from (`forge-server rotate-encryption-key`); or the file below.
pub const PREVIOUS_ENCRYPTION_KEY_ENV: &str = "FORGE_ENCRYPTION_KEY_PREVIOUS";
const PREVIOUS_ENCRYPTION_KEY_FILE: &str = "encryption.key.previous";
pub const JWT_SECRET_ENV: &str = "FORGE_JWT_SECRET";
const ENCRYPTION_KEY_FILE: &str = "encryption.key";
const JWT_SECRET_FILE: &str = "jwt.secret";
const MIN_SECRET_LEN: usize = 32;

/// Values copied from sample configs; a server started with one of them would be trivially breakable.
const PLACEHOLDERS: &[&str] = &[
    "changeme",
    "change-me",
    "change_me",
    "secret",
    "your_secret_key_here",
    "your-secret-key",
    "your_secret_key",
    "your-encryption-key",
    "your_encryption_key_here",
    "supersecret",
    "password",
    "default",
    "example",
    "test",
];

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "{var} is a known placeholder value; set a real secret (at least {MIN_SECRET_LEN} characters)"
    )]
    Placeholder { var: &'static str },
    #[error("{var} is too short: use at least {MIN_SECRET_LEN} characters (or 64 hex digits)")]
    TooShort { var: &'static str },
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a valid secret file: {reason}")]
    Corrupt { path: String, reason: String },
    #[error("no randomness available: {0}")]
    Random(String),
}

pub struct ServerSecrets {
    pub encryption_key: Zeroizing<[u8; 32]>,
    /// The key a rotation moves away from: what it encrypted still opens.
    pub previous_encryption_key: Option<Zeroizing<[u8; 32]>>,
    pub jwt_secret: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for ServerSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerSecrets { .. }")
    }
}

pub fn load(data_dir: &Path) -> Result<ServerSecrets, SecretError> {
    let encryption_key = match env_value(ENCRYPTION_KEY_ENV)? {
        Some(value) => key_from_text(&value),
        None => {
            let hex_key = file_secret(data_dir, ENCRYPTION_KEY_FILE)?;
            key_from_hex(&hex_key).ok_or_else(|| SecretError::Corrupt {
                path: data_dir.join(ENCRYPTION_KEY_FILE).display().to_string(),
                reason: "expected 64 hex digits".into(),
            })?
        }
    };
    let previous_encryption_key = match env_value(PREVIOUS_ENCRYPTION_KEY_ENV)? {
        Some(value) => Some(key_from_text(&value)),
        None => previous_key_file(data_dir)?,
    };
    let jwt_secret = match env_value(JWT_SECRET_ENV)? {
        Some(value) => Zeroizing::new(value.as_bytes().to_vec()),
        None => Zeroizing::new(file_secret(data_dir, JWT_SECRET_FILE)?.as_bytes().to_vec()),
    };
    Ok(ServerSecrets {
        encryption_key,
        previous_encryption_key,
        jwt_secret,
    })
}

/// `<dir>/encryption.key.previous`, when present (never generated).
fn previous_key_file(data_dir: &Path) -> Result<Option<Zeroizing<[u8; 32]>>, SecretError> {
    let path = data_dir.join(PREVIOUS_ENCRYPTION_KEY_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => Zeroizing::new(text),
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(SecretError::Io {
                path: path.display().to_string(),
                source,
            });
        }
    };
    key_from_hex(text.trim())
        .map(Some)
        .ok_or_else(|| SecretError::Corrupt {
            path: path.display().to_string(),
            reason: "expected 64 hex digits".into(),
        })
}

fn env_value(var: &'static str) -> Result<Option<Zeroizing<String>>, SecretError> {
    let Ok(value) = std::env::var(var) else {
        return Ok(None);
    };
    let value = Zeroizing::new(value.trim().to_owned());
    if value.is_empty() {
        return Ok(None);
    }
    check_not_placeholder(var, &value)?;
    Ok(Some(value))
}

fn check_not_placeholder(var: &'static str, value: &str) -> Result<(), SecretError> {
    let lower = value.to_ascii_lowercase();
    if PLACEHOLDERS.contains(&lower.as_str())
        || lower.contains("change_me")
        || lower.contains("changeme")
        || lower.contains("your_secret")
        || lower.contains("your-secret")
    {
        return Err(SecretError::Placeholder { var });
    }
    if value.len() < MIN_SECRET_LEN {
        return Err(SecretError::TooShort { var });
    }
    Ok(())
}

/// 64 hex digits are taken as the raw key; any other (long enough) text is hashed into one.
fn key_from_text(value: &str) -> Zeroizing<[u8; 32]> {
    if let Some(key) = key_from_hex(value) {
        return key;
    }
    let digest = Sha256::digest(value.as_bytes());
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&digest);
    key
}

fn key_from_hex(value: &str) -> Option<Zeroizing<[u8; 32]>> {
    let mut key = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(value.trim(), key.as_mut_slice()).ok()?;
    Some(key)
}

/// Creates the data directory private to this user (it holds the database and the secrets).
pub fn ensure_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Warns when the data directory is open to the group or others: it holds the database
/// (provider keys, encrypted) and, unless they come from the environment, the secrets.
pub fn warn_if_shared_dir(dir: &Path) {
    if let Ok(meta) = fs::metadata(dir)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            path = %dir.display(),
            mode = format!("{:o}", meta.permissions().mode() & 0o777),
            "the data directory is readable by other users; chmod 700 it"
        );
    }
}

/// Makes a SQLite database file (and its `-wal` / `-shm` companions, which SQLite creates with
/// the database's mode) readable by this user only: created 0600 when missing, tightened when
/// open to others.
pub fn private_sqlite_file(path: &Path) -> std::io::Result<()> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)?;
    for suffix in ["", "-wal", "-shm"] {
        let file = Path::new(&format!("{}{suffix}", path.display())).to_path_buf();
        if let Ok(meta) = fs::metadata(&file)
            && meta.permissions().mode() & 0o077 != 0
        {
            fs::set_permissions(&file, fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

/// Reads `<dir>/<name>`, creating it with 32 fresh random bytes (hex) on first start.
fn file_secret(dir: &Path, name: &str) -> Result<Zeroizing<String>, SecretError> {
    let path = dir.join(name);
    let io_err = |source| SecretError::Io {
        path: path.display().to_string(),
        source,
    };
    ensure_private_dir(dir).map_err(io_err)?;
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
    {
        Ok(mut file) => {
            let mut bytes = Zeroizing::new([0u8; 32]);
            getrandom::fill(bytes.as_mut_slice())
                .map_err(|e| SecretError::Random(e.to_string()))?;
            let text = Zeroizing::new(hex::encode(bytes.as_slice()));
            file.write_all(text.as_bytes()).map_err(io_err)?;
            file.sync_all().map_err(io_err)?;
            Ok(text)
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            let mut file = fs::File::open(&path).map_err(io_err)?;
            let mode = file.metadata().map_err(io_err)?.permissions().mode();
            if mode & 0o077 != 0 {
                tracing::warn!(path = %path.display(), "secret file is readable by others; tightening to 0600");
                fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).map_err(io_err)?;
            }
            let mut text = Zeroizing::new(String::new());
            file.read_to_string(&mut text).map_err(io_err)?;
            let trimmed = Zeroizing::new(text.trim().to_owned());
            if trimmed.len() < MIN_SECRET_LEN {
                return Err(SecretError::Corrupt {
                    path: path.display().to_string(),
                    reason: "too short".into(),
                });
            }
            Ok(trimmed)
        }
        Err(e) => Err(io_err(e)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sqlite_files_are_private() {
        let dir = std::env::temp_dir().join(format!("forge-db-mode-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let db = dir.join("forge.db");
        private_sqlite_file(&db).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&db), 0o600);
        let wal = dir.join("forge.db-wal");
        fs::write(&wal, b"").unwrap();
        fs::set_permissions(&wal, fs::Permissions::from_mode(0o644)).unwrap();
        fs::set_permissions(&db, fs::Permissions::from_mode(0o644)).unwrap();
        private_sqlite_file(&db).unwrap();
        assert_eq!((mode(&db), mode(&wal)), (0o600, 0o600));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn generated_once_and_reused_with_private_mode() {
        let dir = std::env::temp_dir().join(format!("forge-secrets-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let first = file_secret(&dir, "x.key").unwrap();
        let second = file_secret(&dir, "x.key").unwrap();
        assert_eq!(*first, *second);
        assert_eq!(first.len(), 64);
        let mode = fs::metadata(dir.join("x.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn placeholders_and_short_values_are_refused() {
        assert!(matches!(
            check_not_placeholder("V", "your_secret_key_here"),
            Err(SecretError::Placeholder { .. })
        ));
        assert!(matches!(
            check_not_placeholder("V", "changeme"),
            Err(SecretError::Placeholder { .. })
        ));
        assert!(matches!(
            check_not_placeholder("V", "short"),
            Err(SecretError::TooShort { .. })
        ));
        assert!(check_not_placeholder("V", "a-perfectly-long-random-secret-value-123").is_ok());
    }

    #[test]
    fn hex_keys_are_raw_and_text_is_hashed() {
        let hex_key = "00".repeat(32);
        assert_eq!(*key_from_text(&hex_key), [0u8; 32]);
        let hashed = key_from_text("a-perfectly-long-random-secret-value-123");
        assert_ne!(*hashed, [0u8; 32]);
    }
}
