//! The route table. Collection routes answer with and without the trailing slash (Forge v1
//! clients use the slash; FastAPI redirected the other spelling, we serve both directly).

use actix_web::web::{self, delete, get, post, put, resource};

use crate::admin::{api_keys, auth, health, provider_keys, users};
use crate::proxy;

/// Both spellings of a path.
fn both(path: &str) -> [String; 2] {
    [path.to_owned(), format!("{path}/")]
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/").route(get().to(health::root)))
        .service(
            resource(["/health", "/health/", "/v1/health", "/v1/health/"])
                .route(get().to(health::health)),
        )
        .service(resource(both("/health/database")).route(get().to(health::database)))
        .service(resource(both("/health/detailed")).route(get().to(health::detailed)))
        // accounts
        .service(resource(both("/v1/auth/register")).route(post().to(auth::register)))
        .service(resource(both("/v1/auth/token")).route(post().to(auth::token)))
        .service(resource(both("/v1/users")).route(post().to(auth::create_user_route)))
        .service(
            resource(both("/v1/users/me"))
                .route(get().to(users::me))
                .route(put().to(users::update_me)),
        )
        // Forge API keys
        .service(
            resource(both("/v1/api-keys"))
                .route(get().to(api_keys::list))
                .route(post().to(api_keys::create)),
        )
        .service(
            resource(both("/v1/api-keys/{key_id}/regenerate"))
                .route(post().to(api_keys::regenerate)),
        )
        .service(
            resource(both("/v1/api-keys/{key_id}"))
                .route(put().to(api_keys::update))
                .route(delete().to(api_keys::delete)),
        )
        // provider keys (batch-upsert before the `{provider_name}` pattern)
        .service(
            resource(both("/v1/provider-keys"))
                .route(get().to(provider_keys::list))
                .route(post().to(provider_keys::create)),
        )
        .service(
            resource(both("/v1/provider-keys/batch-upsert"))
                .route(post().to(provider_keys::batch_upsert)),
        )
        .service(
            resource(both("/v1/provider-keys/{provider_name}"))
                .route(put().to(provider_keys::update))
                .route(delete().to(provider_keys::delete)),
        )
        // the OpenAI-compatible proxy
        .service(resource(both("/v1/chat/completions")).route(post().to(proxy::chat_completions)))
        .service(resource(both("/v1/completions")).route(post().to(proxy::completions)))
        .service(resource(both("/v1/embeddings")).route(post().to(proxy::embeddings)))
        .service(resource(both("/v1/responses")).route(post().to(proxy::responses::create)))
        .service(resource(both("/v1/models")).route(get().to(proxy::models::list_models)))
        // the Anthropic dialect
        .service(resource(both("/v1/messages")).route(post().to(proxy::messages::messages)))
        .service(
            resource(both("/v1/messages/count_tokens"))
                .route(post().to(proxy::messages::count_tokens)),
        )
        // the Gemini dialect
        .service(
            resource(both("/v1beta/models")).route(get().to(proxy::models::list_models_gemini)),
        )
        .service(
            resource(["/v1beta/models/{target:.+}", "/v1/models/{target:.+}"])
                .route(post().to(proxy::gemini::generate)),
        );
}
