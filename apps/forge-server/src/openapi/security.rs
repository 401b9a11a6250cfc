//! The spec's security schemes, and the error answers every admin operation shares (added
//! here once rather than repeated on each handler).

use utoipa::Modify;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};

/// The credentials Forge accepts: a JWT (admin API), a Forge API key (proxy), and the key
/// headers of the Anthropic and Gemini SDKs.
pub struct Schemes;

impl Modify for Schemes {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "jwt",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A session token from `POST /v1/auth/token`, for the admin API.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "forge_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A Forge API key (`forge-...`, from `POST /v1/api-keys`) or a static \
                         gateway key of forge.toml, for the proxy routes.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "metrics_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The metrics token, when the server is configured with one.",
                    ))
                    .build(),
            ),
        );
        let header = |name: &str, what: &str| {
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(name, what)))
        };
        components.add_security_scheme(
            "x_api_key",
            header(
                "x-api-key",
                "A Forge API key, as the Anthropic SDKs send it.",
            ),
        );
        components.add_security_scheme(
            "x_goog_api_key",
            header(
                "x-goog-api-key",
                "A Forge API key, as the Google GenAI SDKs send it.",
            ),
        );
        components.add_security_scheme(
            "key_query",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "key",
                "A Forge API key in the `key` query parameter (Gemini dialect); never logged.",
            ))),
        );
    }
}

/// Statuses any admin operation may answer besides its own, in the `{"detail": ...}` shape:
/// 401 and 400 (inactive user) where a session is required, 422 for a malformed path, query
/// or body, 503 while the database is unreachable.
pub struct AdminErrors;

impl Modify for AdminErrors {
    fn modify(&self, openapi: &mut OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for op in [
                item.get.as_mut(),
                item.post.as_mut(),
                item.put.as_mut(),
                item.delete.as_mut(),
            ]
            .into_iter()
            .flatten()
            {
                if is_admin(op) {
                    add_admin_errors(op);
                }
            }
        }
    }
}

/// Admin operations are the ones that require the JWT scheme.
fn is_admin(op: &Operation) -> bool {
    op.security.as_ref().is_some_and(|reqs| {
        !reqs.is_empty()
            && reqs.iter().all(|req| {
                serde_json::to_value(req)
                    .ok()
                    .is_some_and(|v| v.get("jwt").is_some())
            })
    })
}

fn add_admin_errors(op: &mut Operation) {
    let takes_input =
        op.request_body.is_some() || op.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let mut extra = vec![
        ("400", "Inactive user, or a request the operation refuses"),
        ("401", "Missing, invalid or expired session token"),
        ("503", "The database is unreachable; try again shortly"),
    ];
    if takes_input {
        extra.push((
            "422",
            "A malformed path, query or body (`detail` lists the errors)",
        ));
    }
    for (status, description) in extra {
        let responses = &mut op.responses.responses;
        if !responses.contains_key(status) {
            responses.insert(status.to_owned(), RefOr::T(admin_error(description)));
        }
    }
}

/// A response in the admin error shape.
pub fn admin_error(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("AdminError")))
                .build(),
        )
        .build()
}
