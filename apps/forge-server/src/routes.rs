//! The route table. Every route is one static pattern: a trailing slash is trimmed before
//! routing (`trim_path.rs`), so Forge v1 clients' `/v1/api-keys/` and the bare
//! spelling are both served directly, without redirects and without multi-pattern matching
//! (which cost ~40% of the CPU of a proxied request in the benchmark). The proxy routes come
//! first because they carry the traffic.

use actix_web::web::{self, delete, get, post, put, resource};

use crate::admin::{api_keys, auth, health, provider_keys, routing, users};
use crate::proxy;
use crate::proxy::client;
use crate::proxy::openai::{
    Chat, Completions, Embeddings, Images, Moderations, OpenAi, Rerank, Speech,
};
use crate::proxy::upload::{ImageEdits, ImageVariations, Transcriptions, Translations, Upload};

pub fn configure(cfg: &mut web::ServiceConfig) {
    // the OpenAI-compatible proxy
    cfg.service(resource("/v1/chat/completions").route(post().to(client::handle::<OpenAi<Chat>>)))
        .service(
            resource("/v1/completions").route(post().to(client::handle::<OpenAi<Completions>>)),
        )
        .service(resource("/v1/embeddings").route(post().to(client::handle::<OpenAi<Embeddings>>)))
        .service(
            resource("/v1/images/generations").route(post().to(client::handle::<OpenAi<Images>>)),
        )
        .service(
            resource("/v1/moderations").route(post().to(client::handle::<OpenAi<Moderations>>)),
        )
        .service(resource("/v1/audio/speech").route(post().to(client::handle::<OpenAi<Speech>>)))
        .service(resource("/v1/rerank").route(post().to(client::handle::<OpenAi<Rerank>>)))
        // multipart uploads
        .service(
            resource("/v1/images/edits").route(post().to(client::handle::<Upload<ImageEdits>>)),
        )
        .service(
            resource("/v1/images/variations")
                .route(post().to(client::handle::<Upload<ImageVariations>>)),
        )
        .service(
            resource("/v1/audio/transcriptions")
                .route(post().to(client::handle::<Upload<Transcriptions>>)),
        )
        .service(
            resource("/v1/audio/translations")
                .route(post().to(client::handle::<Upload<Translations>>)),
        )
        .service(
            resource("/v1/responses")
                .route(post().to(client::handle::<proxy::responses::Responses>)),
        )
        .service(resource("/v1/models").route(get().to(proxy::models::list_models)))
        // files and batches, held upstream and owned per caller
        .service(
            resource("/v1/files")
                .route(post().to(proxy::objects::files))
                .route(get().to(proxy::objects::files)),
        )
        .service(
            resource("/v1/files/{id}")
                .route(get().to(proxy::objects::files))
                .route(delete().to(proxy::objects::files)),
        )
        .service(resource("/v1/files/{id}/content").route(get().to(proxy::objects::files)))
        .service(
            resource("/v1/batches")
                .route(post().to(proxy::objects::batches))
                .route(get().to(proxy::objects::batches)),
        )
        .service(resource("/v1/batches/{id}").route(get().to(proxy::objects::batches)))
        .service(resource("/v1/batches/{id}/cancel").route(post().to(proxy::objects::batches)))
        // any provider path Forge does not model, any method
        .service(resource("/passthrough/{provider}/{path:.*}").to(proxy::forward::passthrough))
        // the Anthropic dialect
        .service(
            resource("/v1/messages").route(post().to(client::handle::<proxy::messages::Messages>)),
        )
        .service(
            resource("/v1/messages/count_tokens").route(post().to(proxy::messages::count_tokens)),
        )
        // the Gemini dialect
        .service(resource("/v1beta/models").route(get().to(proxy::models::list_models_gemini)))
        .service(
            resource("/v1beta/models/{target:.+}")
                .route(post().to(proxy::gemini::generate))
                .route(get().to(proxy::models::retrieve_model_gemini)),
        )
        .service(
            resource("/v1/models/{target:.+}")
                .route(post().to(proxy::gemini::generate))
                .route(get().to(proxy::models::retrieve_model)),
        )
        // health
        .service(resource("/").route(get().to(health::root)))
        .service(resource("/health").route(get().to(health::health)))
        .service(resource("/v1/health").route(get().to(health::health)))
        .service(resource("/health/ready").route(get().to(health::ready)))
        .service(resource("/health/database").route(get().to(health::database)))
        .service(resource("/health/detailed").route(get().to(health::detailed)))
        // the OpenAPI document, Swagger UI and Scalar (assets embedded)
        .configure(crate::openapi::configure)
        // accounts
        .service(resource("/v1/auth/register").route(post().to(auth::register)))
        .service(resource("/v1/auth/token").route(post().to(auth::token)))
        .service(resource("/v1/users").route(post().to(auth::create_user_route)))
        .service(
            resource("/v1/users/me")
                .route(get().to(users::me))
                .route(put().to(users::update_me)),
        )
        // statistics (usage records; Forge v1 §2.8 shapes, and Forge's own /v1/usage)
        .service(resource("/v1/stats").route(get().to(crate::admin::stats::legacy::user_stats)))
        .service(
            resource("/v1/stats/admin").route(get().to(crate::admin::stats::legacy::admin_stats)),
        )
        .service(
            resource("/v1/statistic/usage/realtime")
                .route(get().to(crate::admin::stats::realtime::realtime)),
        )
        .service(
            resource("/v1/statistic/usage/summary")
                .route(get().to(crate::admin::stats::summary::summary)),
        )
        .service(
            resource("/v1/statistic/forge-keys/usage")
                .route(get().to(crate::admin::stats::summary::forge_keys)),
        )
        .service(resource("/v1/usage").route(get().to(crate::admin::stats::usage::usage)))
        // request logs ([logging] in forge.toml), JSON Lines
        .service(resource("/v1/logs/export").route(get().to(crate::admin::logs::export)))
        // limits (stored per key and per user, replacing forge.toml's [limits] defaults)
        .service(
            resource("/v1/api-keys/{key_id}/limits")
                .route(get().to(crate::admin::limits::get_key))
                .route(put().to(crate::admin::limits::put_key))
                .route(delete().to(crate::admin::limits::delete_key)),
        )
        .service(
            resource("/v1/admin/users/{user_id}/limits")
                .route(get().to(crate::admin::limits::get_user))
                .route(put().to(crate::admin::limits::put_user))
                .route(delete().to(crate::admin::limits::delete_user)),
        )
        // Forge API keys
        .service(
            resource("/v1/api-keys")
                .route(get().to(api_keys::list))
                .route(post().to(api_keys::create)),
        )
        .service(
            resource("/v1/api-keys/{key_id}/regenerate").route(post().to(api_keys::regenerate)),
        )
        .service(
            resource("/v1/api-keys/{key_id}")
                .route(put().to(api_keys::update))
                .route(delete().to(api_keys::delete)),
        )
        // provider keys (batch-upsert before the `{provider_name}` pattern)
        .service(
            resource("/v1/provider-keys")
                .route(get().to(provider_keys::list))
                .route(post().to(provider_keys::create)),
        )
        .service(
            resource("/v1/provider-keys/batch-upsert")
                .route(post().to(provider_keys::batch_upsert)),
        )
        .service(
            resource("/v1/provider-keys/{provider_name}")
                .route(put().to(provider_keys::update))
                .route(delete().to(provider_keys::delete)),
        )
        // routing (forge.toml), admin only
        .service(resource("/v1/admin/routes").route(get().to(routing::routes)))
        .service(resource("/v1/admin/routes/decide").route(post().to(routing::decide)))
        .service(resource("/v1/admin/deployments").route(get().to(routing::deployments)))
        .service(resource("/v1/admin/deployments/{id:.+}/reset").route(post().to(routing::reset)))
        .service(resource("/v1/admin/sessions/{id:.+}").route(delete().to(routing::drop_session)));
}
