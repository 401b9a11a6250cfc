//! The local append-only journal that holds usage records while the database cannot take
//! them. One JSON record per line; a torn last line (a crash mid-write) is skipped on replay.
//! Replay renames the file first, so appends during a replay go to a fresh file, and record
//! ids make a replay that is interrupted and repeated insert nothing twice.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use forge_core::usage_record::UsageRecord;

pub struct Journal {
    path: PathBuf,
    replay_path: PathBuf,
    max_bytes: u64,
    /// Serialises appends (the flusher and the rare overflow path from request handlers).
    lock: Mutex<()>,
}

/// What an append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    All,
    /// The journal is full: this many records were dropped (and logged).
    Dropped(usize),
}

impl Journal {
    pub fn new(dir: &Path, max_bytes: u64) -> Journal {
        Journal {
            path: dir.join("usage-journal.jsonl"),
            replay_path: dir.join("usage-journal.replay.jsonl"),
            max_bytes,
            lock: Mutex::new(()),
        }
    }

    pub fn append(&self, records: &[UsageRecord]) -> Appended {
        let _guard = self
            .lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let size = fs::metadata(&self.path).map_or(0, |m| m.len())
            + fs::metadata(&self.replay_path).map_or(0, |m| m.len());
        let mut text = String::new();
        for record in records {
            if let Ok(line) = serde_json::to_string(record) {
                text.push_str(&line);
                text.push('\n');
            }
        }
        if size + text.len() as u64 > self.max_bytes {
            tracing::error!(
                dropped = records.len(),
                "usage journal full; usage records dropped"
            );
            return Appended::Dropped(records.len());
        }
        let written = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .and_then(|mut f| {
                f.write_all(text.as_bytes())?;
                f.sync_data()
            });
        match written {
            Ok(()) => Appended::All,
            Err(e) => {
                tracing::error!(error = %e, dropped = records.len(), "cannot write the usage journal");
                Appended::Dropped(records.len())
            }
        }
    }

    /// Whether anything waits for replay.
    pub fn pending(&self) -> bool {
        self.path.exists() || self.replay_path.exists()
    }

    /// Moves the journal aside for replay and reads it; `None` when there is nothing.
    pub fn take_for_replay(&self) -> Option<Vec<UsageRecord>> {
        let _guard = self
            .lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !self.replay_path.exists() && fs::rename(&self.path, &self.replay_path).is_err() {
            return None;
        }
        let file = File::open(&self.replay_path).ok()?;
        let mut records = Vec::new();
        for line in BufReader::new(file).lines() {
            let Ok(line) = line else { break };
            match serde_json::from_str::<UsageRecord>(&line) {
                Ok(record) => records.push(record),
                Err(_) if line.trim().is_empty() => {}
                Err(e) => tracing::warn!(error = %e, "skipping a torn usage journal line"),
            }
        }
        Some(records)
    }

    /// The replayed records are in the database: forget them.
    pub fn replayed(&self) {
        let _guard = self
            .lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Err(e) = fs::remove_file(&self.replay_path) {
            tracing::warn!(error = %e, "cannot remove the replayed usage journal");
        }
    }
}
