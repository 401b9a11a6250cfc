//! The provider table of spec §6: default base URLs, kinds and static model lists.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// Spoken to with the OpenAI wire format.
    OpenAiCompatible,
    /// Azure OpenAI: deployment URLs, an `api-key` header and an `api-version` query.
    Azure,
    /// Needs a translating adapter Forge does not have yet.
    Unsupported,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderInfo {
    /// Lowercased.
    pub name: String,
    pub default_base_url: Option<&'static str>,
    pub kind: ProviderKind,
    /// Hosts whose `/models` is unusable: answered from this list instead.
    pub static_models: Option<&'static [&'static str]>,
    /// Appended to the base URL when missing (`/openai` for Gemini).
    pub url_suffix: Option<&'static str>,
    /// Serves the Responses API (`/responses`) itself; every other host gets Responses
    /// requests translated to chat completions.
    pub responses_native: bool,
}

/// Hosts that document a native `/responses` endpoint.
const RESPONSES_NATIVE: &[&str] = &["openai", "azure", "xai", "openrouter", "groq"];

const FIREWORKS_MODELS: &[&str] = &[
    "accounts/fireworks/models/llama-v3p1-8b-instruct",
    "accounts/fireworks/models/llama-v3p1-70b-instruct",
    "accounts/fireworks/models/llama-v3p1-405b-instruct",
    "accounts/fireworks/models/llama-v3p3-70b-instruct",
    "accounts/fireworks/models/llama4-maverick-instruct-basic",
    "accounts/fireworks/models/llama4-scout-instruct-basic",
    "accounts/fireworks/models/deepseek-v3",
    "accounts/fireworks/models/deepseek-r1",
    "accounts/fireworks/models/qwen2p5-72b-instruct",
    "accounts/fireworks/models/qwen2p5-coder-32b-instruct",
    "accounts/fireworks/models/qwen3-235b-a22b",
    "accounts/fireworks/models/qwq-32b",
    "accounts/fireworks/models/mixtral-8x22b-instruct",
];

const PERPLEXITY_MODELS: &[&str] = &[
    "sonar",
    "sonar-pro",
    "sonar-reasoning",
    "sonar-reasoning-pro",
    "sonar-deep-research",
];

const ALIBABA_MODELS: &[&str] = &[
    "qwen-max",
    "qwen-max-latest",
    "qwen-plus",
    "qwen-plus-latest",
    "qwen-turbo",
    "qwen-turbo-latest",
    "qwen2-72b-instruct",
    "qwen2.5-72b-instruct",
    "qwen2.5-32b-instruct",
    "qwen2.5-14b-instruct",
    "qwen2.5-7b-instruct",
    "qwen3-235b-a22b",
    "qwen3-32b",
    "qwen3-30b-a3b",
    "qwq-32b",
];

const ZHIPU_MODELS: &[&str] = &[
    "glm-4-plus",
    "glm-4-air",
    "glm-4-airx",
    "glm-4-long",
    "glm-4-flash",
    "glm-4-flashx",
    "glm-z1-air",
    "glm-z1-airx",
    "glm-z1-flash",
];

const ZAI_MODELS: &[&str] = &[
    "glm-4.5",
    "glm-4.5-air",
    "glm-4.5-x",
    "glm-4.5-airx",
    "glm-4.5-flash",
    "glm-4-32b-0414-128k",
];

/// (name, default base URL) of every plain OpenAI-compatible provider.
const OPENAI_COMPATIBLE: &[(&str, &str)] = &[
    ("openai", "https://api.openai.com/v1"),
    // Anthropic's OpenAI SDK compatibility endpoint, until a native adapter exists.
    ("anthropic", "https://api.anthropic.com/v1"),
    ("xai", "https://api.x.ai/v1"),
    ("openrouter", "https://openrouter.ai/api/v1"),
    ("together", "https://api.together.xyz/v1"),
    ("nebius", "https://api.studio.nebius.com/v1"),
    ("novita", "https://api.novita.ai/v3/openai"),
    ("nscale", "https://inference.api.nscale.com/v1"),
    ("hyperbolic", "https://api.hyperbolic.xyz/v1"),
    ("deepinfra", "https://api.deepinfra.com/v1/openai"),
    ("nvidia", "https://integrate.api.nvidia.com/v1"),
    ("deepseek", "https://api.deepseek.com"),
    ("maritaca", "https://chat.maritaca.ai/api"),
    ("featherless.ai", "https://api.featherless.ai/v1"),
    ("cerebras", "https://api.cerebras.ai/v1"),
    ("enfer", "https://api.enfer.ai/v1"),
    ("inference.net", "https://api.inference.net/v1"),
    ("kluster.ai", "https://api.kluster.ai/v1"),
    ("lambda", "https://api.lambda.ai/v1"),
    ("mancer", "https://neuro.mancer.tech/oai/v1"),
    ("redpill.ai", "https://api.redpill.ai/v1"),
    ("parasail", "https://api.parasail.io/v1"),
    ("nineteen.ai", "https://api.nineteen.ai/v1"),
    ("targon", "https://api.targon.com/v1"),
    ("groq", "https://api.groq.com/openai/v1"),
    ("sambanova", "https://api.sambanova.ai/v1"),
    ("mistral", "https://api.mistral.ai/v1"),
    ("siliconflow", "https://api.siliconflow.cn/v1"),
    ("moonshot", "https://api.moonshot.cn/v1"),
    ("hunyuan", "https://api.hunyuan.cloud.tencent.com/v1"),
    ("baichuan", "https://api.baichuan-ai.com/v1"),
    ("stepfun", "https://api.stepfun.com/v1"),
    ("01", "https://api.lingyiwanwu.com/v1"),
];

