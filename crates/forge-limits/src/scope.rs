//! Who a limit applies to, with a string form that is stable across releases because it
//! names Redis keys that outlive a deploy.
//!
//! Names are percent-escaped (`%`, `:`, `{`, `}`, whitespace and controls) so a model called
//! `a:req` cannot alias another scope's key and a `{` in a name cannot hijack a Redis
//! Cluster hash tag placed in the key prefix.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// A Forge API key, by database id.
    ForgeKey(i64),
    /// A user, by database id.
    User(i64),
    /// A static key from `forge.toml`, by name.
    GatewayKey(String),
    /// A logical model, by name.
    Model(String),
    /// A deployment (an upstream model endpoint), by its stable id.
    Deployment(String),
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::ForgeKey(id) => write!(f, "key:{id}"),
            Scope::User(id) => write!(f, "user:{id}"),
            Scope::GatewayKey(name) => write!(f, "gkey:{}", escape(name)),
            Scope::Model(name) => write!(f, "model:{}", escape(name)),
            Scope::Deployment(name) => write!(f, "deployment:{}", escape(name)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeParseError(String);

impl fmt::Display for ScopeParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a limit scope: {:?}", self.0)
    }
}

impl std::error::Error for ScopeParseError {}

impl FromStr for Scope {
    type Err = ScopeParseError;

    fn from_str(s: &str) -> Result<Scope, ScopeParseError> {
        let err = || ScopeParseError(s.to_owned());
        let (kind, rest) = s.split_once(':').ok_or_else(err)?;
        let id = || rest.parse::<i64>().map_err(|_| err());
        let name = || unescape(rest).ok_or_else(err);
        match kind {
            "key" => Ok(Scope::ForgeKey(id()?)),
            "user" => Ok(Scope::User(id()?)),
            "gkey" => Ok(Scope::GatewayKey(name()?)),
            "model" => Ok(Scope::Model(name()?)),
            "deployment" => Ok(Scope::Deployment(name()?)),
            _ => Err(err()),
        }
    }
}

fn needs_escape(c: char) -> bool {
    matches!(c, '%' | ':' | '{' | '}') || c.is_whitespace() || c.is_control()
}

fn escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if needs_escape(c) {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn unescape(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn string_form_is_stable() {
        assert_eq!(Scope::ForgeKey(12).to_string(), "key:12");
        assert_eq!(Scope::User(-3).to_string(), "user:-3");
        assert_eq!(Scope::GatewayKey("ci".into()).to_string(), "gkey:ci");
        assert_eq!(Scope::Model("gpt-4o".into()).to_string(), "model:gpt-4o");
        assert_eq!(
            Scope::Deployment("azure/eu:gpt {x}".into()).to_string(),
            "deployment:azure/eu%3Agpt%20%7Bx%7D"
        );
    }

    #[test]
    fn round_trips_through_from_str() {
        for scope in [
            Scope::ForgeKey(i64::MAX),
            Scope::User(7),
            Scope::GatewayKey("100% of:it".into()),
            Scope::Model("claude-sonnet-4:req".into()),
            Scope::Deployment("é ünïcode\n".into()),
        ] {
            assert_eq!(scope.to_string().parse::<Scope>().unwrap(), scope);
        }
        for bad in ["", "key", "key:x", "team:1", "model:%zz", "model:%4"] {
            assert!(bad.parse::<Scope>().is_err(), "{bad}");
        }
    }
}
