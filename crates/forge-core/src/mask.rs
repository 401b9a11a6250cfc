//! Masks for secrets shown back to users (spec §3.2, §3.3).

const FORGE_PREFIX: &str = "forge-";

/// `forge-` + 32 `*` + the stored display suffix (the key's last 4 chars).
pub fn mask_forge_key_suffix(suffix: &str) -> String {
    format!("{FORGE_PREFIX}{}{suffix}", "*".repeat(32))
}

/// The same mask computed from a full key.
pub fn mask_forge_key(key: &str) -> String {
    mask_forge_key_suffix(&last_chars(key, 4))
}

/// Masks a provider secret so that it is recognisable but useless; the result always
/// contains `****`, which marks "unchanged" when a client echoes it back.
pub fn mask_provider_secret(secret: &str) -> String {
    let len = secret.chars().count();
    if len < 12 {
        return "*".repeat(len.max(4));
    }
    let head: String = secret.chars().take(2).collect();
    format!("{head}{}{}", "*".repeat(len - 6), last_chars(secret, 4))
}

/// Whether a value sent back by a client is a mask rather than a real secret.
pub fn looks_masked(value: &str) -> bool {
    value.contains("****")
}

fn last_chars(s: &str, n: usize) -> String {
    let len = s.chars().count();
    s.chars().skip(len.saturating_sub(n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forge_key() {
        let key = "forge-0123456789abcdef0123456789abcdef9f3a";
        let masked = mask_forge_key(key);
        assert_eq!(masked, "forge-********************************9f3a");
        assert_eq!(masked, mask_forge_key_suffix("9f3a"));
        assert_eq!(masked.len(), 42);
    }

    #[test]
    fn provider_secret() {
        assert_eq!(mask_provider_secret(""), "****");
        assert_eq!(mask_provider_secret("ab"), "****");
        assert_eq!(mask_provider_secret("abcdefghijk"), "***********");
        assert_eq!(mask_provider_secret("sk-abcdefwxyz"), "sk*******wxyz");
        let long = "sk-proj-0123456789";
        let m = mask_provider_secret(long);
        assert_eq!(m.chars().count(), long.chars().count());
        assert!(m.starts_with("sk") && m.ends_with("6789"));
        for s in ["", "a", "abcdefghijkl", "ééééééééééééé", long] {
            assert!(looks_masked(&mask_provider_secret(s)), "{s}");
        }
        assert!(!looks_masked("sk-real"));
    }
}
