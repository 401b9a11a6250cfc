//! Model resolution (Forge v1 spec §4.2): a `provider/model` prefix naming one of the caller's
//! provider keys (longest prefix first, so `openrouter/meta-llama/x` works and names may hold
//! dots), else an alias in some provider's `model_mapping`. Scope is enforced after resolution,
//! so a model the key may not use is a 403, not a misleading 404.

use forge_core::Error;

use crate::auth::key_cache::{AuthContext, ResolvedProvider};

/// Longer model names are refused before any work is done with them.
pub const MAX_MODEL_LEN: usize = 256;

#[derive(Debug)]
pub struct Route<'a> {
    pub provider: &'a ResolvedProvider,
    pub upstream_model: String,
}

pub fn resolve<'a>(ctx: &'a AuthContext, model: &str) -> Result<Route<'a>, Error> {
    resolve_with(ctx, model, &[])
}

/// [`resolve`], preferring the providers named in `priority` (forge.toml's
/// `provider_priority`) when several of the caller's keys map the same model.
pub fn resolve_with<'a>(
    ctx: &'a AuthContext,
    model: &str,
    priority: &[String],
) -> Result<Route<'a>, Error> {
    let model = model.trim();
    if model.len() > MAX_MODEL_LEN {
        return Err(Error::InvalidRequest {
            message: format!("model must be at most {MAX_MODEL_LEN} bytes"),
            param: Some("model".into()),
        });
    }
    if model.is_empty() {
        return Err(Error::InvalidRequest {
            message: "you must provide a model parameter".into(),
            param: Some("model".into()),
        });
    }
    if let Some((provider, rest)) = prefix_match(ctx, model) {
        if rest.is_empty() {
            return Err(Error::InvalidRequest {
                message: format!("model `{model}` names a provider but no model after the '/'"),
                param: Some("model".into()),
            });
        }
        check_scope(ctx, provider)?;
        let upstream_model = provider
            .model_mapping
            .get(rest)
            .cloned()
            .unwrap_or_else(|| rest.to_owned());
        return Ok(Route {
            provider,
            upstream_model,
        });
    }
    let lower = model.to_lowercase();
    let mut candidates: Vec<&ResolvedProvider> = ctx
        .providers
        .iter()
        .filter(|p| p.model_mapping.contains_key(model))
        .collect();
    // The operator's priority first; then, as in Forge v1, providers whose name occurs in
    // the model string.
    let rank = |p: &ResolvedProvider| {
        priority
            .iter()
            .position(|name| name.eq_ignore_ascii_case(&p.name_lower))
            .unwrap_or(usize::MAX)
    };
    candidates.sort_by_key(|p| (rank(p), !lower.contains(&p.name_lower), p.id));
    if let Some(provider) = candidates.iter().find(|p| ctx.allows(p.id)) {
        let upstream_model = provider
            .model_mapping
            .get(model)
            .cloned()
            .unwrap_or_else(|| model.to_owned());
        return Ok(Route {
            provider,
            upstream_model,
        });
    }
    if let Some(provider) = candidates.first() {
        check_scope(ctx, provider)?;
    }
    Err(Error::ModelNotFound {
        model: model.to_owned(),
    })
}

fn check_scope(ctx: &AuthContext, provider: &ResolvedProvider) -> Result<(), Error> {
    if ctx.allows(provider.id) {
        Ok(())
    } else {
        Err(Error::PermissionDenied(format!(
            "API key is not permitted to use provider '{}'.",
            provider.name_lower
        )))
    }
}

