//! `GET /v1/models` (spec §4.4): every provider key in the Forge key's scope contributes its
//! models as `provider/model` ids, fetched live (cached per provider key) or from the adapter's
//! static list. A provider whose listing fails contributes nothing.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use crate::auth::forge_key::{authenticate, authenticate_gemini};
use crate::auth::key_cache::AuthContext;
use crate::error::ProxyError;
use crate::proxy::dialect::Dialect;
use crate::proxy::dispatch;
use crate::proxy::handle::Proxy;
use crate::proxy::model_lists;
use crate::proxy::transport::Transport;

/// One listed model: `provider/model` id, owner and the alias a user mapped to it.
pub struct Listed {
    pub id: String,
    pub owned_by: String,
    pub display_name: String,
}

/// `GET /v1/models` in OpenAI's shape.
pub async fn list_models(
    req: HttpRequest,
    proxy: web::Data<Proxy>,
    transport: web::Data<Transport>,
) -> Result<HttpResponse, ProxyError> {
    let ctx = authenticate(&proxy.auth, &req).await?;
    let data: Vec<_> = collect(&proxy, &transport, &ctx)
        .await
        .into_iter()
        .map(|m| {
            json!({ "id": m.id, "object": "model", "created": 0, "owned_by": m.owned_by, "display_name": m.display_name })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "object": "list", "data": data })))
}

/// `GET /v1beta/models` in Google's shape, so google-genai clients can list what Forge serves.
pub async fn list_models_gemini(
    req: HttpRequest,
    proxy: web::Data<Proxy>,
    transport: web::Data<Transport>,
) -> Result<HttpResponse, ProxyError> {
    let ctx = authenticate_gemini(&proxy.auth, &req)
        .await
        .map_err(ProxyError::in_dialect(Dialect::Gemini))?;
    let models: Vec<_> = collect(&proxy, &transport, &ctx)
        .await
        .into_iter()
        .map(|m| {
            json!({
                "name": format!("models/{}", m.id),
                "displayName": m.display_name,
                "supportedGenerationMethods": ["generateContent", "streamGenerateContent", "countTokens"],
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "models": models })))
}

/// `GET /v1/models/{id}` (the OpenAI SDK's `models.retrieve`).
pub async fn retrieve_model(
    req: HttpRequest,
    proxy: web::Data<Proxy>,
    transport: web::Data<Transport>,
) -> Result<HttpResponse, ProxyError> {
    let ctx = authenticate(&proxy.auth, &req).await?;
    let id = model_id(&req);
    let found = collect(&proxy, &transport, &ctx)
        .await
        .into_iter()
        .find(|m| m.id == id);
    let m = found.ok_or(forge_core::Error::ModelNotFound { model: id })?;
    Ok(HttpResponse::Ok().json(json!({
        "id": m.id, "object": "model", "created": 0, "owned_by": m.owned_by, "display_name": m.display_name,
    })))
}

/// `GET /v1beta/models/{name}` (google-genai's `models.get`).
pub async fn retrieve_model_gemini(
    req: HttpRequest,
    proxy: web::Data<Proxy>,
    transport: web::Data<Transport>,
) -> Result<HttpResponse, ProxyError> {
    let in_gemini = ProxyError::in_dialect(Dialect::Gemini);
    let ctx = authenticate_gemini(&proxy.auth, &req)
        .await
        .map_err(&in_gemini)?;
    let id = model_id(&req);
    let id = id.strip_prefix("models/").unwrap_or(&id).to_owned();
    let found = collect(&proxy, &transport, &ctx)
        .await
        .into_iter()
        .find(|m| m.id == id);
    let m = found.ok_or_else(|| in_gemini(forge_core::Error::ModelNotFound { model: id }))?;
    Ok(HttpResponse::Ok().json(json!({
        "name": format!("models/{}", m.id),
        "displayName": m.display_name,
        "supportedGenerationMethods": ["generateContent", "streamGenerateContent", "countTokens"],
    })))
}

/// The `{target}` path segment, with an encoded `/` (as in `openai%2Fgpt-4o`) decoded.
fn model_id(req: &HttpRequest) -> String {
    req.match_info()
        .query("target")
        .replace("%2F", "/")
        .replace("%2f", "/")
}

async fn collect(proxy: &Proxy, transport: &Transport, ctx: &AuthContext) -> Vec<Listed> {
    let listings = ctx
        .providers_in_scope()
        .map(|p| model_lists::of(&proxy.models, transport, ctx.user_id, p));
    let results = futures_util::future::join_all(listings).await;
    let mut out = Vec::new();
    for (provider, models) in ctx.providers_in_scope().zip(results) {
        for model in models.iter() {
            let alias = provider
                .model_mapping
                .iter()
                .find(|(_, upstream)| *upstream == model)
                .map(|(alias, _)| alias.as_str());
            out.push(Listed {
                id: format!("{}/{}", provider.name_lower, model),
                owned_by: provider.name_lower.clone(),
                display_name: alias.unwrap_or(model).to_owned(),
            });
        }
    }
    out.extend(configured(proxy, ctx));
    out
}

/// forge.toml's logical models, `provider/model` routes and aliases the caller may use.
fn configured(proxy: &Proxy, ctx: &AuthContext) -> Vec<Listed> {
    let snapshot = proxy.routing.snapshot();
    if !dispatch::may_use_config(&snapshot, ctx) {
        return Vec::new();
    }
    let table = &snapshot.table;
    let allowed = |name: &str| {
        ctx.gateway
            .as_ref()
            .is_none_or(|key| table.key_allows(key, name))
    };
    let routes = table.routes().map(|route| {
        let owner = match route.name.split_once('/') {
            Some((provider, _)) if !snapshot.config.models.contains_key(&route.name) => provider,
            _ => "forge",
        };
        (route.name.clone(), owner.to_owned())
    });
    let aliases = table
        .aliases()
        .keys()
        .map(|alias| (alias.clone(), "forge".to_owned()));
    routes
        .chain(aliases)
        .filter(|(name, _)| allowed(name))
        .map(|(id, owned_by)| Listed {
            display_name: id.clone(),
            id,
            owned_by,
        })
        .collect()
}
