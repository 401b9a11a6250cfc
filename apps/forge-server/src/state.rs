//! Process-wide state shared by every worker, for the admin API and the app's wiring. The
//! proxy routes get the narrow `proxy::handle::Proxy` built from the same parts; the per-worker
//! HTTP client lives in `proxy::transport`.

use std::sync::Arc;

use forge_storage::Store;
use forge_storage::crypto::SecretBox;

use crate::auth::invalidation::{Invalidation, LocalCaches};
use crate::auth::jwt::JwtKeys;
use crate::auth::key_cache::KeyCache;
use crate::auth::last_used::LastUsed;
use crate::config::Settings;
use crate::limits::Limits;
use crate::logs::LogSink;
use crate::proxy::models_cache::ModelsCache;
use crate::routing::Routing;
use crate::usage::UsageSink;
use crate::usage::pricing::Pricing;

pub struct AppState {
    pub settings: Settings,
    pub store: Store,
    pub secret_box: Arc<SecretBox>,
    pub jwt: Arc<JwtKeys>,
    pub keys: Arc<KeyCache>,
    pub last_used: Arc<LastUsed>,
    pub models: Arc<ModelsCache>,
    /// forge.toml: the routing table and what the router learnt.
    pub routing: Arc<Routing>,
    /// Where settled usage records go (batched off the request path).
    pub usage: Arc<UsageSink>,
    /// Where request logs go (`[logging]`; batched off the request path).
    pub logs: Arc<LogSink>,
    pub pricing: Arc<Pricing>,
    pub limits: Arc<Limits>,
    pub invalidation: Invalidation,
}

impl AppState {
    /// Drop every cached view of a user's keys after a change made through the admin API,
    /// here and (through Redis) on every other instance.
    pub fn invalidate_user(&self, user_id: i64) {
        self.invalidate_user_locally(user_id);
        self.invalidation.publish(user_id);
    }

    pub fn invalidate_user_locally(&self, user_id: i64) {
        self.keys.invalidate_user(user_id);
        self.models.invalidate_user(user_id);
    }
}

impl LocalCaches for AppState {
    fn forget_all_keys(&self) {
        self.keys.clear();
    }

    fn forget_user(&self, user_id: i64) {
        self.invalidate_user_locally(user_id);
    }
}
