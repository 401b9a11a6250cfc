//! Who is calling: JWT sessions for the admin API, Forge API keys for the proxy.

pub mod forge_key;
pub mod invalidation;
pub mod jwt;
pub mod key_cache;
pub mod last_used;
