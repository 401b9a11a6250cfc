//! A histogram that records without a lock. prometheus-client's own `Histogram` takes a mutex
//! on every observation; the request path records several per request, so this one keeps one
//! atomic counter per bucket and the sum as whole nanoseconds, and lets the crate's encoder
//! write it out at scrape time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};

/// Upper bounds in seconds: 50 µs steps resolve Forge's own overhead (tens to hundreds of
/// microseconds); the long tail covers upstream times up to a long reasoning answer.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

#[derive(Debug, Clone)]
pub struct Timer(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    bounds: &'static [f64],
    /// One per bound, and the last for +Inf.
    counts: Box<[AtomicU64]>,
    sum_nanos: AtomicU64,
}

impl Default for Timer {
    fn default() -> Self {
        Timer::new(LATENCY_BUCKETS)
    }
}

impl Timer {
    pub fn new(bounds: &'static [f64]) -> Timer {
        Timer(Arc::new(Inner {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_nanos: AtomicU64::new(0),
        }))
    }

    pub fn observe(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let slot = self
            .0
            .bounds
            .iter()
            .position(|bound| secs <= *bound)
            .unwrap_or(self.0.bounds.len());
        if let Some(count) = self.0.counts.get(slot) {
            count.fetch_add(1, Relaxed);
        }
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.0.sum_nanos.fetch_add(nanos, Relaxed);
    }

    /// Count, sum in seconds, and per-bucket counts (not cumulative), as read now.
    pub fn read(&self) -> (u64, f64, Vec<(f64, u64)>) {
        let buckets: Vec<(f64, u64)> = self
            .0
            .bounds
            .iter()
            .copied()
            .chain(std::iter::once(f64::INFINITY))
            .zip(self.0.counts.iter().map(|c| c.load(Relaxed)))
            .collect();
        let count = buckets.iter().map(|(_, n)| n).sum();
        let sum = self.0.sum_nanos.load(Relaxed) as f64 / 1e9;
        (count, sum, buckets)
    }
}

impl TypedMetric for Timer {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for Timer {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let (count, sum, buckets) = self.read();
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_their_bucket_and_the_sum() {
        let t = Timer::default();
        t.observe(Duration::from_micros(30));
        t.observe(Duration::from_micros(80));
        t.observe(Duration::from_secs(1000));
        let (count, sum, buckets) = t.read();
        assert_eq!(count, 3);
        assert!((sum - 1000.00011).abs() < 1e-9);
        assert_eq!(buckets[0], (0.00005, 1));
        assert_eq!(buckets[1], (0.0001, 1));
        assert_eq!(buckets.last().copied(), Some((f64::INFINITY, 1)));
    }
}
