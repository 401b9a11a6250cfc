//! The Forge v1 admin API (spec sections 2.1-2.5), wire-compatible with Forge's own clients.

pub mod api_keys;
pub mod auth;
pub mod health;
pub mod provider_keys;
pub mod users;
pub mod views;

/// Distinguishes an absent JSON field (`None`) from an explicit `null` (`Some(None)`), which the
/// partial-update routes treat differently.
pub fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(deserializer).map(Some)
}
