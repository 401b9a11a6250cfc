//! The model lists fetched from providers, per provider key, for `GET /v1/models`: kept for a
//! while so a listing is not a round trip to every provider, and dropped when a user's keys
//! change. Its own module so the app's state can hold it without importing the routes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct ModelsCache {
    ttl: Duration,
    entries: Mutex<HashMap<i64, CachedList>>,
}

struct CachedList {
    user_id: i64,
    fetched: Instant,
    models: Arc<Vec<String>>,
}

impl ModelsCache {
    pub fn new(ttl: Duration) -> Self {
        ModelsCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, provider_key_id: i64) -> Option<Arc<Vec<String>>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&provider_key_id)
            .filter(|e| e.fetched.elapsed() < self.ttl)
            .map(|e| e.models.clone())
    }

    pub fn put(&self, user_id: i64, provider_key_id: i64, models: Arc<Vec<String>>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.insert(
            provider_key_id,
            CachedList {
                user_id,
                fetched: Instant::now(),
                models,
            },
        );
    }

    pub fn invalidate_user(&self, user_id: i64) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, e| e.user_id != user_id);
    }
}
