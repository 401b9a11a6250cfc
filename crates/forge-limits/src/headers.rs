//! OpenAI's `x-ratelimit-*` headers, so SDKs that back off on them work unchanged.
//!
//! OpenAI writes resets as Go durations (`1s`, `6m0s`, `20ms`, `1.5s`); clients parse that
//! grammar, so it is reproduced exactly, at millisecond precision.

use crate::rejection::Rejection;
use crate::snapshot::RateSnapshot;

pub const LIMIT_REQUESTS: &str = "x-ratelimit-limit-requests";
pub const REMAINING_REQUESTS: &str = "x-ratelimit-remaining-requests";
pub const RESET_REQUESTS: &str = "x-ratelimit-reset-requests";
pub const LIMIT_TOKENS: &str = "x-ratelimit-limit-tokens";
pub const REMAINING_TOKENS: &str = "x-ratelimit-remaining-tokens";
pub const RESET_TOKENS: &str = "x-ratelimit-reset-tokens";
pub const RETRY_AFTER: &str = "retry-after";

/// A duration in Go's `time.Duration` format, as OpenAI sends it.
pub fn format_duration(ms: u64) -> String {
    if ms == 0 {
        return "0s".to_owned();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let (h, m, s, frac) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    let secs = if frac == 0 {
        s.to_string()
    } else {
        format!("{s}.{frac:03}").trim_end_matches('0').to_owned()
    };
    match (h, m) {
        (0, 0) => format!("{secs}s"),
        (0, m) => format!("{m}m{secs}s"),
        (h, m) => format!("{h}h{m}m{secs}s"),
    }
}

/// Header name/value pairs for the dimensions the snapshot has.
pub fn rate_limit_headers(snapshot: &RateSnapshot) -> Vec<(&'static str, String)> {
    let mut out = Vec::with_capacity(6);
    if let Some(g) = snapshot.requests {
        out.push((LIMIT_REQUESTS, g.limit.to_string()));
        out.push((REMAINING_REQUESTS, g.remaining.to_string()));
        out.push((RESET_REQUESTS, format_duration(g.reset_ms)));
    }
    if let Some(g) = snapshot.tokens {
        out.push((LIMIT_TOKENS, g.limit.to_string()));
        out.push((REMAINING_TOKENS, g.remaining.to_string()));
        out.push((RESET_TOKENS, format_duration(g.reset_ms)));
    }
    out
}

/// Headers for a 429: the gauges plus `retry-after` in whole seconds (rounded up) when
/// waiting can help.
pub fn rejection_headers(rejection: &Rejection) -> Vec<(&'static str, String)> {
    let mut out = rate_limit_headers(&rejection.snapshot);
    if let Some(secs) = rejection.retry_after_secs() {
        out.push((RETRY_AFTER, secs.to_string()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rejection::LimitKind;
    use crate::snapshot::Gauge;
    use crate::spec::Scope;

    #[test]
    fn durations_match_go_formatting() {
        for (ms, want) in [
            (0, "0s"),
            (1, "1ms"),
            (20, "20ms"),
            (999, "999ms"),
            (1_000, "1s"),
            (1_500, "1.5s"),
            (1_050, "1.05s"),
            (1_001, "1.001s"),
            (59_999, "59.999s"),
            (60_000, "1m0s"),
            (360_000, "6m0s"),
            (90_500, "1m30.5s"),
            (3_600_000, "1h0m0s"),
            (86_400_000, "24h0m0s"),
            (3_723_400, "1h2m3.4s"),
        ] {
            assert_eq!(format_duration(ms), want, "{ms}");
        }
    }

    #[test]
    fn headers_for_both_dimensions_and_rejection() {
        let snapshot = RateSnapshot {
            requests: Some(Gauge {
                limit: 100,
                remaining: 0,
                reset_ms: 59_000,
            }),
            tokens: Some(Gauge {
                limit: 30_000,
                remaining: 29_000,
                reset_ms: 20,
            }),
        };
        let h = rate_limit_headers(&snapshot);
        assert_eq!(
            h,
            vec![
                (LIMIT_REQUESTS, "100".to_owned()),
                (REMAINING_REQUESTS, "0".to_owned()),
                (RESET_REQUESTS, "59s".to_owned()),
                (LIMIT_TOKENS, "30000".to_owned()),
                (REMAINING_TOKENS, "29000".to_owned()),
                (RESET_TOKENS, "20ms".to_owned()),
            ]
        );
        let r = Rejection {
            scope: Scope::User(1),
            kind: LimitKind::RequestsPerMinute,
            limit: 100,
            used: 100,
            requested: 1,
            retry_after_ms: Some(400),
            snapshot: Box::new(snapshot),
        };
        assert_eq!(
            rejection_headers(&r).last(),
            Some(&(RETRY_AFTER, "1".to_owned()))
        );
        let never = Rejection {
            retry_after_ms: None,
            snapshot: Box::default(),
            ..r
        };
        assert!(rejection_headers(&never).is_empty());
    }
}
