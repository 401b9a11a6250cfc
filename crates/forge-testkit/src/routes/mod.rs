//! One file per OpenAI endpoint; all share [`crate::pipeline::prepare`]. Azure's routes
//! ([`crate::azure`]) reach the same handlers.

pub(crate) mod batches;
pub(crate) mod chat;
pub(crate) mod completions;
pub(crate) mod embeddings;
pub(crate) mod files;
pub(crate) mod media;
pub(crate) mod models;
pub(crate) mod not_found;
pub(crate) mod uploads;

use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::web;

/// Seconds since the Unix epoch, as in OpenAI's `created` fields.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/v1")
            .route("/chat/completions", web::post().to(chat::handle))
            .route("/completions", web::post().to(completions::handle))
            .route("/embeddings", web::post().to(embeddings::handle))
            .route("/images/generations", web::post().to(media::images))
            .route("/moderations", web::post().to(media::moderations))
            .route("/rerank", web::post().to(media::rerank))
            .route("/audio/speech", web::post().to(media::speech))
            .route(
                "/audio/transcriptions",
                web::post().to(uploads::transcriptions),
            )
            .route("/audio/translations", web::post().to(uploads::translations))
            .route("/images/edits", web::post().to(uploads::image_edits))
            .route(
                "/images/variations",
                web::post().to(uploads::image_variations),
            )
            .route("/files", web::post().to(files::create))
            .route("/files", web::get().to(files::list))
            .route("/files/{id}", web::get().to(files::retrieve))
            .route("/files/{id}", web::delete().to(files::delete))
            .route("/files/{id}/content", web::get().to(files::content))
            .route("/batches", web::post().to(batches::create))
            .route("/batches", web::get().to(batches::list))
            .route("/batches/{id}", web::get().to(batches::retrieve))
            .route("/batches/{id}/cancel", web::post().to(batches::cancel))
            .route("/models", web::get().to(models::list))
            .route("/models/{id}", web::get().to(models::get)),
    )
    .configure(crate::azure::configure)
    .default_service(web::to(not_found::handle));
}
