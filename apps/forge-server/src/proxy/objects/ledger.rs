//! What Forge learns about objects from the upstream's successful answers: a created file's
//! or batch's id becomes the caller's, a batch's output and error files become the batch
//! owner's as soon as an answer names them, and a deleted file is forgotten. (Listings are cut
//! to the caller's own ids in `listing.rs`.)

use bytes::Bytes;
use forge_core::Error;
use forge_storage::{ObjectOwner, Store};
use serde_json::Value;

use super::call::{Kind, Op};
use super::place::Place;

pub struct Ledger<'a> {
    pub store: &'a Store,
    pub owner: &'a ObjectOwner,
    pub place: &'a Place,
}

impl Ledger<'_> {
    /// Books the answer `body` to `op`; the caller gets the body as sent.
    pub async fn book(
        &self,
        kind: Kind,
        op: Op,
        id: Option<&str>,
        body: Bytes,
    ) -> Result<Bytes, Error> {
        let Ok(value) = serde_json::from_slice::<Value>(&body) else {
            return Ok(body);
        };
        match (kind, op) {
            (_, Op::Create) => {
                let Some(created) = value.get("id").and_then(Value::as_str) else {
                    return Err(Error::Upstream {
                        status: 502,
                        message: format!(
                            "the provider's answer to creating a {} carries no id",
                            kind.name()
                        ),
                        provider: self.place.provider.clone(),
                        retry_after: None,
                        error_type: None,
                        code: None,
                    });
                };
                self.record(kind, created).await?;
                if kind == Kind::Batch {
                    self.record_outputs(&value).await?;
                }
                Ok(body)
            }
            (Kind::File, Op::Delete) => {
                if value.get("deleted").and_then(Value::as_bool) == Some(true)
                    && let Some(id) = id
                {
                    self.store
                        .forget_upstream_object(self.owner, id)
                        .await
                        .map_err(storage)?;
                }
                Ok(body)
            }
            (Kind::Batch, Op::Retrieve | Op::Cancel) => {
                self.record_outputs(&value).await?;
                Ok(body)
            }
            _ => Ok(body),
        }
    }

    /// The caller's ids of `kind` on this provider, to cut listings with.
    pub async fn owned(&self, kind: Kind) -> Result<Vec<String>, Error> {
        self.store
            .upstream_object_ids(self.owner, kind.name(), &self.place.provider)
            .await
            .map_err(storage)
    }

    async fn record(&self, kind: Kind, id: &str) -> Result<(), Error> {
        self.store
            .record_upstream_object(self.owner, &self.place.object(kind.name(), id))
            .await
            .map_err(storage)
    }

    /// A batch's output and error files belong to whoever owns the batch.
    pub async fn record_outputs(&self, batch: &Value) -> Result<(), Error> {
        for field in ["output_file_id", "error_file_id"] {
            if let Some(file) = batch.get(field).and_then(Value::as_str) {
                self.record(Kind::File, file).await?;
            }
        }
        Ok(())
    }
}

fn storage(e: forge_storage::StorageError) -> Error {
    tracing::error!(error = %e, "cannot book an upstream object");
    Error::Internal("Internal server error".into())
}
