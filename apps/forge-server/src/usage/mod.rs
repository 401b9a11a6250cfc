//! Usage accounting off the request path. Handlers hand finished records to [`UsageSink`]
//! (a bounded queue, never blocking); one flusher task writes them in batches, journals them
//! locally while the database is unreachable and replays the journal when it is back.
//!
//! Loss window: a record lives only in memory between the end of its attempt and the next
//! flush (at most [`FLUSH_EVERY`], or [`BATCH`] records). A graceful shutdown drains the queue
//! (to the database, else the journal); `kill -9` loses at most that window.

pub mod estimate;
pub mod journal;
pub mod meter;
pub mod pricing;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use forge_core::usage_record::UsageRecord;
use forge_storage::Store;
use std::sync::Mutex;

use tokio::sync::oneshot;

use crate::usage::journal::{Appended, Journal};

/// Records written per database round trip.
pub const BATCH: usize = 500;
/// The longest a record waits in memory before a flush.
pub const FLUSH_EVERY: Duration = Duration::from_millis(500);
/// How often a pending journal is retried.
const REPLAY_EVERY: Duration = Duration::from_secs(2);
const QUEUE: usize = 100_000;
/// A write that takes longer is given up and journaled (an unreachable database otherwise
/// holds the flusher for the pool's whole connection timeout). Should it still commit,
/// the replay's ids keep it from counting twice.
const WRITE_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Default)]
pub struct UsageStats {
    pub written: AtomicU64,
    pub journaled: AtomicU64,
    pub dropped: AtomicU64,
    pub replayed: AtomicU64,
}

/// Records waiting for the flusher. A plain locked buffer rather than a channel: a channel
/// wakes the flusher's thread on every send (a syscall per request, measured at about a third
/// of the request path's CPU); the flusher collects on its own tick instead.
struct Pending {
    records: Vec<UsageRecord>,
    /// Set once the flusher drained for shutdown: later records go to the journal.
    closed: bool,
}

pub struct UsageSink {
    pending: Arc<Mutex<Pending>>,
    journal: Arc<Journal>,
    pub stats: Arc<UsageStats>,
}

impl UsageSink {
    /// The sink and the flusher that must be run (see [`Flusher::run`]).
    pub fn new(store: Store, journal: Journal) -> (UsageSink, Flusher) {
        let pending = Arc::new(Mutex::new(Pending {
            records: Vec::with_capacity(BATCH),
            closed: false,
        }));
        let journal = Arc::new(journal);
        let stats = Arc::new(UsageStats::default());
        let sink = UsageSink {
            pending: pending.clone(),
            journal: journal.clone(),
            stats: stats.clone(),
        };
        let flusher = Flusher {
            pending,
            store,
            journal,
            stats,
        };
        (sink, flusher)
    }

    /// Queues a settled record; a full or closed queue sends it to the journal instead.
    pub fn record(&self, record: UsageRecord) {
        {
            let mut pending = lock(&self.pending);
            if !pending.closed && pending.records.len() < QUEUE {
                pending.records.push(record);
                return;
            }
        }
        match self.journal.append(std::slice::from_ref(&record)) {
            Appended::All => self.stats.journaled.fetch_add(1, Ordering::Relaxed),
            Appended::Dropped(n) => self.stats.dropped.fetch_add(n as u64, Ordering::Relaxed),
        };
    }
}

fn lock(pending: &Mutex<Pending>) -> std::sync::MutexGuard<'_, Pending> {
    pending
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub struct Flusher {
    pending: Arc<Mutex<Pending>>,
    store: Store,
    journal: Arc<Journal>,
    stats: Arc<UsageStats>,
}

impl Flusher {
    /// Writes what accumulated on every tick until `stop` fires, then drains and returns.
    pub async fn run(self, mut stop: oneshot::Receiver<()>) {
        let mut tick = tokio::time::interval(FLUSH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut replay_at = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = &mut stop => break,
                _ = tick.tick() => {}
            }
            self.flush().await;
            if tokio::time::Instant::now() >= replay_at && self.journal.pending() {
                self.replay().await;
                replay_at = tokio::time::Instant::now() + REPLAY_EVERY;
            }
        }
        lock(&self.pending).closed = true;
        self.flush().await;
        if self.journal.pending() {
            self.replay().await;
        }
    }

    async fn flush(&self) {
        let mut records = std::mem::take(&mut lock(&self.pending).records);
        while !records.is_empty() {
            let rest = records.split_off(records.len().min(BATCH));
            // Moved, not cloned: the batch is shared with the journal should the write fail.
            self.write(Arc::from(records)).await;
            records = rest;
        }
    }

    async fn write(&self, batch: Arc<[UsageRecord]>) {
        let n = batch.len() as u64;
        let written = tokio::time::timeout(WRITE_TIMEOUT, self.store.insert_usage(batch.clone()))
            .await
            .unwrap_or_else(|_| {
                Err(forge_storage::StorageError::Database(
                    "usage write timed out".into(),
                ))
            });
        match written {
            Ok(_) => {
                self.stats.written.fetch_add(n, Ordering::Relaxed);
            }
            Err(e) => {
                tracing::warn!(error = %e, records = n, "usage records journaled: database unavailable");
                match self.journal.append(&batch) {
                    Appended::All => self.stats.journaled.fetch_add(n, Ordering::Relaxed),
                    Appended::Dropped(d) => {
                        self.stats.dropped.fetch_add(d as u64, Ordering::Relaxed)
                    }
                };
            }
        }
    }

    async fn replay(&self) {
        let Some(records) = self.journal.take_for_replay() else {
            return;
        };
        let total = records.len();
        for chunk in records.chunks(BATCH) {
            let written =
                tokio::time::timeout(WRITE_TIMEOUT, self.store.insert_usage(chunk.to_vec())).await;
            if !matches!(written, Ok(Ok(_))) {
                tracing::debug!("usage journal replay postponed: database unavailable");
                return;
            }
        }
        self.journal.replayed();
        self.stats
            .replayed
            .fetch_add(total as u64, Ordering::Relaxed);
        tracing::info!(records = total, "usage journal replayed");
    }
}
