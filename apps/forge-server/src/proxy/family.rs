//! Which wire format a provider name speaks, and what a key of it needs. Apart from
//! `upstream` (the adapters) so that the key cache, which records each key's family, does not
//! depend on the adapters that are built from the cache's entries.

use std::collections::BTreeMap;

use forge_provider_openai::ProviderInfo;
use forge_provider_openai::providers::ProviderKind;

/// The kind of upstream a provider name selects.
#[derive(Debug, Clone)]
pub enum ProviderFamily {
    /// OpenAI and every OpenAI-compatible host (the table of the Forge v1 spec, §6).
    OpenAi(ProviderInfo),
    /// Anthropic's native Messages API.
    Anthropic,
    /// Google's native generateContent API.
    Gemini,
    /// Cohere's native v2 Chat API.
    Cohere,
}

impl ProviderFamily {
    /// `anthropic` and `gemini` are the native APIs; `gemini-openai` keeps Google's
    /// OpenAI-compatible endpoint; every other name is OpenAI-compatible.
    pub fn of(name_lower: &str) -> Self {
        match name_lower {
            "anthropic" => ProviderFamily::Anthropic,
            "gemini" => ProviderFamily::Gemini,
            "cohere" => ProviderFamily::Cohere,
            "gemini-openai" => ProviderFamily::OpenAi(forge_provider_openai::lookup("gemini")),
            // Built in: OpenAI-shaped answers computed in the process (`local.rs`).
            "mock" => {
                let mut info = forge_provider_openai::lookup("mock");
                info.default_base_url = Some(forge_provider_mock::BASE_URL);
                info.static_models = Some(forge_provider_mock::MODELS);
                ProviderFamily::OpenAi(info)
            }
            other => ProviderFamily::OpenAi(forge_provider_openai::lookup(other)),
        }
    }

    /// Why a key of this provider cannot be created, if it cannot.
    pub fn check(
        &self,
        base_url: Option<&str>,
        config: Option<&BTreeMap<String, String>>,
    ) -> Result<(), &'static str> {
        match self {
            ProviderFamily::OpenAi(info) => {
                if matches!(info.kind, ProviderKind::Unsupported) {
                    return Err("this provider kind is not supported by this server yet");
                }
                let api_version = config.and_then(|c| c.get("api_version")).map(|v| v.trim());
                if info.kind == ProviderKind::Azure && api_version.is_none_or(str::is_empty) {
                    return Err("Azure OpenAI needs config {\"api_version\": \"...\"}");
                }
                if info.default_base_url.is_none() && base_url.is_none() {
                    return Err(
                        "a base_url is required for a provider Forge has no default URL for",
                    );
                }
                Ok(())
            }
            ProviderFamily::Anthropic | ProviderFamily::Gemini | ProviderFamily::Cohere => Ok(()),
        }
    }

    pub fn static_models(&self) -> Option<&'static [&'static str]> {
        match self {
            ProviderFamily::OpenAi(info) => info.static_models,
            _ => None,
        }
    }
}
