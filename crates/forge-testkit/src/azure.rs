//! Azure OpenAI's routes on [`crate::FakeOpenAi`]: the same handlers as `/v1`, reached through
//! Azure's URLs and checked at Azure's gateway first.
//!
//! * `POST /openai/deployments/{deployment}/chat/completions|completions|embeddings` and
//!   `GET /openai/models`, each with an `api-version` query;
//! * the key travels in `api-key` (no `Authorization`);
//! * a deployment is one of the configured models, and the deployment, not the body's
//!   `model`, is the model answered (Azure ignores `model`).
//!
//! The gate answers in Azure's order: no `api-version` means no route at all (404 `Resource
//! not found`), then the key (401), then the deployment (404 `DeploymentNotFound`).

use actix_web::{HttpRequest, web};
use serde_json::{Value, json};

use crate::auth::constant_time_eq;
use crate::azure_error::AzureError;
use crate::routes::{chat, completions, embeddings, models};
use crate::state::Shared;

/// Every Azure OpenAI data-plane path starts here.
const PREFIX: &str = "/openai/";

/// A fixed `created_at` so listings are stable across runs.
const CREATED_AT: u64 = 1_700_000_000;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/openai")
            .route(
                "/deployments/{deployment}/chat/completions",
                web::post().to(chat::handle),
            )
            .route(
                "/deployments/{deployment}/completions",
                web::post().to(completions::handle),
            )
            .route(
                "/deployments/{deployment}/embeddings",
                web::post().to(embeddings::handle),
            )
            .route("/models", web::get().to(models::list)),
    );
}

/// Whether the request came in through an Azure route (or an unknown path below one).
pub(crate) fn is_azure(req: &HttpRequest) -> bool {
    req.path().starts_with(PREFIX)
}

/// Azure's gateway checks. Returns the deployment the route names (`None` on routes without
/// one, such as the model list).
pub(crate) fn gate(req: &HttpRequest, shared: &Shared) -> Result<Option<String>, AzureError> {
    if api_version(req.query_string()).is_none() {
        return Err(AzureError::resource_not_found());
    }
    let key_ok = req
        .headers()
        .get("api-key")
        .is_some_and(|key| constant_time_eq(key.as_bytes(), shared.api_key.as_bytes()));
    if !key_ok {
        return Err(AzureError::access_denied());
    }
    let Some(deployment) = req.match_info().get("deployment") else {
        return Ok(None);
    };
    if !shared.models.iter().any(|m| m == deployment) {
        return Err(AzureError::deployment_not_found());
    }
    Ok(Some(deployment.to_owned()))
}

/// The non-empty `api-version` value of a raw query string.
fn api_version(query: &str) -> Option<&str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == "api-version")
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

/// A model as Azure lists it: `created_at` instead of `created`, with its capabilities.
pub(crate) fn model_object(id: &str) -> Value {
    let embeddings = id.contains("embedding");
    json!({
        "id": id,
        "object": "model",
        "created_at": CREATED_AT,
        "status": "succeeded",
        "lifecycle_status": "generally-available",
        "capabilities": {
            "fine_tune": false,
            "inference": true,
            "completion": !embeddings,
            "chat_completion": !embeddings,
            "embeddings": embeddings,
        },
        "deprecation": {"inference": CREATED_AT + 365 * 24 * 3600},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_api_version() {
        assert_eq!(api_version("api-version=2024-10-21"), Some("2024-10-21"));
        assert_eq!(api_version("a=b&api-version=v1&c"), Some("v1"));
        assert_eq!(api_version("api-version="), None);
        assert_eq!(api_version("api_version=2024-10-21"), None);
        assert_eq!(api_version(""), None);
    }
}
