//! Per-minute request and token counting: a sliding 60 s window of 1 s sub-buckets.
//!
//! Why not GCRA / a token bucket for requests: a bucket that starts full admits N at once and
//! then refills at N/min, so from a cold start it lets ~2N through in the first minute. The
//! deployment scope mirrors a provider's own per-minute quota, and admitting 2N there turns
//! straight into upstream 429s. A window that sums the last 60 one-second buckets admits at
//! most N in any 60 s span (to within the 1 s bucket edge), exactly N from a cold burst, and
//! uses the same structure for tokens, which must be adjustable after the fact (settle,
//! streaming) — something a GCRA timestamp cannot express. Sixty integer buckets per scope is
//! also what the Redis scripts store (one hash field per bucket), so both backends agree.
//!
//! A bucket `b` covers `[b * 1 s, (b + 1) * 1 s)` and counts while `b + 60 > now_bucket`,
//! i.e. it stops counting at `(b + 60) * 1 s`. That instant is both the `retry_after` when
//! the oldest usage must go and, for the newest bucket, the `reset` of the headers.

use crate::snapshot::{Gauge, RateSnapshot};
use crate::spec::LimitSpec;

pub const BUCKET_MS: u64 = 1_000;
pub const BUCKETS: u64 = 60;
pub const WINDOW_MS: u64 = BUCKET_MS * BUCKETS;

/// Which per-minute dimension refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Requests,
    Tokens,
}

/// A refusal from one window. `retry_after_ms` is `None` when the request can never fit
/// (it alone exceeds the limit, or the limit is 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Denied {
    pub dimension: Dimension,
    pub limit: u64,
    pub used: u64,
    pub requested: u64,
    pub retry_after_ms: Option<u64>,
}

/// `used` may take `need` more without reaching past `limit`; a window already at (or, after
/// streaming, over) its limit admits nothing, not even a zero-token estimate.
pub(crate) fn fits(used: u64, need: u64, limit: u64) -> bool {
    used < limit && used.saturating_add(need) <= limit
}

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    bucket: u64,
    requests: u64,
    tokens: u64,
}

/// The last minute of one scope. Not thread-safe by itself: the local limiter holds it under
/// its lock.
#[derive(Debug, Clone)]
pub struct Window {
    slots: [Slot; BUCKETS as usize],
}

impl Default for Window {
    fn default() -> Self {
        Window {
            slots: [Slot::default(); BUCKETS as usize],
        }
    }
}

fn bucket_of(now_ms: u64) -> u64 {
    now_ms / BUCKET_MS
}

fn expiry_ms(bucket: u64) -> u64 {
    (bucket + BUCKETS).saturating_mul(BUCKET_MS)
}

impl Window {
    pub fn new() -> Window {
        Window::default()
    }

    /// Live buckets (oldest first) with a non-zero count in `dim`.
    fn live(&self, now_ms: u64, dim: Dimension) -> Vec<(u64, u64)> {
        let nb = bucket_of(now_ms);
        let mut live: Vec<(u64, u64)> = self
            .slots
            .iter()
            .filter(|s| s.bucket + BUCKETS > nb)
            .map(|s| {
                let n = match dim {
                    Dimension::Requests => s.requests,
                    Dimension::Tokens => s.tokens,
                };
                (s.bucket, n)
            })
            .filter(|&(_, n)| n > 0)
            .collect();
        live.sort_unstable();
        live
    }

    /// Requests and tokens counted in the window at `now_ms`.
    pub fn used(&self, now_ms: u64) -> (u64, u64) {
        let sum = |dim| {
            self.live(now_ms, dim)
                .iter()
                .map(|&(_, n)| n)
                .fold(0u64, u64::saturating_add)
        };
        (sum(Dimension::Requests), sum(Dimension::Tokens))
    }

    /// Whether `requests` and `tokens` more fit under `limits`, without counting them.
    /// Requests are checked before tokens, as in the Lua script.
    pub fn check(
        &self,
        now_ms: u64,
        limits: &LimitSpec,
        requests: u64,
        tokens: u64,
    ) -> Result<(), Denied> {
        for (dim, limit, need) in [
            (Dimension::Requests, limits.rpm, requests),
            (Dimension::Tokens, limits.tpm, tokens),
        ] {
            let Some(limit) = limit else { continue };
            let live = self.live(now_ms, dim);
            let used = live.iter().map(|&(_, n)| n).fold(0u64, u64::saturating_add);
            if !fits(used, need, limit) {
                return Err(Denied {
                    dimension: dim,
                    limit,
                    used,
                    requested: need,
                    retry_after_ms: retry_after(&live, used, need, limit, now_ms),
                });
            }
        }
        Ok(())
    }

