//! Who is calling: JWT sessions for the admin API, Forge API keys for the proxy.

pub mod forge_key;
pub mod invalidation;
pub mod jwt;
pub mod key_cache;
pub mod last_used;

/// The credential of an `Authorization: Bearer ...` value; the scheme is compared without
/// regard to case (RFC 9110 §11.1), so `bearer` and `BEARER` work too.
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    #[test]
    fn bearer_schemes_ignore_case() {
        for value in ["Bearer k1", "bearer k1", "BEARER  k1 ", " Bearer k1"] {
            assert_eq!(super::bearer(value), Some("k1"), "{value}");
        }
        for value in ["Basic k1", "Bearer", "Bearer   ", "k1", "Bearerk1"] {
            assert_eq!(super::bearer(value), None, "{value}");
        }
    }
}
