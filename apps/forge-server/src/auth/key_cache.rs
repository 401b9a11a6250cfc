//! In-memory cache of authenticated Forge keys, so a request with a known key makes no database
//! round trip and no decryption. Entries are keyed by the SHA-256 digest of the presented key
//! (the only form the database holds) and dropped whenever the owner's keys, scopes, provider
//! keys or limits change on this instance. A TTL bounds staleness for changes made by other
//! instances.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use forge_storage::crypto::{SecretBox, provider_key_aad};
use forge_storage::{AuthRecord, StorageError, Store};
use zeroize::Zeroizing;

use forge_router::config::GatewayKeyConfig;

use crate::limits::rules::StoredLimits;
use crate::proxy::family::ProviderFamily;

/// How long an entry may serve before it is reloaded; the bound on cross-instance staleness.
pub const ENTRY_TTL: Duration = Duration::from_secs(30);
/// Unknown digests are remembered briefly so a flood of bad keys does not reach the database.
const NEGATIVE_TTL: Duration = Duration::from_secs(30);
const NEGATIVE_MAX: usize = 10_000;

/// A provider key ready for the request path: decrypted once, when the entry is loaded.
pub struct ResolvedProvider {
    pub id: i64,
    pub name: String,
    pub name_lower: String,
    pub api_key: Zeroizing<String>,
    pub base_url: Option<String>,
    pub model_mapping: BTreeMap<String, String>,
    /// Non-secret provider settings (Azure's `api_version`).
    pub config: BTreeMap<String, String>,
    pub family: ProviderFamily,
}

impl std::fmt::Debug for ResolvedProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedProvider")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Everything the proxy needs to know about the caller.
#[derive(Debug)]
pub struct AuthContext {
    pub key_id: i64,
    pub user_id: i64,
    /// `None`: every provider key of the user; `Some(ids)`: only these (possibly none).
    pub scope: Option<Vec<i64>>,
    pub providers: Vec<ResolvedProvider>,
    /// Set for a static key from forge.toml: no user, no provider keys, only the routes the
    /// key may use (`key_id` and `user_id` are 0).
    pub gateway: Option<GatewayKeyConfig>,
    /// The key's and the user's limits set through the admin API (none for a static key).
    pub limits: StoredLimits,
}

impl AuthContext {
    pub fn allows(&self, provider_key_id: i64) -> bool {
        self.scope
            .as_ref()
            .is_none_or(|ids| ids.contains(&provider_key_id))
    }
    /// Provider keys the Forge key may use.
    pub fn providers_in_scope(&self) -> impl Iterator<Item = &ResolvedProvider> {
        self.providers.iter().filter(|p| self.allows(p.id))
    }
}

#[derive(Clone)]
pub enum Lookup {
    Valid(Arc<AuthContext>),
    /// The key exists but was deactivated, or does not exist.
    Invalid,
    /// The key is valid but its owner was deactivated.
    InactiveUser,
}

#[derive(Clone)]
struct Entry {
    user_id: i64,
    loaded: Instant,
    lookup: Lookup,
}

#[derive(Default)]
pub struct KeyCache {
    entries: RwLock<HashMap<String, Entry>>,
    negative: RwLock<HashMap<String, Instant>>,
    /// Bumped by every invalidation, so a load that raced with one is not cached.
    generation: AtomicU64,
    /// Lookups answered from memory, and those that went to the database (metrics).
    pub hits: AtomicU64,
    pub misses: AtomicU64,
}

impl KeyCache {
    pub async fn lookup(
        &self,
        store: &Store,
        secrets: &SecretBox,
        digest: &str,
    ) -> Result<Lookup, StorageError> {
        if let Some(hit) = self.cached(digest) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(hit);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let generation = self.generation.load(Ordering::Acquire);
        let Some(record) = store.load_auth(digest).await? else {
            self.remember_unknown(digest);
            return Ok(Lookup::Invalid);
        };
        let user_id = record.user.id;
        // Only a usable key needs its limits: one more query, and only on a miss.
        let limits = if record.key.is_active && record.user.is_active {
            StoredLimits::from_auth(&store.auth_limits(record.key.id, user_id).await?)
        } else {
            StoredLimits::default()
        };
        let lookup = build_lookup(record, limits, secrets);
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if self.generation.load(Ordering::Acquire) == generation {
            entries.insert(
                digest.to_owned(),
                Entry {
                    user_id,
                    loaded: Instant::now(),
                    lookup: lookup.clone(),
                },
            );
        }
        Ok(lookup)
    }

    fn cached(&self, digest: &str) -> Option<Lookup> {
        {
            let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
            if let Some(entry) = entries
                .get(digest)
                .filter(|e| e.loaded.elapsed() < ENTRY_TTL)
            {
                return Some(entry.lookup.clone());
            }
        }
        let negative = self.negative.read().unwrap_or_else(|e| e.into_inner());
        match negative.get(digest) {
            Some(at) if at.elapsed() < NEGATIVE_TTL => Some(Lookup::Invalid),
            _ => None,
        }
    }

    fn remember_unknown(&self, digest: &str) {
        let mut negative = self.negative.write().unwrap_or_else(|e| e.into_inner());
        if negative.len() >= NEGATIVE_MAX {
            negative.retain(|_, at| at.elapsed() < NEGATIVE_TTL);
            if negative.len() >= NEGATIVE_MAX {
                negative.clear();
            }
        }
        negative.insert(digest.to_owned(), Instant::now());
    }

    /// Forget everything cached for a user: call after any change to their keys or account.
    /// Forgets every entry (after missed invalidations).
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    pub fn invalidate_user(&self, user_id: i64) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, e| e.user_id != user_id);
        // A key created or regenerated just now may have been probed while unknown.
        self.negative
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

fn build_lookup(record: AuthRecord, limits: StoredLimits, secrets: &SecretBox) -> Lookup {
    if !record.key.is_active {
        return Lookup::Invalid;
    }
    if !record.user.is_active {
        return Lookup::InactiveUser;
    }
    let user_id = record.user.id;
    let providers = record
        .provider_keys
        .into_iter()
        .filter_map(|pk| {
            let aad = provider_key_aad(user_id, &pk.provider_name);
            let plain = match secrets.decrypt(&pk.encrypted_api_key, &aad) {
                Ok(plain) => plain,
                Err(e) => {
                    tracing::error!(provider_key_id = pk.id, error = %e,
                        "stored provider key cannot be decrypted (was FORGE_ENCRYPTION_KEY changed?)");
                    return None;
                }
            };
            let api_key = Zeroizing::new(String::from_utf8_lossy(&plain).into_owned());
            let name_lower = pk.provider_name.to_lowercase();
            Some(ResolvedProvider {
                id: pk.id,
                family: ProviderFamily::of(&name_lower),
                name_lower,
                name: pk.provider_name,
                api_key,
                base_url: pk.base_url.filter(|u| !u.trim().is_empty()),
                model_mapping: pk.model_mapping.unwrap_or_default(),
                config: pk.config.unwrap_or_default(),
            })
        })
        .collect();
    Lookup::Valid(Arc::new(AuthContext {
        key_id: record.key.id,
        user_id,
        scope: record.key.scope,
        providers,
        gateway: None,
        limits,
    }))
}
