//! The adapter for a provider key (its family is in `family.rs`): sans-I/O, cheap to build per
//! request from the cached key. Everything a translated attempt needs goes through
//! [`ProviderAdapter`]; the enum stays so a client dialect that passes its body through can
//! reach its own family's concrete adapter.

use forge_core::Error;
use forge_core::adapter::ProviderAdapter;
use forge_provider_anthropic::AnthropicAdapter;
use forge_provider_cohere::CohereAdapter;
use forge_provider_gemini::GeminiAdapter;
use forge_provider_openai::OpenAiAdapter;
use forge_provider_openai::providers::ProviderKind;

use forge_router::config::ProviderKind as ConfigKind;
use forge_router::table::Deployment;

use crate::auth::key_cache::ResolvedProvider;
use crate::proxy::family::ProviderFamily;

/// A provider key's adapter, ready to build requests and parse answers.
pub enum Upstream {
    OpenAi(OpenAiAdapter),
    Anthropic(AnthropicAdapter),
    Gemini(GeminiAdapter),
    Cohere(CohereAdapter),
}

impl Upstream {
    pub fn for_provider(p: &ResolvedProvider) -> Result<Self, Error> {
        let base = p.base_url.as_deref();
        Ok(match &p.family {
            ProviderFamily::OpenAi(info) => Upstream::OpenAi(
                OpenAiAdapter::new(info, base, &p.api_key)?
                    .with_api_version(p.config.get("api_version").map(String::as_str))
                    .with_responses_mode(p.config.get("responses").map(String::as_str)),
            ),
            ProviderFamily::Anthropic => {
                Upstream::Anthropic(AnthropicAdapter::new(base, &p.api_key, None))
            }
            ProviderFamily::Gemini => Upstream::Gemini(GeminiAdapter::new(base, &p.api_key)),
            ProviderFamily::Cohere => Upstream::Cohere(CohereAdapter::new(base, &p.api_key)),
        })
    }

    /// The adapter for a forge.toml deployment; its kind is declared, not guessed from the name.
    pub fn for_deployment(d: &Deployment) -> Result<Self, Error> {
        let base = Some(d.base_url.as_str());
        let key = d.api_key.expose();
        Ok(match d.kind {
            ConfigKind::OpenaiCompatible | ConfigKind::Azure => {
                let mut info = forge_provider_openai::lookup(&d.provider);
                info.kind = if d.kind == ConfigKind::Azure {
                    ProviderKind::Azure
                } else {
                    ProviderKind::OpenAiCompatible
                };
                // Azure OpenAI serves the Responses API whatever the provider is named.
                info.responses_native |= d.kind == ConfigKind::Azure;
                Upstream::OpenAi(
                    OpenAiAdapter::new(&info, base, key)?
                        .with_api_version(d.api_version.as_deref())
                        .with_responses_mode(d.responses.map(|m| m.as_str())),
                )
            }
            ConfigKind::Anthropic => Upstream::Anthropic(AnthropicAdapter::new(base, key, None)),
            ConfigKind::Gemini => Upstream::Gemini(GeminiAdapter::new(base, key)),
            ConfigKind::Cohere => Upstream::Cohere(CohereAdapter::new(base, key)),
        })
    }

    /// The adapter behind the one trait every provider crate implements.
    pub fn adapter(&self) -> &dyn ProviderAdapter {
        match self {
            Upstream::OpenAi(a) => a,
            Upstream::Anthropic(a) => a,
            Upstream::Gemini(a) => a,
            Upstream::Cohere(a) => a,
        }
    }
}
