//! The narrow handle the proxy routes run on: who the caller is, where a request may go, what
//! it may spend and where its usage and logs go. Handlers and dispatch receive this, never the
//! app's whole state (`state.rs`, which the admin API uses); the wiring in `lib.rs` builds it
//! from the same shared parts.

use std::sync::Arc;

use actix_web::web;
use forge_storage::Store;

use crate::auth::forge_key::Authenticator;
use crate::limits::Limits;
use crate::logs::LogSink;
use crate::proxy::models_cache::ModelsCache;
use crate::routing::Routing;
use crate::usage::UsageSink;
use crate::usage::pricing::Pricing;

pub struct Proxy {
    /// Forge keys and static forge.toml keys (memory first; the store on a cache miss).
    pub auth: web::Data<Authenticator>,
    /// forge.toml: the routing table and what the router learnt.
    pub routing: Arc<Routing>,
    pub limits: Arc<Limits>,
    /// Where settled usage records go (batched off the request path).
    pub usage: Arc<UsageSink>,
    /// Where request logs go (`[logging]`; batched off the request path).
    pub logs: Arc<LogSink>,
    pub pricing: Arc<Pricing>,
    /// For dialects that keep state of their own (Responses' conversations).
    pub store: Store,
    pub models: Arc<ModelsCache>,
    /// The largest request body read.
    pub max_body_bytes: usize,
}