    /// Counts `requests` and `tokens` in the current bucket, unconditionally.
    pub fn commit(&mut self, now_ms: u64, requests: u64, tokens: u64) {
        let slot = self.slot_for(now_ms);
        slot.requests = slot.requests.saturating_add(requests);
        slot.tokens = slot.tokens.saturating_add(tokens);
    }

    /// Check, then commit: the single-scope form of admission.
    pub fn try_acquire(
        &mut self,
        now_ms: u64,
        limits: &LimitSpec,
        requests: u64,
        tokens: u64,
    ) -> Result<RateSnapshot, Denied> {
        self.check(now_ms, limits, requests, tokens)?;
        self.commit(now_ms, requests, tokens);
        Ok(self.snapshot(now_ms, limits))
    }

    /// Tokens that arrived after admission (streamed output, or a settle above the estimate).
    pub fn add_tokens(&mut self, now_ms: u64, n: u64) {
        if n > 0 {
            self.commit(now_ms, 0, n);
        }
    }

    /// Takes back up to `n` tokens reserved at `reserved_at_ms`, if that bucket still counts.
    /// Returning them to the bucket they were taken from keeps the window's shape honest:
    /// tokens that were never used must not delay anyone's retry.
    pub fn release_tokens(&mut self, now_ms: u64, reserved_at_ms: u64, n: u64) {
        let b = bucket_of(reserved_at_ms);
        if b + BUCKETS <= bucket_of(now_ms) {
            return;
        }
        let slot = &mut self.slots[(b % BUCKETS) as usize];
        if slot.bucket == b {
            slot.tokens = slot.tokens.saturating_sub(n);
        }
    }

    /// Gauges for the dimensions `limits` configures.
    pub fn snapshot(&self, now_ms: u64, limits: &LimitSpec) -> RateSnapshot {
        let gauge = |dim, limit: Option<u64>| {
            let limit = limit?;
            let live = self.live(now_ms, dim);
            let used = live.iter().map(|&(_, n)| n).fold(0u64, u64::saturating_add);
            let reset_ms = live
                .last()
                .map_or(0, |&(b, _)| expiry_ms(b).saturating_sub(now_ms));
            Some(Gauge {
                limit,
                remaining: limit.saturating_sub(used),
                reset_ms,
            })
        };
        RateSnapshot {
            requests: gauge(Dimension::Requests, limits.rpm),
            tokens: gauge(Dimension::Tokens, limits.tpm),
        }
    }

    /// Nothing counts any more: the window can be dropped.
    pub fn is_idle(&self, now_ms: u64) -> bool {
        self.used(now_ms) == (0, 0)
    }

    fn slot_for(&mut self, now_ms: u64) -> &mut Slot {
        let nb = bucket_of(now_ms);
        let slot = &mut self.slots[(nb % BUCKETS) as usize];
        // A slot holding a later bucket means the clock stepped back a minute or more; keep
        // counting into it rather than forget usage.
        if slot.bucket < nb {
            *slot = Slot {
                bucket: nb,
                requests: 0,
                tokens: 0,
            };
        }
        slot
    }
}

