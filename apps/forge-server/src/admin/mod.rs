//! The Forge v1 admin API (spec sections 2.1-2.5), wire-compatible with Forge's own clients.

pub mod api_keys;
pub mod auth;
pub mod health;
pub mod limits;
pub mod logs;
pub mod provider_keys;
pub mod routing;
pub mod stats;
pub mod users;
pub mod views;

/// A body or path parameter whose rejection the handler returns itself (`body?`). actix polls
/// all extractors together, so a plain `web::Json` could answer 422 to a caller whose token is
/// still being checked, and drop that user lookup mid-query; deferring puts 401 first.
pub type Deferred<T> = Result<T, actix_web::Error>;

/// Distinguishes an absent JSON field (`None`) from an explicit `null` (`Some(None)`), which the
/// partial-update routes treat differently.
pub fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(deserializer).map(Some)
}
