//! Azure OpenAI's own error body, `{"error": {"code", "message"}}` with `code` a string (the
//! status, or a name such as `DeploymentNotFound`). Azure sends it for what its gateway decides
//! (routing, keys, deployments, rate limits); what the model service decides (body validation,
//! server errors) arrives in OpenAI's shape, so those stay [`crate::openai_error::OpenAiError`].

use actix_web::HttpResponse;
use serde_json::{Value, json};

use crate::openai_error::{OpenAiError, status_code};

/// Azure's wording for a missing or wrong `api-key`.
pub(crate) const ACCESS_DENIED: &str = "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.";

#[derive(Debug, Clone)]
pub(crate) struct AzureError {
    pub(crate) status: u16,
    pub(crate) code: String,
    pub(crate) message: String,
}

impl AzureError {
    pub(crate) fn access_denied() -> AzureError {
        AzureError {
            status: 401,
            code: "401".to_owned(),
            message: ACCESS_DENIED.to_owned(),
        }
    }

    /// What Azure answers for a path it has no route for, a missing `api-version` included.
    pub(crate) fn resource_not_found() -> AzureError {
        AzureError {
            status: 404,
            code: "404".to_owned(),
            message: "Resource not found".to_owned(),
        }
    }

    pub(crate) fn deployment_not_found() -> AzureError {
        AzureError {
            status: 404,
            code: "DeploymentNotFound".to_owned(),
            message: "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.".to_owned(),
        }
    }

    pub(crate) fn body(&self) -> Value {
        json!({"error": {"code": self.code, "message": self.message}})
    }

    pub(crate) fn response(&self) -> HttpResponse {
        HttpResponse::build(status_code(self.status)).json(self.body())
    }

    /// The body a `Fault::Status` sends on an Azure route when the test gave none: Azure's
    /// gateway shape for the statuses its gateway produces, OpenAI's for the rest.
    pub(crate) fn for_status(status: u16, retry_after: Option<u64>) -> Value {
        let gateway = |message: String| AzureError {
            status,
            code: status.to_string(),
            message,
        };
        match status {
            401 => AzureError::access_denied().body(),
            404 => AzureError::resource_not_found().body(),
            429 => gateway(format!(
                "Requests to the Azure OpenAI API have exceeded the rate limit of your current pricing tier (fake fault). Please retry after {} seconds.",
                retry_after.unwrap_or(1)
            ))
            .body(),
            _ => OpenAiError::for_status(status).body(),
        }
    }
}