/// How long until enough of the oldest usage expires for `need` to fit.
pub(crate) fn retry_after(
    live: &[(u64, u64)],
    used: u64,
    need: u64,
    limit: u64,
    now_ms: u64,
) -> Option<u64> {
    if limit == 0 || need > limit {
        return None;
    }
    let mut left = used;
    for &(bucket, n) in live {
        left = left.saturating_sub(n);
        if fits(left, need, limit) {
            return Some(expiry_ms(bucket).saturating_sub(now_ms));
        }
    }
    Some(0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const T0: u64 = 1_750_000_000_000;

    fn rpm(n: u64) -> LimitSpec {
        LimitSpec {
            rpm: Some(n),
            ..LimitSpec::default()
        }
    }

    fn tpm(n: u64) -> LimitSpec {
        LimitSpec {
            tpm: Some(n),
            ..LimitSpec::default()
        }
    }

    #[test]
    fn rpm_100_admits_exactly_100_of_a_cold_burst_of_1000() {
        let mut w = Window::new();
        let admitted = (0..1000)
            .filter(|_| w.try_acquire(T0, &rpm(100), 1, 0).is_ok())
            .count();
        assert_eq!(admitted, 100);
    }

    #[test]
    fn never_more_than_n_in_any_minute_under_steady_pressure() {
        let mut w = Window::new();
        let mut admitted_at = Vec::new();
        // A request every 100 ms for five minutes against 60 rpm.
        for i in 0..3000u64 {
            let now = T0 + i * 100;
            if w.try_acquire(now, &rpm(60), 1, 0).is_ok() {
                admitted_at.push(now);
            }
        }
        for (i, &start) in admitted_at.iter().enumerate() {
            let in_window = admitted_at[i..]
                .iter()
                .take_while(|&&t| t < start + WINDOW_MS - BUCKET_MS)
                .count();
            assert!(in_window <= 60, "{in_window} within a minute of {start}");
        }
        assert_eq!(admitted_at.len(), 300);
    }

    #[test]
    fn denial_reports_when_the_oldest_usage_expires() {
        let mut w = Window::new();
        for i in 0..3 {
            w.try_acquire(T0 + i * 10_000, &rpm(3), 1, 0).unwrap();
        }
        let now = T0 + 30_500;
        let denied = w.try_acquire(now, &rpm(3), 1, 0).unwrap_err();
        assert_eq!(denied.dimension, Dimension::Requests);
        assert_eq!((denied.limit, denied.used, denied.requested), (3, 3, 1));
        // T0 is a whole second, so its bucket stops counting at T0 + 60 s.
        assert_eq!(denied.retry_after_ms, Some(T0 + 60_000 - now));
        assert!(w.try_acquire(T0 + 59_999, &rpm(3), 1, 0).is_err());
        assert!(w.try_acquire(T0 + 60_000, &rpm(3), 1, 0).is_ok());
    }

    #[test]
    fn tokens_denial_waits_for_enough_capacity_or_never() {
        let mut w = Window::new();
        w.try_acquire(T0, &tpm(1000), 0, 600).unwrap();
        w.try_acquire(T0 + 5_000, &tpm(1000), 0, 300).unwrap();
        let d = w.try_acquire(T0 + 6_000, &tpm(1000), 0, 500).unwrap_err();
        assert_eq!(d.dimension, Dimension::Tokens);
        assert_eq!(d.retry_after_ms, Some(54_000));
        let d = w.try_acquire(T0 + 6_000, &tpm(1000), 0, 1001).unwrap_err();
        assert_eq!(d.retry_after_ms, None);
        let d = w.try_acquire(
            T0,
            &LimitSpec {
                rpm: Some(0),
                ..LimitSpec::default()
            },
            1,
            0,
        );
        assert_eq!(d.unwrap_err().retry_after_ms, None);
    }

    #[test]
    fn a_full_window_refuses_even_a_zero_estimate() {
        let mut w = Window::new();
        w.try_acquire(T0, &tpm(100), 0, 100).unwrap();
        assert!(w.try_acquire(T0, &tpm(100), 0, 0).is_err());
        w.add_tokens(T0 + 1_000, 50); // streaming overshoot
        assert_eq!(w.used(T0 + 1_000), (0, 150));
    }

    #[test]
    fn release_returns_tokens_to_their_bucket_only_while_it_counts() {
        let mut w = Window::new();
        w.commit(T0, 0, 500);
        w.release_tokens(T0 + 2_000, T0, 200);
        assert_eq!(w.used(T0 + 2_000).1, 300);
        w.release_tokens(T0 + 2_000, T0, 1_000);
        assert_eq!(w.used(T0 + 2_000).1, 0);
        w.commit(T0, 0, 500);
        w.release_tokens(T0 + 60_000, T0, 500); // already expired: no effect
        assert!(w.is_idle(T0 + 60_000));
    }

    #[test]
    fn snapshot_gauges_limit_remaining_and_reset() {
        let mut w = Window::new();
        let spec = LimitSpec {
            rpm: Some(10),
            tpm: Some(1000),
            concurrency: None,
        };
        w.try_acquire(T0 + 250, &spec, 1, 100).unwrap();
        let s = w.try_acquire(T0 + 20_000, &spec, 1, 0).unwrap();
        let r = s.requests.unwrap();
        assert_eq!((r.limit, r.remaining, r.reset_ms), (10, 8, 60_000));
        let t = s.tokens.unwrap();
        assert_eq!((t.limit, t.remaining, t.reset_ms), (1000, 900, 40_000));
        let idle = Window::new().snapshot(T0, &spec);
        assert_eq!(idle.requests.unwrap().reset_ms, 0);
        assert_eq!(
            w.snapshot(T0, &LimitSpec::default()),
            RateSnapshot::default()
        );
    }

    #[test]
    fn clock_stepping_back_keeps_counting() {
        let mut w = Window::new();
        w.commit(T0 + 120_000, 1, 0);
        w.commit(T0, 1, 0); // same slot index, earlier bucket
        assert_eq!(w.used(T0).0, 2);
    }
}
