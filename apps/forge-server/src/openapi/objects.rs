//! Files and batches in the spec (`proxy::objects`): one handler per collection serves every
//! method, so the operations are declared here on bodiless functions, as in `proxy.rs`.

#![allow(dead_code)]

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::errors::OpenAiErrorBody;

/// A file upload (`multipart/form-data`), passed on as sent.
#[derive(Serialize, ToSchema)]
pub struct FileUpload {
    #[schema(value_type = String, format = Binary)]
    pub file: String,
    /// `assistants`, `batch`, `fine-tune`, `vision`, `user_data` or `evals`.
    pub purpose: String,
}

/// A batch: `input_file_id` must name one of the caller's files (the batch runs on the
/// provider key that holds it).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"input_file_id": "file-abc123", "endpoint": "/v1/chat/completions", "completion_window": "24h"}))]
pub struct BatchRequest {
    pub input_file_id: String,
    /// `/v1/responses`, `/v1/chat/completions`, `/v1/embeddings`, `/v1/completions`, ...
    pub endpoint: String,
    /// `24h`.
    pub completion_window: String,
    pub metadata: Option<Map<String, Value>>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// The provider's file, batch or list object, as it sent it (listings without other
/// callers' objects).
#[derive(Serialize, ToSchema)]
pub struct UpstreamObjectBody(Map<String, Value>);

/// Declares one files/batches operation (errors in OpenAI's shape).
macro_rules! object_op {
    ($method:ident, $path:literal, $name:ident, $what:literal $(, body = $body:ty, $ct:literal)? $(, id = $id:literal)?) => {
        #[utoipa::path($method, path = $path, tag = "OpenAI", operation_id = stringify!($name),
            $(request_body(content = $body, content_type = $ct),)?
            params(
                ("x-forge-provider" = Option<String>, Header, description = "The provider key a new object is created with (default: the caller's `openai` key, or its only OpenAI-compatible one)"),
                $(("id" = String, Path, description = $id),)?
            ),
            responses(
                (status = 200, description = $what, content(
                    (UpstreamObjectBody = "application/json"), ("application/octet-stream"))),
                (status = "4XX", description = "Rejected: 404 for an id that is not the caller's (OpenAI's error shape)", body = OpenAiErrorBody),
                (status = "5XX", description = "The upstream failed or timed out", body = OpenAiErrorBody),
            ),
            security(("forge_key" = []), ("x_api_key" = [])))]
        pub fn $name() {}
    };
}

object_op!(
    post,
    "/v1/files",
    create_file,
    "The file object",
    body = FileUpload,
    "multipart/form-data"
);
object_op!(
    get,
    "/v1/files",
    list_files,
    "The caller's files on that provider key (`purpose`, `limit`, `order`, `after` passed on)"
);
object_op!(
    get,
    "/v1/files/{id}",
    retrieve_file,
    "The file object",
    id = "A file id the caller created (or a batch of its wrote)"
);
object_op!(
    delete,
    "/v1/files/{id}",
    delete_file,
    "The deletion status",
    id = "A file id the caller created"
);
object_op!(
    get,
    "/v1/files/{id}/content",
    file_content,
    "The file's bytes as the provider sends them",
    id = "A file id the caller created (or a batch of its wrote)"
);
object_op!(
    post,
    "/v1/batches",
    create_batch,
    "The batch object",
    body = BatchRequest,
    "application/json"
);
object_op!(
    get,
    "/v1/batches",
    list_batches,
    "The caller's batches on that provider key (`limit`, `after` passed on)"
);
object_op!(
    get,
    "/v1/batches/{id}",
    retrieve_batch,
    "The batch object",
    id = "A batch id the caller created"
);
object_op!(
    post,
    "/v1/batches/{id}/cancel",
    cancel_batch,
    "The batch object, cancelling",
    id = "A batch id the caller created"
);
