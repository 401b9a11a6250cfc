//! What Forge learns about objects from the upstream's successful answers: a created file's
//! or batch's id becomes the caller's, a batch's output and error files become the batch
//! owner's as soon as an answer names them, a deleted file is forgotten, and listings are cut
//! down to the caller's own objects (an upstream account may be shared by many callers).

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
    /// Books the answer `body` to `op` and returns what the caller gets: the body as sent,
    /// or a listing without others' objects.
    pub async fn book(
        &self,
        kind: Kind,
        op: Op,
        id: Option<&str>,
        body: Bytes,
    ) -> Result<Bytes, Error> {
        let parsed = serde_json::from_slice::<Value>(&body);
        let unreadable_listing = || Error::Upstream {
            status: 502,
            message: format!(
                "the provider's {} listing could not be read, so it cannot be cut to this caller's own",
                kind.name()
            ),
            provider: self.place.provider.clone(),
            retry_after: None,
            error_type: None,
            code: None,
        };
        let Ok(mut value) = parsed else {
            return match op {
                Op::List => Err(unreadable_listing()),
                _ => Ok(body),
            };
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
            (_, Op::List) => {
                let owned = self
                    .store
                    .upstream_object_ids(self.owner, kind.name(), &self.place.provider)
                    .await
                    .map_err(storage)?;
                let Some(data) = value.get_mut("data").and_then(Value::as_array_mut) else {
                    return Err(unreadable_listing());
                };
                data.retain(|item| {
                    item.get("id")
                        .and_then(Value::as_str)
                        .is_some_and(|id| owned.iter().any(|o| o == id))
                });
                if kind == Kind::Batch {
                    for batch in data.iter() {
                        self.record_outputs(batch).await?;
                    }
                }
                let first = data.first().and_then(|v| v.get("id")).cloned();
                let last = data.last().and_then(|v| v.get("id")).cloned();
                if let Some(list) = value.as_object_mut() {
                    for (field, id) in [("first_id", first), ("last_id", last)] {
                        if list.contains_key(field) {
                            list.insert(field.to_owned(), id.unwrap_or(Value::Null));
                        }
                    }
                }
                serde_json::to_vec(&value)
                    .map(Bytes::from)
                    .map_err(|e| Error::Internal(format!("cannot write the listing: {e}")))
            }
            _ => Ok(body),
        }
    }

    async fn record(&self, kind: Kind, id: &str) -> Result<(), Error> {
        self.store
            .record_upstream_object(self.owner, &self.place.object(kind.name(), id))
            .await
            .map_err(storage)
    }

    /// A batch's output and error files belong to whoever owns the batch.
    async fn record_outputs(&self, batch: &Value) -> Result<(), Error> {
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
