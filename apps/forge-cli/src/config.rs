//! The stored session: which server the user logged in to, the JWT it issued, and the Forge API
//! key last created with `keys create`. It holds secrets, so the file is created with mode 0600 in a
//! directory with mode 0700, and it is replaced atomically (write a temporary file, then rename).
//!
//! Secrets are bound to the server they came from: when the CLI is pointed at another server it
//! does not send them there.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::CliError;

const FILE_NAME: &str = "config.json";

/// No `Debug`: it holds the JWT and a Forge key.
#[derive(Serialize, Deserialize, Default, Clone)]
pub struct Session {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forge_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forge_key_id: Option<i64>,
}

pub struct ConfigStore {
    dir: PathBuf,
    pub session: Session,
}

impl ConfigStore {
    /// `FORGE_CONFIG_DIR`, else `$XDG_CONFIG_HOME/forge`, else `~/.config/forge`.
    pub fn locate() -> Result<PathBuf, CliError> {
        if let Some(dir) = non_empty_env("FORGE_CONFIG_DIR") {
            return Ok(PathBuf::from(dir));
        }
        if let Some(xdg) = non_empty_env("XDG_CONFIG_HOME") {
            let xdg = PathBuf::from(xdg);
            // The XDG spec says relative values are to be ignored.
            if xdg.is_absolute() {
                return Ok(xdg.join("forge"));
            }
        }
        match non_empty_env("HOME") {
            Some(home) => Ok(PathBuf::from(home).join(".config").join("forge")),
            None => Err(CliError::Config(
                "cannot find a config directory: set FORGE_CONFIG_DIR or HOME".into(),
            )),
        }
    }

    pub fn load(dir: PathBuf) -> Result<Self, CliError> {
        let path = dir.join(FILE_NAME);
        let session = match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|err| {
                // Only where it failed: serde's own message quotes the offending value,
                // which in this file may be the JWT or the Forge key.
                CliError::config(
                    &format!("{} is not a valid session file", path.display()),
                    format_args!(
                        "{:?} error at line {}, column {}",
                        err.classify(),
                        err.line(),
                        err.column()
                    ),
                )
            })?,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Session::default(),
            Err(err) => {
                return Err(CliError::config(
                    &format!("cannot read {}", path.display()),
                    err,
                ));
            }
        };
        Ok(Self { dir, session })
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }

    pub fn save(&self) -> Result<(), CliError> {
        let shown = self.dir.display().to_string();
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|err| CliError::config(&format!("cannot create {shown}"), err))?;
        let body = serde_json::to_vec_pretty(&self.session)
            .map_err(|err| CliError::config("cannot encode the session", err))?;
        let tmp = self.dir.join(format!(".{FILE_NAME}.tmp"));
        write_private(&tmp, &body)
            .map_err(|err| CliError::config(&format!("cannot write {}", tmp.display()), err))?;
        let path = self.path();
        fs::rename(&tmp, &path).map_err(|err| {
            let _ = fs::remove_file(&tmp);
            CliError::config(&format!("cannot write {}", path.display()), err)
        })
    }

    /// The JWT, if the stored session belongs to `server`.
    pub fn token_for(&self, server: &str) -> Option<&str> {
        self.for_server(server)?.token.as_deref()
    }

    /// The remembered Forge key, if the stored session belongs to `server`.
    pub fn forge_key_for(&self, server: &str) -> Option<&str> {
        self.for_server(server)?.forge_key.as_deref()
    }

    fn for_server(&self, server: &str) -> Option<&Session> {
        (self.session.server.as_deref() == Some(server)).then_some(&self.session)
    }
}

/// Creates (or truncates) `path` readable by its owner only, whatever the umask and whatever mode
/// an older file had.
fn write_private(path: &Path, body: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    file.write_all(body)?;
    file.sync_all()
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_corrupt_session_file_is_reported_without_its_secrets() {
        let dir = std::env::temp_dir().join(format!("forge-cli-corrupt-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let secret = "forge-0123456789abcdef0123456789abcdef9f3a";
        fs::write(
            dir.join(FILE_NAME),
            format!(
                r#"{{"server":"http://h:1","token":"eyJ.secret.jwt","forge_key_id":"{secret}"}}"#
            ),
        )
        .unwrap();
        let message = match ConfigStore::load(dir.clone()) {
            Err(err) => err.to_string(),
            Ok(_) => String::from("loaded"),
        };
        fs::remove_dir_all(&dir).unwrap();
        assert!(message.contains("is not a valid session file"), "{message}");
        assert!(message.contains("line 1"), "{message}");
        assert!(
            !message.contains(secret) && !message.contains("eyJ"),
            "{message}"
        );
    }

    #[test]
    fn save_then_load_round_trips_with_mode_0600() {
        let tmp = std::env::temp_dir().join(format!("forge-cli-config-{}", std::process::id()));
        let dir = tmp.join("nested");
        let mut store = ConfigStore::load(dir.clone()).unwrap();
        assert!(store.session.token.is_none());
        store.session.server = Some("http://h:1".into());
        store.session.token = Some("t".into());
        store.save().unwrap();
        let mode = fs::metadata(store.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        let loaded = ConfigStore::load(dir).unwrap();
        assert_eq!(loaded.token_for("http://h:1"), Some("t"));
        assert_eq!(loaded.token_for("http://other:1"), None);
        fs::remove_dir_all(tmp).unwrap();
    }
}
