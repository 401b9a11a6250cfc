//! Logs leave the request path through a bounded queue (by count and by bytes held, since a
//! body may be large); one flusher redacts and writes them in batches. Unlike usage records,
//! logs are best effort: a full queue or an unreachable database drops them (counted), it
//! never slows a request down.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use forge_storage::{RequestLog, Store};
use tokio::sync::{mpsc, oneshot};

use crate::logs::pending::Pending;

/// Logs written per database round trip.
const BATCH: usize = 100;
/// The longest a log waits in memory before a flush.
pub const FLUSH_EVERY: Duration = Duration::from_millis(500);
const QUEUE: usize = 4096;
/// Body bytes the queue may hold; past that, new logs are dropped.
const QUEUE_BYTES: usize = 64 * 1024 * 1024;
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Default)]
pub struct LogStats {
    pub written: AtomicU64,
    pub dropped: AtomicU64,
}

pub struct LogSink {
    tx: mpsc::Sender<(Pending, usize)>,
    queued_bytes: Arc<AtomicUsize>,
    pub stats: Arc<LogStats>,
}

impl LogSink {
    /// Bytes of logs waiting to be written (a metric, read at scrape time).
    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The sink and the flusher that must be run (see [`LogFlusher::run`]).
    pub fn new(store: Store) -> (LogSink, LogFlusher) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        let stats = Arc::new(LogStats::default());
        let sink = LogSink {
            tx,
            queued_bytes: queued_bytes.clone(),
            stats: stats.clone(),
        };
        (
            sink,
            LogFlusher {
                rx,
                store,
                queued_bytes,
                stats,
            },
        )
    }

    /// Queues a log without waiting; drops it when the queue is full.
    pub fn push(&self, pending: Pending) {
        let weight = pending.weight();
        let held = self.queued_bytes.fetch_add(weight, Ordering::Relaxed);
        if held.saturating_add(weight) > QUEUE_BYTES || self.tx.try_send((pending, weight)).is_err()
        {
            self.queued_bytes.fetch_sub(weight, Ordering::Relaxed);
            self.dropped(1);
        }
    }

    fn dropped(&self, n: u64) {
        note_dropped(&self.stats, n);
    }
}

fn note_dropped(stats: &LogStats, n: u64) {
    let before = stats.dropped.fetch_add(n, Ordering::Relaxed);
    // Once per power of two: a burst of drops is one line, not thousands.
    if (before + n).is_power_of_two() || before == 0 {
        tracing::warn!(dropped = before + n, "request logs dropped");
    }
}

pub struct LogFlusher {
    rx: mpsc::Receiver<(Pending, usize)>,
    store: Store,
    queued_bytes: Arc<AtomicUsize>,
    stats: Arc<LogStats>,
}

impl LogFlusher {
    /// Writes batches until `stop` fires, then drains the queue and returns.
    pub async fn run(mut self, mut stop: oneshot::Receiver<()>) {
        let mut tick = tokio::time::interval(FLUSH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut batch: Vec<(Pending, usize)> = Vec::with_capacity(BATCH);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                received = self.rx.recv_many(&mut batch, BATCH) => {
                    if received == 0 {
                        break;
                    }
                    if batch.len() < BATCH {
                        continue;
                    }
                }
                _ = tick.tick() => {}
            }
            if !batch.is_empty() {
                self.write(std::mem::take(&mut batch)).await;
            }
        }
        self.rx.close();
        while let Some(item) = self.rx.recv().await {
            batch.push(item);
            if batch.len() >= BATCH {
                self.write(std::mem::take(&mut batch)).await;
            }
        }
        if !batch.is_empty() {
            self.write(batch).await;
        }
    }

    async fn write(&self, batch: Vec<(Pending, usize)>) {
        let n = batch.len() as u64;
        let weight: usize = batch.iter().map(|(_, w)| w).sum();
        // Redaction scans whole bodies: off the runtime's thread.
        let logs = tokio::task::spawn_blocking(move || {
            batch
                .into_iter()
                .map(|(pending, _)| pending.into_log())
                .collect::<Vec<RequestLog>>()
        })
        .await;
        self.queued_bytes.fetch_sub(weight, Ordering::Relaxed);
        let logs = match logs {
            Ok(logs) => logs,
            Err(e) => {
                tracing::error!(error = %e, "request log redaction failed");
                note_dropped(&self.stats, n);
                return;
            }
        };
        match tokio::time::timeout(WRITE_TIMEOUT, self.store.insert_request_logs(logs)).await {
            Ok(Ok(_)) => {
                self.stats.written.fetch_add(n, Ordering::Relaxed);
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, logs = n, "request logs not written");
                note_dropped(&self.stats, n);
            }
            Err(_) => {
                tracing::warn!(logs = n, "request logs not written: the database timed out");
                note_dropped(&self.stats, n);
            }
        }
    }
}
