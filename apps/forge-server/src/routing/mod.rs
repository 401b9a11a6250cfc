//! forge.toml at run time. The validated file is held as one immutable [`Snapshot`], swapped
//! whole on reload, so a request sees either the old table or the new one, never a mix. What
//! the router learns (health, latency, stickiness, cursors) lives beside it and survives
//! reloads for deployments that keep their id.

pub mod health_check;
pub mod outcome;
pub mod reload;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use chrono::{DateTime, Utc};
use forge_router::config::GatewayKeyConfig;
use forge_router::{Config, Router, RoutingTable};
use rand::SeedableRng;
use rand::rngs::SmallRng;

use crate::usage::pricing::Pricing;

/// One loaded configuration.
#[derive(Debug)]
pub struct Snapshot {
    pub config: Config,
    pub table: Arc<RoutingTable>,
    /// The file it came from; `None` when the server runs without one.
    pub source: Option<PathBuf>,
    pub loaded_at: Option<DateTime<Utc>>,
}

impl Snapshot {
    /// Whether the file declares anything requests can be routed to.
    pub fn has_routes(&self) -> bool {
        self.table.routes().next().is_some()
    }

    /// The static key whose SHA-256 digest (lowercase hex) is `digest`.
    pub fn gateway_key(&self, digest: &str) -> Option<&GatewayKeyConfig> {
        self.table.gateway_key(digest)
    }
}

struct Learnt {
    router: Router,
    rng: SmallRng,
}

pub struct Routing {
    current: RwLock<Arc<Snapshot>>,
    learnt: Mutex<Learnt>,
    /// Prices follow the file's `[[prices]]`.
    pub pricing: Arc<Pricing>,
}

impl Routing {
    pub fn new(config: Config, source: Option<PathBuf>) -> Result<Routing, String> {
        let pricing = Arc::new(Pricing::new(&config.prices)?);
        let loaded_at = source.as_ref().map(|_| Utc::now());
        let seed = config.routing.seed.unwrap_or_else(os_seed);
        let table = Arc::new(RoutingTable::from_config(&config));
        let router = Router::new(table.clone(), &config.routing);
        Ok(Routing {
            current: RwLock::new(Arc::new(Snapshot {
                config,
                table,
                source,
                loaded_at,
            })),
            learnt: Mutex::new(Learnt {
                router,
                rng: SmallRng::seed_from_u64(seed),
            }),
            pricing,
        })
    }

    /// The configuration in force now; cheap (one reference count).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Swaps in a validated configuration. Requests already planned finish on the table they
    /// started with; health of deployments that keep their id is kept.
    pub fn apply(&self, config: Config) {
        if let Err(e) = self.pricing.reload(&config.prices) {
            tracing::error!(error = %e, "price overrides rejected; the previous prices stay");
        }
        let table = Arc::new(RoutingTable::from_config(&config));
        let source = self.snapshot().source.clone();
        self.with_router(|router, _| router.reload(table.clone(), &config.routing));
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(Snapshot {
            config,
            table,
            source,
            loaded_at: Some(Utc::now()),
        });
    }

    /// Runs `f` with the router and its random source, under the lock (keep `f` short: it
    /// never waits on I/O).
    pub fn with_router<T>(&self, f: impl FnOnce(&mut Router, &mut SmallRng) -> T) -> T {
        let mut learnt = self.learnt.lock().unwrap_or_else(PoisonError::into_inner);
        let Learnt { router, rng } = &mut *learnt;
        f(router, rng)
    }
}

fn os_seed() -> u64 {
    let mut bytes = [0u8; 8];
    // Load balancing needs no secrecy; a fixed seed only makes draws predictable.
    let _ = getrandom::fill(&mut bytes);
    u64::from_le_bytes(bytes)
}
