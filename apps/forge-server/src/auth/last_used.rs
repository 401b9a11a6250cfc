//! `last_used_at` of Forge keys, recorded in memory on the request path and written in batches
//! by a background flusher (and once more at shutdown), never per request.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{NaiveDateTime, Utc};
use forge_storage::Store;

#[derive(Default)]
pub struct LastUsed {
    pending: Mutex<HashMap<i64, NaiveDateTime>>,
}

impl LastUsed {
    pub fn mark(&self, key_id: i64) {
        let now = Utc::now().naive_utc();
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key_id, now);
    }

    pub async fn flush(&self, store: &Store) {
        let batch: Vec<(i64, NaiveDateTime)> = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            pending.drain().collect()
        };
        if batch.is_empty() {
            return;
        }
        if let Err(e) = store.touch_forge_keys(&batch).await {
            tracing::warn!(error = %e, keys = batch.len(), "could not record last_used_at; will retry");
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            for (id, at) in batch {
                pending.entry(id).or_insert(at);
            }
        }
    }
}
