//! Routing and resilience for the Forge gateway, without I/O.
//!
//! Every decision here takes the current `Instant` and an RNG as parameters, so the server
//! can drive it with real time and entropy while tests drive it with explicit instants and
//! seeded generators: cooldowns, retries and load balancing are reproducible to the draw.
//!
//! The pieces, in request order: [`config::Config`] (the validated `forge.toml`) →
//! [`table::RoutingTable`] (logical models over deployments) → [`router::Router`] (orders
//! candidates with a [`strategy::Strategy`], skips cooled deployments via
//! [`health::HealthBook`], keeps [`sticky::Sessions`]) → [`retry::Plan`] (which deployment to
//! try next and after how long).

pub mod config;
pub mod config_error;
pub mod forward;
pub mod health;
pub mod retry;
pub mod router;
pub mod sticky;
pub mod strategy;
pub mod table;

pub use config::{Config, ConfigError};
pub use router::Router;
pub use table::{Deployment, Route, RoutingTable};
