//! The OpenAPI 3.1 document of every route Forge serves, generated from the code: each admin
//! handler carries its `#[utoipa::path]` and its request and response types derive `ToSchema`,
//! so the document changes with the handlers instead of drifting beside them. Routes whose
//! handlers cannot carry an annotation (the dialect-generic proxy, the docs themselves) are
//! declared in `proxy.rs` and `operations.rs`. The document is built once, on first request,
//! and served at `/openapi.json`, with Swagger UI at `/docs` and Scalar at `/redoc` (`ui.rs`),
//! all without network access.

pub mod errors;
mod objects;
mod operations;
mod proxy;
pub mod security;
pub mod ui;

use std::sync::OnceLock;

use actix_web::web::{self, get, resource};
use actix_web::{HttpResponse, http::header::ContentType};
use utoipa::OpenApi;

use self::security::{AdminErrors, Schemes};
use crate::admin;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Forge",
        description = "Forge, an AI API gateway: OpenAI-, Anthropic- and Gemini-compatible proxy \
            routes authenticated with Forge API keys, and the admin API (accounts, keys, limits, \
            usage, logs, routing) authenticated with a session token from `POST /v1/auth/token`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        proxy::chat_completions,
        proxy::completions,
        proxy::embeddings,
        proxy::images_generations,
        proxy::moderations,
        proxy::audio_speech,
        proxy::rerank,
        proxy::images_edits,
        proxy::images_variations,
        proxy::audio_transcriptions,
        proxy::audio_translations,
        proxy::responses,
        proxy::list_models,
        objects::create_file,
        objects::list_files,
        objects::retrieve_file,
        objects::delete_file,
        objects::file_content,
        objects::create_batch,
        objects::list_batches,
        objects::retrieve_batch,
        objects::cancel_batch,
        proxy::retrieve_model,
        proxy::v1_generate_content,
        proxy::v1_stream_generate_content,
        proxy::v1_count_tokens,
        proxy::messages,
        proxy::count_tokens,
        proxy::gemini_list_models,
        proxy::gemini_get_model,
        proxy::gemini_generate_content,
        proxy::gemini_stream_generate_content,
        proxy::gemini_count_tokens,
        proxy::passthrough_get,
        proxy::passthrough_post,
        proxy::passthrough_put,
        proxy::passthrough_patch,
        proxy::passthrough_delete,
        admin::health::root,
        admin::health::health,
        operations::v1_health,
        admin::health::database,
        admin::health::detailed,
        operations::ready,
        operations::metrics,
        operations::openapi,
        operations::docs,
        operations::redoc,
        admin::auth::register,
        admin::auth::token,
        admin::auth::create_user_route,
        admin::users::me,
        admin::users::update_me,
        admin::stats::legacy::user_stats,
        admin::stats::legacy::admin_stats,
        admin::stats::realtime::realtime,
        admin::stats::summary::summary,
        admin::stats::summary::forge_keys,
        admin::stats::usage::usage,
        admin::logs::export,
        admin::limits::get_key,
        admin::limits::put_key,
        admin::limits::delete_key,
        admin::limits::get_user,
        admin::limits::put_user,
        admin::limits::delete_user,
        admin::api_keys::list,
        admin::api_keys::create,
        admin::api_keys::regenerate,
        admin::api_keys::update,
        admin::api_keys::delete,
        admin::provider_keys::list,
        admin::provider_keys::create,
        admin::provider_keys::batch_upsert,
        admin::provider_keys::update,
        admin::provider_keys::delete,
        admin::routing::routes,
        admin::routing::decide,
        admin::routing::deployments,
        admin::routing::reset,
        admin::routing::drop_session,
    ),
    components(schemas(errors::AdminError, errors::ValidationError)),
    modifiers(&Schemes, &AdminErrors),
    tags(
        (name = "OpenAI", description = "The OpenAI-compatible proxy (Forge API key)"),
        (name = "Anthropic", description = "The Anthropic Messages dialect (`x-api-key`)"),
        (name = "Gemini", description = "The Gemini dialect (`x-goog-api-key` or `?key=`)"),
        (name = "Pass-through", description = "Any provider path, forwarded with the provider's credentials"),
        (name = "Health", description = "Liveness, readiness and metrics"),
        (name = "Accounts", description = "Registration, session tokens and the caller's account"),
        (name = "API keys", description = "The caller's Forge API keys"),
        (name = "Provider keys", description = "The caller's upstream provider keys"),
        (name = "Limits", description = "Rate, concurrency and budget limits per key and per user"),
        (name = "Usage", description = "Usage statistics"),
        (name = "Logs", description = "Request logs export"),
        (name = "Routing", description = "The forge.toml routing table and its live state (admins)"),
        (name = "Documentation", description = "This document and its viewers"),
    ),
)]
pub struct ApiDoc;

/// The document, serialised once.
pub fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| match ApiDoc::openapi().to_json() {
        Ok(json) => json,
        Err(e) => {
            tracing::error!(error = %e, "cannot serialise the OpenAPI document");
            String::from("{}")
        }
    })
}

/// `GET /openapi.json`.
pub async fn spec() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(document())
}

/// The documentation routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource(ui::SPEC_PATH).route(get().to(spec)))
        .service(resource("/docs").route(get().to(ui::swagger_page)))
        .service(resource("/docs/{file}").route(get().to(ui::swagger_asset)))
        .service(resource("/redoc").route(get().to(ui::reference_page)))
        .service(resource("/redoc/scalar.js").route(get().to(ui::reference_script)));
}
