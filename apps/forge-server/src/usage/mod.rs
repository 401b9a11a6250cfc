//! Usage accounting off the request path. Handlers hand finished records to [`UsageSink`]
//! (a bounded queue, never blocking); one flusher task writes them in batches, journals them
//! locally while the database is unreachable and replays the journal when it is back.
//!
//! Loss window: none for a killed process. Each record is written ahead to a local file
//! ([`wal`]) before the sink accepts it, and files left by a dead process are replayed at
//! start; a graceful shutdown drains the queue (to the database, else the journal). A power
//! cut can lose what the page cache held (the write-ahead file is not fsynced per record).

pub mod estimate;
pub mod journal;
pub mod meter;
pub mod pricing;
pub mod wal;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use forge_core::usage_record::UsageRecord;
use forge_storage::Store;
use std::sync::Mutex;

use tokio::sync::oneshot;

use crate::usage::journal::{Appended, Journal};
use crate::usage::wal::Wal;

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
    /// The write-ahead file generation the queued records were written to.
    wal_generation: u64,
}

pub struct UsageSink {
    pending: Arc<Mutex<Pending>>,
    journal: Arc<Journal>,
    wal: Arc<Wal>,
    pub stats: Arc<UsageStats>,
}

impl UsageSink {
    /// The sink and the flusher that must be run (see [`Flusher::run`]).
    pub fn new(store: Store, journal: Journal, wal: Wal) -> (UsageSink, Flusher) {
        let pending = Arc::new(Mutex::new(Pending {
            records: Vec::with_capacity(BATCH),
            closed: false,
            wal_generation: wal.generation(),
        }));
        let journal = Arc::new(journal);
        let wal = Arc::new(wal);
        let stats = Arc::new(UsageStats::default());
        let sink = UsageSink {
            pending: pending.clone(),
            journal: journal.clone(),
            wal: wal.clone(),
            stats: stats.clone(),
        };
        let flusher = Flusher {
            pending,
            store,
            journal,
            wal,
            stats,
        };
        (sink, flusher)
    }

    /// Records waiting for the flusher's next batch (a metric, read at scrape time).
    pub fn queued(&self) -> usize {
        lock(&self.pending).records.len()
    }

    /// Queues a settled record, written ahead first; a full or closed queue sends it to the
    /// journal instead.
    pub fn record(&self, record: UsageRecord) {
        loop {
            let generation = self.wal.append(&record);
            let mut pending = lock(&self.pending);
            if pending.closed || pending.records.len() >= QUEUE {
                break;
            }
            // The flusher rotated the file between the write and the lock: this record
            // belongs to the next batch, so it must be in the file that batch retires.
            if pending.wal_generation == generation {
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

/// Moves the records of write-ahead files left by dead processes into the journal (replayed
/// idempotently by the flusher), then deletes the files.
pub fn adopt_leftovers(dir: &std::path::Path, journal: &Journal) {
    let (records, files) = wal::leftovers(dir);
    if files.is_empty() {
        return;
    }
    if !records.is_empty() && journal.append(&records) != Appended::All {
        tracing::error!(
            records = records.len(),
            "usage write-ahead records could not be journaled; their files are kept"
        );
        return;
    }
    tracing::info!(
        records = records.len(),
        files = files.len(),
        "usage records of a stopped process recovered for replay"
    );
    for file in &files {
        Wal::retire(file);
    }
}

pub struct Flusher {
    pending: Arc<Mutex<Pending>>,
    store: Store,
    journal: Arc<Journal>,
    wal: Arc<Wal>,
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
        self.wal.close();
        if self.journal.pending() {
            self.replay().await;
        }
    }

    async fn flush(&self) {
        let (records, written_ahead) = {
            let mut pending = lock(&self.pending);
            let records = std::mem::take(&mut pending.records);
            let retired = if records.is_empty() {
                None
            } else {
                let retired = self.wal.rotate();
                pending.wal_generation = self.wal.generation();
                retired
            };
            (records, retired)
        };
        let mut safe = true;
        // Batches are moved out from the front in order. (Splitting the rest off the queue
        // per batch copied the whole remainder each time: quadratic in a backlog, measured as
        // the flusher's memcpy at 64 connections, and two copies of the queue in memory.)
        let mut records = records.into_iter();
        loop {
            let batch: Vec<UsageRecord> = records.by_ref().take(BATCH).collect();
            if batch.is_empty() {
                break;
            }
            // Moved, not cloned: the batch is shared with the journal should the write fail.
            safe &= self.write(Arc::from(batch)).await;
        }
        // Kept if the journal dropped records: the file is then their last copy.
        if let Some(path) = written_ahead.filter(|_| safe) {
            Wal::retire(&path);
        }
    }

    /// Writes a batch to the database, else to the journal; false if records were dropped.
    async fn write(&self, batch: Arc<[UsageRecord]>) -> bool {
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
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, records = n, "usage records journaled: database unavailable");
                match self.journal.append(&batch) {
                    Appended::All => {
                        self.stats.journaled.fetch_add(n, Ordering::Relaxed);
                        true
                    }
                    Appended::Dropped(d) => {
                        self.stats.dropped.fetch_add(d as u64, Ordering::Relaxed);
                        false
                    }
                }
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
