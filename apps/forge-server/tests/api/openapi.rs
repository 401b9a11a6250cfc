//! The OpenAPI document and its viewers: `/openapi.json` is OpenAPI 3.1 and lists exactly the
//! routes of the route table (read from `routes.rs` and the docs module's own `configure`, so a
//! route added without its annotation fails here), and `/docs` and `/redoc` load every asset
//! from the server itself.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::harness::{Backend, TestServer, client, get};

/// `(METHOD, path)` of every route registered in `source`, path parameters written `{}` and
/// Gemini's `{model}:{action}` route expanded into its actions.
fn routes_in(source: &str) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    let mut chunks = source.split("resource(").skip(1);
    for chunk in chunks.by_ref() {
        let Some((pattern, rest)) = chunk.split_once(')') else {
            continue;
        };
        let pattern = match pattern.trim() {
            "ui::SPEC_PATH" => "/openapi.json".to_owned(),
            quoted => quoted.trim_matches('"').to_owned(),
        };
        let path = normalise(&pattern);
        // `.to(...)` on a resource serves every method (the pass-through).
        if rest.trim_start().starts_with(".to(") {
            for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
                routes.insert((method.to_owned(), path.clone()));
            }
        }
        for method in ["get", "post", "put", "delete"] {
            if !rest.contains(&format!(".route({method}()")) {
                continue;
            }
            let method = method.to_uppercase();
            if method == "POST" && pattern.ends_with("/{target:.+}") {
                for action in ["generateContent", "streamGenerateContent", "countTokens"] {
                    routes.insert((method.clone(), format!("{path}:{action}")));
                }
            } else {
                routes.insert((method, path.clone()));
            }
        }
    }
    routes
}

/// `/a/{x}/b/{y:.+}` -> `/a/{}/b/{}`.
fn normalise(path: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '{' => {
                depth += 1;
                if depth == 1 {
                    out.push_str("{}");
                }
            }
            '}' => depth -= 1,
            _ if depth > 0 => {}
            _ => out.push(c),
        }
    }
    out
}

fn operations(spec: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            ops.insert((method.to_uppercase(), normalise(path)));
        }
    }
    ops
}

#[actix_rt::test]
async fn spec_is_openapi_3_1_and_lists_every_route() {
    let s = TestServer::start(Backend::Sqlite).await;
    let c = client();
    let r = get(&c, &s.url("/openapi.json"), None).await;
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let spec = r.body;
    assert!(
        spec["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        spec["openapi"]
    );

    let mut table = routes_in(include_str!("../../src/routes.rs"));
    table.extend(
        routes_in(include_str!("../../src/openapi/mod.rs"))
            .into_iter()
            // The viewers' asset files are not API operations.
            .filter(|(_, path)| !path.starts_with("/docs/") && !path.starts_with("/redoc/")),
    );
    assert!(table.len() > 50, "the route table was not read: {table:?}");
    let documented = operations(&spec);
    let missing: Vec<_> = table.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes without an operation in the spec: {missing:?}"
    );
    // Readiness and metrics are registered outside the route table (by the server's wiring).
    let served_elsewhere: BTreeSet<(String, String)> =
        [("GET", "/health/ready"), ("GET", "/metrics")]
            .into_iter()
            .map(|(m, p)| (m.to_owned(), p.to_owned()))
            .collect();
    let extra: Vec<_> = documented
        .difference(&table)
        .filter(|op| !served_elsewhere.contains(*op))
        .collect();
    assert!(
        extra.is_empty(),
        "operations in the spec that no route serves: {extra:?}"
    );

    // Every operation says how to authenticate (possibly: not at all) and has an id.
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["operationId"].is_string(),
                "{method} {path}: no operationId"
            );
            assert!(
                op["security"].is_array(),
                "{method} {path}: no security requirement"
            );
        }
    }
    let schemes = spec["components"]["securitySchemes"].as_object().unwrap();
    for scheme in [
        "jwt",
        "forge_key",
        "x_api_key",
        "x_goog_api_key",
        "key_query",
    ] {
        assert!(schemes.contains_key(scheme), "no security scheme {scheme}");
    }
    // The dialects' error shapes are stated.
    let schemas = spec["components"]["schemas"].as_object().unwrap();
    for name in [
        "AdminError",
        "OpenAiErrorBody",
        "AnthropicErrorBody",
        "GeminiErrorBody",
    ] {
        assert!(schemas.contains_key(name), "no schema {name}");
    }
}

/// The `src`/`href` values of a page.
fn references(html: &str) -> Vec<String> {
    let mut refs = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for part in html.split(attr).skip(1) {
            if let Some((value, _)) = part.split_once('"') {
                refs.push(value.to_owned());
            }
        }
    }
    refs
}

/// Fetches a viewer page at `path` and `path/`, checks it references nothing off the server,
/// fetches every reference, and returns the page.
async fn page_with_local_assets(s: &TestServer, path: &str) -> String {
    let c = client();
    let page = get(&c, &s.url(path), None).await;
    assert_eq!(page.status, 200, "{path}");
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let slashed = get(&c, &s.url(&format!("{path}/")), None).await;
    assert_eq!(
        (slashed.status, &slashed.text),
        (200, &page.text),
        "{path}/"
    );
    assert!(
        !page.text.contains("http://") && !page.text.contains("https://"),
        "{}",
        page.text
    );
    let refs = references(&page.text);
    assert!(!refs.is_empty(), "{path} references no asset");
    for r in refs {
        assert!(
            r.starts_with('/') && !r.starts_with("//"),
            "{path}: off-server asset {r}"
        );
        let asset = get(&c, &s.url(&r), None).await;
        assert_eq!(asset.status, 200, "{r}");
        assert!(asset.text.len() > 100, "{r} is empty");
    }
    page.text
}

#[actix_rt::test]
async fn docs_and_reference_load_everything_from_the_server() {
    let s = TestServer::start(Backend::Sqlite).await;
    let c = client();

    let swagger = page_with_local_assets(&s, "/docs").await;
    assert!(swagger.contains("/docs/swagger-initializer.js"));
    let init = get(&c, &s.url("/docs/swagger-initializer.js"), None).await;
    assert!(init.text.contains("\"/openapi.json\""), "{}", init.text);
    assert!(
        init.text.contains("\"validatorUrl\": \"none\""),
        "{}",
        init.text
    );
    assert_eq!(get(&c, &s.url("/docs/nothing.js"), None).await.status, 404);

    let scalar = page_with_local_assets(&s, "/redoc").await;
    assert!(scalar.contains("/redoc/scalar.js"));
    for setting in [
        "\"telemetry\":false",
        "\"withDefaultFonts\":false",
        "\"url\":\"/openapi.json\"",
    ] {
        assert!(scalar.contains(setting), "{setting} missing from {scalar}");
    }
    let script = get(&c, &s.url("/redoc/scalar.js"), None).await;
    assert!(
        script
            .header("content-type")
            .unwrap()
            .contains("javascript")
    );

    // The root advertises exactly what is served.
    let root = get(&c, &s.url("/"), None).await.body;
    for key in ["docs", "redoc", "openapi", "health"] {
        let link = root[key].as_str().unwrap();
        assert_eq!(
            get(&c, &s.url(link), None).await.status,
            200,
            "{key}: {link}"
        );
    }
}
