//! Where a client stands against its per-minute limits, for the `x-ratelimit-*` headers.

/// One dimension of one limit: the configured value, what is left, and how long until the
/// window holds no usage at all (OpenAI's "reset": back to the initial state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gauge {
    pub limit: u64,
    pub remaining: u64,
    pub reset_ms: u64,
}

/// Requests and tokens gauges; a dimension is `None` when no scope limits it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateSnapshot {
    pub requests: Option<Gauge>,
    pub tokens: Option<Gauge>,
}

impl RateSnapshot {
    /// Combines the snapshots of several scopes into the one a client should act on: per
    /// dimension, the gauge with the least remaining (ties: the later reset), because that
    /// is the limit the client hits first.
    pub fn tightest(self, other: RateSnapshot) -> RateSnapshot {
        RateSnapshot {
            requests: tighter(self.requests, other.requests),
            tokens: tighter(self.tokens, other.tokens),
        }
    }
}

fn tighter(a: Option<Gauge>, b: Option<Gauge>) -> Option<Gauge> {
    match (a, b) {
        (Some(a), Some(b)) => Some(
            if (b.remaining, std::cmp::Reverse(b.reset_ms))
                < (a.remaining, std::cmp::Reverse(a.reset_ms))
            {
                b
            } else {
                a
            },
        ),
        (a, None) => a,
        (None, b) => b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(limit: u64, remaining: u64, reset_ms: u64) -> Option<Gauge> {
        Some(Gauge {
            limit,
            remaining,
            reset_ms,
        })
    }

    #[test]
    fn tightest_prefers_least_remaining_then_later_reset() {
        let a = RateSnapshot {
            requests: g(100, 40, 1000),
            tokens: None,
        };
        let b = RateSnapshot {
            requests: g(10, 3, 500),
            tokens: g(1000, 900, 60_000),
        };
        let t = a.tightest(b);
        assert_eq!(t.requests, g(10, 3, 500));
        assert_eq!(t.tokens, g(1000, 900, 60_000));
        let c = RateSnapshot {
            requests: g(50, 3, 9000),
            tokens: None,
        };
        assert_eq!(t.tightest(c).requests, g(50, 3, 9000));
    }
}