/// OpenAI-compatible providers whose model list is hard-coded.
const OPENAI_STATIC: &[(&str, &str, &[&str])] = &[
    (
        "fireworks",
        "https://api.fireworks.ai/inference/v1",
        FIREWORKS_MODELS,
    ),
    ("perplexity", "https://api.perplexity.ai", PERPLEXITY_MODELS),
    (
        "alibaba",
        "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
        ALIBABA_MODELS,
    ),
    (
        "zhipu",
        "https://open.bigmodel.cn/api/paas/v4",
        ZHIPU_MODELS,
    ),
    ("z.ai", "https://api.z.ai/api/paas/v4", ZAI_MODELS),
];

const GEMINI_BASE: &str = "https://generativelanguage.googleapis.com/v1beta";

/// Providers that need a translating adapter. (`mock` is the server's: it answers in the
/// process, through this crate's requests.)
const UNSUPPORTED: &[&str] = &["bedrock", "vertex", "cohere", "tensorblock"];

/// Looks a provider up by name, case-insensitively. Unknown names are OpenAI-compatible
/// hosts at the provider key's own base URL.
pub fn lookup(name: &str) -> ProviderInfo {
    let name = name.trim().to_lowercase();
    let mut info = ProviderInfo {
        name,
        default_base_url: None,
        kind: ProviderKind::OpenAiCompatible,
        static_models: None,
        url_suffix: None,
        responses_native: false,
    };
    let key = info.name.as_str();
    info.responses_native = RESPONSES_NATIVE.contains(&key);
    if let Some((_, url)) = OPENAI_COMPATIBLE.iter().find(|(n, _)| *n == key) {
        info.default_base_url = Some(url);
    } else if let Some((_, url, models)) = OPENAI_STATIC.iter().find(|(n, _, _)| *n == key) {
        info.default_base_url = Some(url);
        info.static_models = Some(models);
    } else if key == "gemini" {
        info.default_base_url = Some(GEMINI_BASE);
        info.url_suffix = Some("/openai");
    } else if key == "azure" {
        info.kind = ProviderKind::Azure;
    } else if UNSUPPORTED.contains(&key) {
        info.kind = ProviderKind::Unsupported;
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_providers() {
        let openai = lookup("OpenAI");
        assert_eq!(openai.name, "openai");
        assert_eq!(openai.default_base_url, Some("https://api.openai.com/v1"));
        assert_eq!(openai.kind, ProviderKind::OpenAiCompatible);
        assert_eq!(openai.static_models, None);
        assert_eq!(
            lookup("groq").default_base_url,
            Some("https://api.groq.com/openai/v1")
        );
        assert_eq!(
            lookup("anthropic").default_base_url,
            Some("https://api.anthropic.com/v1")
        );
        assert_eq!(
            lookup("deepseek").default_base_url,
            Some("https://api.deepseek.com")
        );
        assert_eq!(
            lookup("01").default_base_url,
            Some("https://api.lingyiwanwu.com/v1")
        );
    }

    #[test]
    fn gemini_has_suffix() {
        let g = lookup("Gemini");
        assert_eq!(g.default_base_url, Some(GEMINI_BASE));
        assert_eq!(g.url_suffix, Some("/openai"));
    }

    #[test]
    fn static_lists() {
        let perplexity = lookup("perplexity").static_models.unwrap_or_default();
        assert_eq!(perplexity.len(), 5);
        assert!(perplexity.contains(&"sonar-pro"));
        let fireworks = lookup("fireworks").static_models.unwrap_or_default();
        assert!(fireworks.len() >= 5);
        assert!(
            fireworks
                .iter()
                .all(|m| m.starts_with("accounts/fireworks/models/"))
        );
        assert!(
            lookup("alibaba")
                .static_models
                .unwrap_or_default()
                .contains(&"qwq-32b")
        );
        assert!(
            lookup("zhipu")
                .static_models
                .unwrap_or_default()
                .iter()
                .all(|m| m.starts_with("glm-"))
        );
        assert!(
            lookup("Z.AI")
                .static_models
                .unwrap_or_default()
                .contains(&"glm-4.5-air")
        );
    }

    #[test]
    fn unsupported_and_unknown() {
        assert_eq!(lookup("Azure").kind, ProviderKind::Azure);
        assert_eq!(
            lookup("azure").default_base_url,
            None,
            "Azure needs the resource URL"
        );
        for name in ["Bedrock", "vertex", "cohere", "tensorblock"] {
            assert_eq!(lookup(name).kind, ProviderKind::Unsupported, "{name}");
        }
        let custom = lookup("My-Local-LLM");
        assert_eq!(custom.name, "my-local-llm");
        assert_eq!(custom.kind, ProviderKind::OpenAiCompatible);
        assert_eq!(custom.default_base_url, None);
    }

    #[test]
    fn every_default_url_is_https_without_trailing_slash() {
        for (_, url) in OPENAI_COMPATIBLE {
            assert!(url.starts_with("https://") && !url.ends_with('/'), "{url}");
        }
        for (_, url, _) in OPENAI_STATIC {
            assert!(url.starts_with("https://") && !url.ends_with('/'), "{url}");
        }
    }
}
