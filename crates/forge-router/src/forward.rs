//! `[[forward]]`: a provider mounted under a route prefix, for clients that can change only
//! their base URL (`http://forge/ollama` for an Ollama client). A request to
//! `{prefix}/{path}` is the pass-through `/passthrough/{provider}/{path}`: same
//! authentication, limits, usage and logs.

use serde::Deserialize;

use crate::config_error::{ConfigIssue, issue};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardMount {
    /// `/name`: one path segment, outside Forge's own routes.
    pub prefix: String,
    /// The provider key (the caller's own, or a forge.toml provider) requests go to.
    pub provider: String,
}

/// First segments Forge serves itself.
const RESERVED: [&str; 11] = [
    "v1",
    "v1beta",
    "health",
    "docs",
    "redoc",
    "openapi.json",
    "metrics",
    "passthrough",
    "ui",
    "api",
    "static",
];

impl ForwardMount {
    /// The mount `path` falls under, and the rest of the path after the prefix.
    pub fn find<'a, 'p>(
        mounts: &'a [ForwardMount],
        path: &'p str,
    ) -> Option<(&'a ForwardMount, &'p str)> {
        mounts.iter().find_map(|mount| {
            let rest = path.strip_prefix(mount.prefix.as_str())?;
            (rest.is_empty() || rest.starts_with('/')).then_some((mount, rest))
        })
    }
}

pub(crate) fn validate(mounts: &[ForwardMount], issues: &mut Vec<ConfigIssue>) {
    let mut seen = std::collections::BTreeSet::new();
    for (i, mount) in mounts.iter().enumerate() {
        let at = format!("forward[{i}]");
        let name = mount.prefix.strip_prefix('/').unwrap_or_default();
        let well_formed = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !well_formed {
            issues.push(issue(
                format!("{at}.prefix"),
                "expected `/name` (one path segment of letters, digits, `-`, `_`, `.`)",
            ));
        } else if RESERVED.contains(&name) {
            issues.push(issue(
                format!("{at}.prefix"),
                format!("`/{name}` is one of Forge's own routes"),
            ));
        } else if !seen.insert(name) {
            issues.push(issue(
                format!("{at}.prefix"),
                format!("duplicate prefix `/{name}`"),
            ));
        }
        if mount.provider.trim().is_empty() {
            issues.push(issue(format!("{at}.provider"), "must name a provider"));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn mount(prefix: &str) -> ForwardMount {
        ForwardMount {
            prefix: prefix.to_owned(),
            provider: "ollama".to_owned(),
        }
    }

    #[test]
    fn prefixes_are_one_free_segment() {
        let mut issues = Vec::new();
        validate(
            &[
                mount("/ollama"),
                mount("ollama"),
                mount("/v1"),
                mount("/a/b"),
                mount("/ollama"),
            ],
            &mut issues,
        );
        let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "forward[1].prefix",
                "forward[2].prefix",
                "forward[3].prefix",
                "forward[4].prefix"
            ]
        );
    }

    #[test]
    fn a_path_falls_under_a_mount_at_a_segment_boundary() {
        let mounts = [mount("/ollama")];
        assert_eq!(
            ForwardMount::find(&mounts, "/ollama/api/chat").map(|(_, r)| r),
            Some("/api/chat")
        );
        assert_eq!(
            ForwardMount::find(&mounts, "/ollama").map(|(_, r)| r),
            Some("")
        );
        assert!(ForwardMount::find(&mounts, "/ollamax/api").is_none());
        assert!(ForwardMount::find(&mounts, "/other").is_none());
    }
}
