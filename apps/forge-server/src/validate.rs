//! Input checks shared by the admin routes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Email syntax in the spirit of python's email-validator (which Forge v1 uses): a dotted,
/// public-looking domain is required, so `a@localhost` is refused.
pub fn email(value: &str) -> Result<(), String> {
    let err = |why: &str| Err(format!("value is not a valid email address: {why}"));
    let Some((local, domain)) = value.rsplit_once('@') else {
        return err("An email address must have an @-sign.");
    };
    if local.is_empty() || local.len() > 64 {
        return err("The part before the @-sign is empty or too long.");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return err("The part before the @-sign has misplaced periods.");
    }
    if !local
        .chars()
        .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c))
    {
        return err("The part before the @-sign contains invalid characters.");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if domain.len() > 253 || labels.len() < 2 {
        return err("The part after the @-sign is not valid. It should have a period.");
    }
    for label in &labels {
        if label.is_empty()
            || label.len() > 63
            || label.starts_with('-')
            || label.ends_with('-')
            || !label.chars().all(|c| c.is_alphanumeric() || c == '-')
        {
            return err("The part after the @-sign is not valid.");
        }
    }
    let tld = labels.last().copied().unwrap_or_default();
    if tld.len() < 2 || tld.chars().all(|c| c.is_ascii_digit()) {
        return err("The part after the @-sign is not valid.");
    }
    Ok(())
}

/// A provider `base_url` from the API: http(s) only, and no loopback, private, link-local or
/// metadata address unless the operator allowed private upstreams. Host names are checked by
/// name only (no DNS lookup at creation time).
pub fn base_url(value: &str, allow_private: bool) -> Result<(), String> {
    let url = url::Url::parse(value).map_err(|e| format!("base_url is not a valid URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("base_url must use http or https".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("base_url must not contain credentials; store the key as api_key".into());
    }
    let private = match url.host() {
        None => return Err("base_url has no host".into()),
        Some(url::Host::Ipv4(ip)) => ip_is_private(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => ip_is_private(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost"
                || name.ends_with(".localhost")
                || name.ends_with(".internal")
                || name.ends_with(".local")
                || name == "metadata"
        }
    };
    if private && !allow_private {
        return Err(
            "base_url points to a loopback, private, link-local or metadata address; \
                    the operator must allow private upstreams (FORGE_ALLOW_PRIVATE_UPSTREAMS=true)"
                .into(),
        );
    }
    Ok(())
}

pub fn ip_is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_is_private(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return v4_is_private(v4);
            }
            v6_is_private(v6)
        }
    }
}

fn v4_is_private(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
}

fn v6_is_private(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link local
        || (first & 0xffc0) == 0xfec0 // site local (deprecated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(email("alice@example.com").is_ok());
        assert!(email("a.b+tag@sub.example.org").is_ok());
        for bad in [
            "",
            "alice",
            "a@localhost",
            "@example.com",
            "a@b",
            "a@.com",
            "a..b@x.com",
            "a b@x.com",
            "a@x.1",
        ] {
            assert!(email(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn private_upstreams_are_refused_unless_allowed() {
        for bad in [
            "http://127.0.0.1:8080/v1",
            "http://localhost/v1",
            "http://10.1.2.3/v1",
            "http://192.168.1.1",
            "http://172.16.0.1",
            "http://169.254.169.254/latest",
            "http://[::1]:80/",
            "http://[fd00::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://metadata.google.internal/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
        ] {
            assert!(base_url(bad, false).is_err(), "{bad} should be refused");
            assert!(
                base_url(bad, true).is_ok(),
                "{bad} should be allowed when private upstreams are"
            );
        }
        assert!(base_url("https://api.openai.com/v1", false).is_ok());
        assert!(base_url("https://8.8.8.8/v1", false).is_ok());
        assert!(base_url("ftp://example.com", true).is_err());
        assert!(base_url("not a url", true).is_err());
        assert!(base_url("https://user:pw@example.com", true).is_err());
    }
}
