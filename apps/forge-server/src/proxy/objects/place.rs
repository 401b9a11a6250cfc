//! Which provider key an object call goes to: the key that holds the object for calls naming
//! an id, else the key the caller names in `x-forge-provider`, else the caller's one
//! OpenAI-compatible key (its `openai` key when it has several).

use actix_web::HttpRequest;
use forge_core::Error;
use forge_router::config::ProviderKind;
use forge_storage::UpstreamObject;

use crate::auth::key_cache::AuthContext;
use crate::proxy::dispatch::{KeyChoice, may_use_config};
use crate::proxy::family::ProviderFamily;
use crate::proxy::handle::Proxy;

/// The request header that picks the provider key a new file or batch is created with.
pub const PROVIDER_HEADER: &str = "x-forge-provider";

/// Where an object lives: a provider, and the caller's key of it (`None`: forge.toml's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// Lowercase.
    pub provider: String,
    pub key: Option<i64>,
}

impl Place {
    pub fn of(object: &UpstreamObject) -> Place {
        Place {
            provider: object.provider.clone(),
            key: object.provider_key_id,
        }
    }

    pub fn choice(&self) -> KeyChoice<'_> {
        match self.key {
            Some(id) => KeyChoice::UserKey(id),
            None => KeyChoice::Configured(&self.provider),
        }
    }

    pub fn object(&self, kind: &str, id: &str) -> UpstreamObject {
        UpstreamObject {
            id: id.to_owned(),
            kind: kind.to_owned(),
            provider: self.provider.clone(),
            provider_key_id: self.key,
        }
    }
}

/// The provider the caller named in [`PROVIDER_HEADER`], lowercase.
pub fn named(req: &HttpRequest) -> Result<Option<String>, Error> {
    let Some(value) = req.headers().get(PROVIDER_HEADER) else {
        return Ok(None);
    };
    let name = value
        .to_str()
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if name.is_empty() {
        return Err(Error::InvalidRequest {
            message: format!("the {PROVIDER_HEADER} header is empty; name a provider key"),
            param: None,
        });
    }
    Ok(Some(name))
}

/// Where a new object (or a listing) goes.
pub fn for_new(req: &HttpRequest, ctx: &AuthContext, proxy: &Proxy) -> Result<Place, Error> {
    if let Some(name) = named(req)? {
        let key = ctx
            .providers_in_scope()
            .find(|p| p.name_lower == name)
            .map(|p| p.id);
        return Ok(Place {
            provider: name,
            key,
        });
    }
    let own: Vec<_> = ctx
        .providers_in_scope()
        .filter(|p| matches!(p.family, ProviderFamily::OpenAi(_)))
        .collect();
    let chosen = match own.iter().find(|p| p.name_lower == "openai") {
        Some(openai) => Some(openai),
        None if own.len() == 1 => own.first(),
        None => None,
    };
    if let Some(key) = chosen {
        return Ok(Place {
            provider: key.name_lower.clone(),
            key: Some(key.id),
        });
    }
    if !own.is_empty() {
        let names: Vec<&str> = own.iter().map(|p| p.name_lower.as_str()).collect();
        return Err(ambiguous(&names));
    }
    let snapshot = proxy.routing.snapshot();
    if may_use_config(&snapshot, ctx) && ctx.gateway.as_ref().is_none_or(|k| k.models.is_none()) {
        let configured: Vec<&str> = snapshot
            .config
            .providers
            .iter()
            .filter(|p| matches!(p.kind, ProviderKind::OpenaiCompatible | ProviderKind::Azure))
            .map(|p| p.name.as_str())
            .collect();
        match configured.as_slice() {
            [one] => {
                return Ok(Place {
                    provider: one.to_ascii_lowercase(),
                    key: None,
                });
            }
            [] => {}
            several => return Err(ambiguous(several)),
        }
    }
    Err(Error::InvalidRequest {
        message: format!(
            "no OpenAI-compatible provider key to hold files and batches: add one, or name a provider key in the {PROVIDER_HEADER} header"
        ),
        param: None,
    })
}

fn ambiguous(names: &[&str]) -> Error {
    Error::InvalidRequest {
        message: format!(
            "several OpenAI-compatible provider keys could hold this ({}): name one in the {PROVIDER_HEADER} header",
            names.join(", ")
        ),
        param: None,
    }
}