/// The provider whose (lowercased) name equals the longest leading run of `/`-segments, and the
/// rest of the model string in its original case.
fn prefix_match<'a, 'm>(
    ctx: &'a AuthContext,
    model: &'m str,
) -> Option<(&'a ResolvedProvider, &'m str)> {
    let cuts: Vec<usize> = model.match_indices('/').map(|(i, _)| i).collect();
    cuts.iter().rev().find_map(|&cut| {
        let prefix = model[..cut].to_lowercase();
        ctx.providers
            .iter()
            .find(|p| p.name_lower == prefix)
            .map(|p| (p, &model[cut + 1..]))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::BTreeMap;

    use zeroize::Zeroizing;

    use super::*;

    fn provider(id: i64, name: &str, mapping: &[(&str, &str)]) -> ResolvedProvider {
        ResolvedProvider {
            id,
            name: name.to_owned(),
            name_lower: name.to_lowercase(),
            api_key: Zeroizing::new("sk-test".into()),
            base_url: None,
            model_mapping: mapping
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect::<BTreeMap<_, _>>(),
            config: BTreeMap::new(),
            family: crate::proxy::family::ProviderFamily::of(&name.to_lowercase()),
        }
    }

    fn ctx(scope: Option<Vec<i64>>) -> AuthContext {
        AuthContext {
            key_id: 1,
            user_id: 1,
            scope,
            providers: vec![
                provider(1, "OpenAI", &[("fast", "gpt-4o-mini")]),
                provider(2, "openrouter", &[]),
                provider(3, "openrouter/meta-llama", &[]),
                provider(4, "featherless.ai", &[("my-llama", "meta/llama-3")]),
            ],
            gateway: None,
            limits: Default::default(),
        }
    }

    #[test]
    fn prefixes_longest_first_case_insensitive() {
        let c = ctx(None);
        let r = resolve(&c, "openai/gpt-4o").unwrap();
        assert_eq!((r.provider.id, r.upstream_model.as_str()), (1, "gpt-4o"));
        let r = resolve(&c, "OPENAI/GPT-4o").unwrap();
        assert_eq!((r.provider.id, r.upstream_model.as_str()), (1, "GPT-4o"));
        let r = resolve(&c, "openrouter/meta-llama/llama-3-70b").unwrap();
        assert_eq!(
            (r.provider.id, r.upstream_model.as_str()),
            (3, "llama-3-70b")
        );
        let r = resolve(&c, "openrouter/anthropic/claude").unwrap();
        assert_eq!(
            (r.provider.id, r.upstream_model.as_str()),
            (2, "anthropic/claude")
        );
        let r = resolve(&c, "featherless.ai/x/y").unwrap();
        assert_eq!((r.provider.id, r.upstream_model.as_str()), (4, "x/y"));
    }

    #[test]
    fn mapping_applies_after_prefix_and_alone() {
        let c = ctx(None);
        assert_eq!(
            resolve(&c, "openai/fast").unwrap().upstream_model,
            "gpt-4o-mini"
        );
        let r = resolve(&c, "fast").unwrap();
        assert_eq!(
            (r.provider.id, r.upstream_model.as_str()),
            (1, "gpt-4o-mini")
        );
        let r = resolve(&c, "my-llama").unwrap();
        assert_eq!(
            (r.provider.id, r.upstream_model.as_str()),
            (4, "meta/llama-3")
        );
    }

    #[test]
    fn provider_priority_orders_shared_aliases() {
        let mut c = ctx(None);
        c.providers
            .push(provider(5, "groq", &[("fast", "llama-3.1-8b-instant")]));
        assert_eq!(resolve(&c, "fast").unwrap().provider.id, 1);
        let r = resolve_with(&c, "fast", &["groq".to_owned(), "openai".to_owned()]).unwrap();
        assert_eq!(
            (r.provider.id, r.upstream_model.as_str()),
            (5, "llama-3.1-8b-instant")
        );
    }

    #[test]
    fn unknown_models_are_not_found() {
        let c = ctx(None);
        assert!(matches!(
            resolve(&c, "gpt-4o"),
            Err(Error::ModelNotFound { .. })
        ));
        assert!(matches!(
            resolve(&c, "groq/llama3"),
            Err(Error::ModelNotFound { .. })
        ));
        assert!(matches!(
            resolve(&c, "openai"),
            Err(Error::ModelNotFound { .. })
        ));
        assert!(matches!(resolve(&c, ""), Err(Error::InvalidRequest { .. })));
        assert!(matches!(
            resolve(&c, "openai/"),
            Err(Error::InvalidRequest { .. })
        ));
    }

    #[test]
    fn scope_is_enforced_after_resolution() {
        let c = ctx(Some(vec![2]));
        assert!(matches!(
            resolve(&c, "openai/gpt-4o"),
            Err(Error::PermissionDenied(_))
        ));
        assert!(matches!(
            resolve(&c, "fast"),
            Err(Error::PermissionDenied(_))
        ));
        assert_eq!(resolve(&c, "openrouter/x").unwrap().provider.id, 2);
        let nothing = ctx(Some(vec![]));
        assert!(matches!(
            resolve(&nothing, "openrouter/x"),
            Err(Error::PermissionDenied(_))
        ));
    }
}
