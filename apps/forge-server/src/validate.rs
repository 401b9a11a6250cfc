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

/// Whether an upstream may not be reached at `ip` (unless private upstreams are allowed):
/// loopback, private, link-local, shared, reserved, documentation, benchmarking, multicast and
/// unspecified ranges, for IPv6 too, and every IPv6 form that embeds an IPv4 address (mapped,
/// compatible, translated, NAT64, 6to4, Teredo) judged by that IPv4 address.
pub fn ip_is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_is_private(v4),
        IpAddr::V6(v6) => v6_is_private(v6) || embedded_v4(v6).iter().any(|v4| v4_is_private(*v4)),
    }
}

/// The IPv4 addresses an IPv6 address carries, by the transition mechanisms that route them.
fn embedded_v4(ip: Ipv6Addr) -> Vec<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let mut out = Vec::new();
    // ::a.b.c.d (compatible), ::ffff:a.b.c.d (mapped), ::ffff:0:a.b.c.d (translated)
    if s[..5] == [0; 5] && matches!(s[5], 0 | 0xffff)
        || s[..4] == [0; 4] && s[4] == 0xffff && s[5] == 0
    {
        out.push(low);
    }
    // 64:ff9b::/96 (NAT64 well-known); the local-use 64:ff9b:1::/48 is refused whole
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4] {
        out.push(low);
    }
    // 2002:AABB:CCDD::/48 (6to4)
    if s[0] == 0x2002 {
        out.push(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    // 2001:0:SERVER:..:CLIENT (Teredo): the server, and the client with its bits inverted
    if s[0] == 0x2001 && s[1] == 0 {
        out.push(Ipv4Addr::new(
            (s[2] >> 8) as u8,
            s[2] as u8,
            (s[3] >> 8) as u8,
            s[3] as u8,
        ));
        out.push(Ipv4Addr::from(!u32::from(low)));
    }
    out
}

fn v4_is_private(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0
        || a >= 240 // reserved
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 198 && b == 51 && c == 100) // documentation
        || (a == 203 && b == 0 && c == 113) // documentation
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
}

fn v6_is_private(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link local
        || (s[0] & 0xffc0) == 0xfec0 // site local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x3fff && s[1] & 0xf000 == 0) // documentation (3fff::/20)
        || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) // NAT64 local use: any network
        || (s[0] == 0x2001 && s[1] == 0x0002 && s[2] == 0) // benchmarking
        || (s[0] == 0x0100 && s[1..4] == [0; 3]) // discard-only
}

/// The IP address a URL names literally (`http://10.0.0.1/…`, `http://[::1]:8080/…`), which
/// the connector dials without asking the resolver; `None` for host names.
pub fn literal_ip(url: &str) -> Option<IpAddr> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = host.strip_prefix('[') {
        return v6.split(']').next()?.parse().ok();
    }
    let host = host.split(':').next().unwrap_or(host);
    if !host.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    // `url` normalises shorthand forms (`127.1`, `0x7f.1`) when a key is stored; parse the
    // dotted quad here.
    host.parse().ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
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
            // IPv6 forms that carry a private IPv4 address
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[64:ff9b::7f00:1]/",
            "http://[64:ff9b:1::a00:1]/",
            "http://[::a9fe:a9fe]/",
            "http://[::127.0.0.1]/",
            "http://[::ffff:0:a9fe:a9fe]/",
            "http://[2002:a9fe:a9fe::]/",
            "http://[2002:7f00:1::]/",
            "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", // Teredo, client 127.0.0.1
            "http://[2001:0:a9fe:a9fe::1]/",                  // Teredo, server 169.254.169.254
            // ranges that are not the public internet
            "http://[fec0::1]/",
            "http://[fc00::1]/",
            "http://[ff02::1]/",
            "http://[2001:db8::1]/",
            "http://[3fff::1]/",
            "http://[64:ff9b:1:7f00:0:100:808:808]/",
            "http://[2001:2::1]/",
            "http://192.0.2.1/",
            "http://198.51.100.7/",
            "http://203.0.113.9/",
            "http://198.18.0.1/",
            "http://240.0.0.1/",
            "http://224.0.0.1/",
            "http://127.1/",
            "http://0x7f.1/",
            "http://2130706433/",
        ] {
            assert!(base_url(bad, false).is_err(), "{bad} should be refused");
            assert!(
                base_url(bad, true).is_ok(),
                "{bad} should be allowed when private upstreams are"
            );
        }
        assert!(base_url("https://api.openai.com/v1", false).is_ok());
        assert!(base_url("https://[2606:4700::6810:85e5]/v1", false).is_ok());
        assert!(base_url("https://[2002:808:808::]/v1", false).is_ok()); // 6to4 of 8.8.8.8
        assert!(base_url("https://[64:ff9b::808:808]/v1", false).is_ok()); // NAT64 of 8.8.8.8
        assert!(base_url("https://8.8.8.8/v1", false).is_ok());
        assert!(base_url("ftp://example.com", true).is_err());
        assert!(base_url("not a url", true).is_err());
        assert!(base_url("https://user:pw@example.com", true).is_err());
    }

    #[test]
    fn literal_ips_in_urls() {
        let cases = [
            ("http://10.0.0.1/v1", Some("10.0.0.1")),
            ("https://[::1]:8443/v1", Some("::1")),
            ("http://127.0.0.1:9000", Some("127.0.0.1")),
            ("https://api.openai.com/v1", None),
            ("https://1password.example/v1", None),
            (
                "http://u@[64:ff9b::a9fe:a9fe]/x?y",
                Some("64:ff9b::a9fe:a9fe"),
            ),
        ];
        for (url, want) in cases {
            let want: Option<IpAddr> = want.map(|w| w.parse().unwrap());
            assert_eq!(literal_ip(url), want, "{url}");
        }
    }
}
