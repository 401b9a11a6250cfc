//! The installation's own facts (`forge_meta`), and what rests on them: recognising the
//! encryption key at start, and re-encrypting every stored secret under a new one.

use diesel::QueryableByName;
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, RunQueryDsl};

use crate::crypto::{SecretBox, provider_key_aad};
use crate::db::{Db, with_conn};
use crate::schema::provider_keys;
use crate::usage_sql::{Bind, Sql};
use crate::{StorageError, Store};

/// `forge_meta` name of the encryption key's fingerprint.
const FINGERPRINT: &str = "encryption_key_fingerprint";

#[derive(QueryableByName)]
struct ValueRow {
    #[diesel(sql_type = Text)]
    value: String,
}

/// One stored secret: the row, and what its ciphertext is bound to.
type SecretRow = (i64, i64, String, Vec<u8>);

impl Store {
    /// The fingerprint of the key the stored secrets are encrypted with, once recorded.
    pub async fn encryption_fingerprint(&self) -> Result<Option<String>, StorageError> {
        let mut sql = Sql::new(self.meta_pg());
        sql.push("SELECT value FROM forge_meta WHERE name = ")
            .bind(Bind::Text(Some(FINGERPRINT.to_owned())));
        with_conn!(self.db(), |conn| {
            let rows: Vec<ValueRow> = sql.query(&*conn).load(conn).await?;
            Ok(rows.into_iter().next().map(|r| r.value))
        })
    }

    /// Records the fingerprint of the key the stored secrets are encrypted with.
    pub async fn set_encryption_fingerprint(&self, fingerprint: &str) -> Result<(), StorageError> {
        let sql = set_fingerprint_sql(self.meta_pg(), fingerprint);
        with_conn!(self.db(), |conn| {
            sql.query(&*conn).execute(conn).await?;
            Ok(())
        })
    }

    /// One stored provider secret (deleted rows included), to try a key on: `(user id,
    /// provider name, ciphertext)`; `None` when nothing is stored.
    pub async fn sample_provider_secret(
        &self,
    ) -> Result<Option<(i64, String, Vec<u8>)>, StorageError> {
        with_conn!(self.db(), |conn| {
            let row: Option<SecretRow> = provider_keys::table
                .select((
                    provider_keys::id,
                    provider_keys::user_id,
                    provider_keys::provider_name,
                    provider_keys::encrypted_api_key,
                ))
                .order(provider_keys::id)
                .first(conn)
                .await
                .optional()?;
            Ok(row.map(|(_, user, name, blob)| (user, name, blob)))
        })
    }

    /// Re-encrypts every stored provider secret (deleted rows included) under `secrets`'
    /// current key, opening each with the current or the previous key, and records the
    /// current key's fingerprint. The writes are one transaction, each guarded by the
    /// ciphertext that was read: a secret neither key opens, or one changed meanwhile, changes
    /// nothing. Returns how many secrets were rewritten.
    pub async fn reencrypt_provider_secrets(
        &self,
        secrets: &SecretBox,
    ) -> Result<usize, StorageError> {
        let rows: Vec<SecretRow> = with_conn!(self.db(), |conn| {
            Ok::<_, StorageError>(
                provider_keys::table
                    .select((
                        provider_keys::id,
                        provider_keys::user_id,
                        provider_keys::provider_name,
                        provider_keys::encrypted_api_key,
                    ))
                    .order(provider_keys::id)
                    .load(conn)
                    .await?,
            )
        })?;
        let mut updates = Vec::new();
        for (id, user_id, name, blob) in rows {
            let aad = provider_key_aad(user_id, &name);
            if secrets.opens_with_current(&blob, &aad) {
                continue;
            }
            let plain = secrets.decrypt(&blob, &aad).map_err(|_| {
                StorageError::Crypto(format!(
                    "provider key {id} opens with neither the current nor the previous encryption key"
                ))
            })?;
            updates.push((id, blob, secrets.encrypt(&plain, &aad)?));
        }
        let fingerprint = set_fingerprint_sql(self.meta_pg(), secrets.fingerprint());
        with_conn!(self.db(), |conn| {
            conn.transaction::<_, StorageError, _>(async |conn| {
                let rewritten = updates.len();
                for (id, old, new) in updates {
                    let n = diesel::update(
                        provider_keys::table
                            .find(id)
                            .filter(provider_keys::encrypted_api_key.eq(old)),
                    )
                    .set(provider_keys::encrypted_api_key.eq(new))
                    .execute(conn)
                    .await?;
                    if n != 1 {
                        return Err(StorageError::Conflict(format!(
                            "provider key {id} changed during the rotation; run it again"
                        )));
                    }
                }
                fingerprint.query(&*conn).execute(conn).await?;
                Ok(rewritten)
            })
            .await
        })
    }

    fn meta_pg(&self) -> bool {
        matches!(self.db(), Db::Pg(_))
    }
}

fn set_fingerprint_sql(pg: bool, fingerprint: &str) -> Sql {
    let mut sql = Sql::new(pg);
    sql.push("INSERT INTO forge_meta (name, value) VALUES (")
        .bind(Bind::Text(Some(FINGERPRINT.to_owned())))
        .push(", ")
        .bind(Bind::Text(Some(fingerprint.to_owned())))
        .push(") ON CONFLICT (name) DO UPDATE SET value = excluded.value");
    sql
}
