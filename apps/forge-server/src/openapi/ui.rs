//! The interactive documentation, served from assets compiled into the binary: nothing is
//! fetched from a CDN at build or run time, so the docs work on an offline host.
//!
//! - `/docs`: Swagger UI, from `utoipa-swagger-ui` built with its `vendored` feature (the
//!   Swagger UI distribution ships inside the `utoipa-swagger-ui-vendored` crate and is
//!   embedded with `include_bytes!`). The page is Forge's own, with absolute asset paths:
//!   trailing slashes are trimmed before routing (`trim_path.rs`), so `/docs/` arrives as
//!   `/docs` and the distribution's relative `./swagger-ui.css` would resolve to `/`.
//! - `/redoc`: Scalar's API reference, whose standalone bundle ships inside the
//!   `scalar_api_reference` crate. Its default fonts, telemetry and AI agent are turned off:
//!   each would call Scalar's servers.

use std::sync::{Arc, OnceLock};

use actix_web::http::header::{self, ContentType};
use actix_web::{HttpResponse, web};
use serde_json::json;
use utoipa_swagger_ui::Config;

use crate::error::ApiError;

pub const SPEC_PATH: &str = "/openapi.json";

/// The Swagger UI files a page needs (the distribution's others are served too, if asked for).
const SWAGGER_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Forge API - Swagger UI</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-ui-standalone-preset.js"></script>
<script src="/docs/swagger-initializer.js"></script>
</body>
</html>
"#;

const SCALAR_SCRIPT: &str = "scalar.js";

fn swagger_config() -> Arc<Config<'static>> {
    static CONFIG: OnceLock<Arc<Config<'static>>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            Arc::new(
                Config::new([SPEC_PATH])
                    // Swagger UI's default validator badge is an image from an online service.
                    .validator_url("none")
                    .persist_authorization(false)
                    .display_operation_id(true),
            )
        })
        .clone()
}

fn html(body: impl actix_web::body::MessageBody + 'static) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}

/// `GET /docs` (and `/docs/`).
pub async fn swagger_page() -> HttpResponse {
    html(SWAGGER_PAGE)
}

/// `GET /docs/{file}`: a file of the embedded Swagger UI distribution.
pub async fn swagger_asset(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let file = file.into_inner();
    if file == "index.html" {
        return Ok(swagger_page().await);
    }
    match utoipa_swagger_ui::serve(&file, swagger_config()) {
        Ok(Some(asset)) => Ok(HttpResponse::Ok()
            .content_type(asset.content_type)
            .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
            .body(asset.bytes.into_owned())),
        Ok(None) => Err(ApiError::not_found("Not Found")),
        Err(e) => {
            tracing::error!(error = %e, "cannot render a Swagger UI asset");
            Err(ApiError::internal())
        }
    }
}

/// `GET /redoc` (and `/redoc/`).
pub async fn reference_page() -> HttpResponse {
    static PAGE: OnceLock<String> = OnceLock::new();
    let page = PAGE.get_or_init(|| {
        let config = json!({
            "url": SPEC_PATH,
            "withDefaultFonts": false,
            "telemetry": false,
            "agent": { "disabled": true },
            "showDeveloperTools": "never",
        });
        scalar_api_reference::scalar_html(&config, Some(&format!("/redoc/{SCALAR_SCRIPT}")))
    });
    html(page.clone())
}

/// `GET /redoc/scalar.js`: Scalar's standalone bundle, embedded.
pub async fn reference_script() -> Result<HttpResponse, ApiError> {
    let (mime, bytes) = scalar_api_reference::get_asset_with_mime(SCALAR_SCRIPT)
        .ok_or_else(|| ApiError::not_found("Not Found"))?;
    Ok(HttpResponse::Ok()
        .content_type(mime)
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(bytes))
}
