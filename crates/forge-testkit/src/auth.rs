//! `Authorization: Bearer <key>` checked the way OpenAI does, including its masked message.

use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;

use crate::openai_error::OpenAiError;

pub(crate) fn check(req: &HttpRequest, expected: &str) -> Result<(), OpenAiError> {
    let Some(value) = req.headers().get(AUTHORIZATION) else {
        return Err(missing());
    };
    let value = String::from_utf8_lossy(value.as_bytes());
    let key = match value.split_once(' ') {
        Some((scheme, key)) if scheme.eq_ignore_ascii_case("bearer") => key.trim(),
        _ => return Err(missing()),
    };
    if key.is_empty() {
        return Err(missing());
    }
    if !constant_time_eq(key.as_bytes(), expected.as_bytes()) {
        return Err(OpenAiError {
            status: 401,
            message: format!(
                "Incorrect API key provided: {}. You can find your API key at https://platform.openai.com/account/api-keys.",
                mask(key)
            ),
            kind: "invalid_request_error",
            param: None,
            code: Some("invalid_api_key"),
        });
    }
    Ok(())
}

fn missing() -> OpenAiError {
    OpenAiError {
        status: 401,
        message: "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.".to_owned(),
        kind: "invalid_request_error",
        param: None,
        code: None,
    }
}

/// `sk-****...abcd`: the first three and last four characters, as OpenAI shows them; short
/// keys are masked whole so the message never carries most of a secret.
pub(crate) fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() < 12 {
        return "*".repeat(chars.len());
    }
    let head: String = chars.iter().take(3).collect();
    let tail: String = chars.iter().skip(chars.len() - 4).collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn masks_keys() {
        assert_eq!(mask("sk-wrong-key-abcd"), "sk-**********abcd");
        assert_eq!(mask("short"), "*****");
    }

    #[test]
    fn compares_keys() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
