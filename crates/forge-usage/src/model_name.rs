//! The spellings one model goes by: dated snapshots, `-latest` aliases, Gemini's `models/`
//! prefix, OpenRouter's `vendor/model`, Vertex's `@date`, Bedrock's `vendor.model-v1:0`.

/// The price-table family for a provider or vendor name, if it is one we know.
pub fn family_of(name: &str) -> Option<&'static str> {
    Some(match name.trim().to_ascii_lowercase().as_str() {
        "openai" | "azure" | "azure-openai" | "azure_openai" | "azureopenai" => "openai",
        "anthropic" | "claude" => "anthropic",
        "gemini" | "google" | "google-ai" | "vertex" | "vertex-ai" | "vertex_ai" | "vertexai" => {
            "gemini"
        }
        "deepseek" | "deepseek-ai" => "deepseek",
        "mistral" | "mistralai" | "mistral-ai" => "mistral",
        "groq" => "groq",
        _ => return None,
    })
}

/// Candidate names for `model`, most specific first, lowercased and without duplicates,
/// plus the family a vendor prefix names (`anthropic/claude-…` → `anthropic`).
pub fn variants(model: &str) -> (Vec<String>, Option<&'static str>) {
    let mut out: Vec<String> = Vec::new();
    let mut push = |name: &str| {
        if !name.is_empty() && !out.iter().any(|n| n == name) {
            out.push(name.to_owned());
        }
    };
    let lower = model.trim().to_ascii_lowercase();
    push(&lower);
    let name = lower.strip_prefix("models/").unwrap_or(&lower);
    push(name);
    let mut hint = None;
    let name = match name.split_once('/') {
        Some((vendor, _)) => {
            hint = family_of(vendor);
            name.rsplit('/').next().unwrap_or(name)
        }
        None => name,
    };
    let name = strip_bedrock(name, &mut hint);
    push(name);
    let mut bare = name;
    for _ in 0..2 {
        bare = strip_version_suffix(bare);
        push(bare);
    }
    // OpenRouter writes `claude-3.5-sonnet` and `claude-opus-4.1` for Anthropic's dashes.
    let dashed = dots_between_digits_to_dashes(name);
    if dashed != name {
        push(&dashed);
        push(strip_version_suffix(&dashed));
    }
    (out, hint)
}

/// `anthropic.claude-3-5-haiku-20241022-v1:0` or `us.anthropic.…` → `claude-3-5-haiku-20241022`.
fn strip_bedrock<'a>(name: &'a str, hint: &mut Option<&'static str>) -> &'a str {
    let Some(at) = name.find("anthropic.") else {
        return name;
    };
    *hint = Some("anthropic");
    let name = &name[at + "anthropic.".len()..];
    let name = name.split_once(':').map_or(name, |(head, _)| head);
    match name.rsplit_once("-v") {
        Some((head, v)) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => head,
        _ => name,
    }
}

/// Drops one trailing `-latest`, `@20241022`, `-20241022`, `-2024-08-06`, `-2411` or `-001`.
pub fn strip_version_suffix(name: &str) -> &str {
    if let Some(head) = name.strip_suffix("-latest") {
        return head;
    }
    if let Some((head, date)) = name.rsplit_once('@')
        && all_digits(date)
    {
        return head;
    }
    // `-YYYY-MM-DD`: the last three dash-separated groups are 4, 2 and 2 digits.
    let parts: Vec<&str> = name.rsplitn(4, '-').collect();
    if let [day, month, year, head] = parts[..]
        && year.len() == 4
        && month.len() == 2
        && day.len() == 2
        && [year, month, day].iter().all(|p| all_digits(p))
    {
        return head;
    }
    match name.rsplit_once('-') {
        Some((head, tail)) if matches!(tail.len(), 3 | 4 | 8) && all_digits(tail) => head,
        _ => name,
    }
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn dots_between_digits_to_dashes(name: &str) -> String {
    let bytes = name.as_bytes();
    name.char_indices()
        .map(|(i, c)| {
            let between_digits = c == '.'
                && i > 0
                && bytes[i - 1].is_ascii_digit()
                && bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
            if between_digits { '-' } else { c }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(model: &str) -> Vec<String> {
        variants(model).0
    }

    #[test]
    fn suffixes() {
        for (name, bare) in [
            ("gpt-4o-2024-08-06", "gpt-4o"),
            ("claude-3-5-haiku-20241022", "claude-3-5-haiku"),
            ("claude-sonnet-4@20250514", "claude-sonnet-4"),
            ("claude-3-7-sonnet-latest", "claude-3-7-sonnet"),
            ("mistral-large-2411", "mistral-large"),
            ("gemini-2.0-flash-001", "gemini-2.0-flash"),
            ("gpt-3.5-turbo-0125", "gpt-3.5-turbo"),
            ("gpt-4o", "gpt-4o"),
            ("o3", "o3"),
            ("gpt-oss-120b", "gpt-oss-120b"),
            ("llama-3.1-8b-instant", "llama-3.1-8b-instant"),
        ] {
            assert_eq!(strip_version_suffix(name), bare, "{name}");
        }
    }

    #[test]
    fn prefixes_and_hints() {
        assert_eq!(
            variants("openai/gpt-4o"),
            (
                vec!["openai/gpt-4o".into(), "gpt-4o".into()],
                Some("openai")
            )
        );
        assert!(names("models/gemini-2.5-pro").contains(&"gemini-2.5-pro".to_owned()));
        assert!(names("anthropic/claude-3.5-sonnet").contains(&"claude-3-5-sonnet".to_owned()));
        let (bedrock, hint) = variants("us.anthropic.claude-3-5-haiku-20241022-v1:0");
        assert!(bedrock.contains(&"claude-3-5-haiku".to_owned()));
        assert_eq!(hint, Some("anthropic"));
        assert_eq!(names("GPT-4o"), vec!["gpt-4o".to_owned()]);
    }

    #[test]
    fn families() {
        assert_eq!(family_of("Azure"), Some("openai"));
        assert_eq!(family_of("google"), Some("gemini"));
        assert_eq!(family_of("my-proxy"), None);
    }
}
