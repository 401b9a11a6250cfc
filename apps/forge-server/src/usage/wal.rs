//! Settled records written ahead to a local file, so that a killed process loses none.
//!
//! Each record is appended (one `write`, no fsync) before the sink accepts it: data written
//! into the page cache survives `kill -9` of the process (not a power cut, which the batch
//! journal's fsync covers for an unreachable database). When the flusher takes a batch it
//! rotates to a fresh file under the sink's lock, and deletes the old one once the batch is in
//! the database or the journal. At start, files left by a dead process are moved into the
//! journal, whose replay is idempotent by record id: a record both in the database and in a
//! leftover file is counted once.
//!
//! Files are `usage-wal-<pid>-<generation>.jsonl`: several instances may share a data
//! directory, and only files of processes that no longer run are taken over.

use std::cell::RefCell;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;
use forge_core::usage_record::UsageRecord;

const PREFIX: &str = "usage-wal-";

pub struct Wal {
    dir: PathBuf,
    pid: u32,
    current: ArcSwap<Segment>,
    generation: AtomicU64,
}

/// One file being appended to.
struct Segment {
    file: Option<File>,
    path: PathBuf,
    generation: u64,
}

thread_local! {
    /// The serialised record, reused across appends on a worker.
    static LINE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl Wal {
    /// Starts a fresh file in `dir`. Without one (a read-only directory), records are only
    /// in memory until their batch is written, as before this file existed; that is logged.
    pub fn open(dir: &Path) -> Wal {
        let pid = std::process::id();
        // Past any file a previous run with the same pid kept (its records could not be
        // journaled): appending to it, then retiring it, would lose them.
        let first = fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| name_parts(&entry.path()))
            .filter(|(owner, _)| *owner == pid)
            .map(|(_, generation)| generation + 1)
            .max()
            .unwrap_or(0);
        let wal = Wal {
            dir: dir.to_owned(),
            pid,
            current: ArcSwap::from_pointee(Segment::create(dir, pid, first)),
            generation: AtomicU64::new(first),
        };
        if wal.current.load().file.is_none() {
            tracing::warn!(dir = %dir.display(), "cannot write the usage write-ahead file; a killed process would lose its last unflushed records");
        }
        wal
    }

    /// Appends `record`; returns the generation of the file it went to.
    pub fn append(&self, record: &UsageRecord) -> u64 {
        let segment = self.current.load();
        if let Some(mut file) = segment.file.as_ref() {
            LINE.with_borrow_mut(|line| {
                line.clear();
                if serde_json::to_writer(&mut *line, record).is_ok() {
                    line.push(b'\n');
                    // One write of the whole line: appends from several workers never interleave
                    // within a line (O_APPEND), and a torn last line is skipped on replay.
                    if let Err(e) = file.write_all(line) {
                        tracing::warn!(error = %e, "cannot append to the usage write-ahead file");
                    }
                }
            });
        }
        segment.generation
    }

    /// The generation appends go to now.
    pub fn generation(&self) -> u64 {
        self.current.load().generation
    }

    /// Starts a new file; returns the old one's path, to delete once its records are stored.
    /// Called under the sink's lock, so a record is never half in one file and half in a batch.
    pub fn rotate(&self) -> Option<PathBuf> {
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        let next = Segment::create(&self.dir, self.pid, generation);
        let old = self.current.swap(Arc::new(next));
        old.file.is_some().then(|| old.path.clone())
    }

    /// Deletes a rotated file whose records are in the database or the journal.
    pub fn retire(path: &Path) {
        if let Err(e) = fs::remove_file(path) {
            tracing::warn!(error = %e, "cannot remove a flushed usage write-ahead file");
        }
    }

    /// Stops writing ahead (a graceful stop drained everything): the current file goes too.
    pub fn close(&self) {
        if let Some(path) = self.rotate() {
            Wal::retire(&path);
        }
        let last = self.current.swap(Arc::new(Segment {
            file: None,
            path: PathBuf::new(),
            generation: u64::MAX,
        }));
        if last.file.is_some() {
            Wal::retire(&last.path);
        }
    }
}

impl Segment {
    fn create(dir: &Path, pid: u32, generation: u64) -> Segment {
        let path = dir.join(format!("{PREFIX}{pid}-{generation}.jsonl"));
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        Segment {
            file: options.open(&path).ok(),
            path,
            generation,
        }
    }
}

/// Records in files left by processes that no longer run; the files are returned too, to be
/// deleted once the records are safe elsewhere. Call before [`Wal::open`].
pub fn leftovers(dir: &Path) -> (Vec<UsageRecord>, Vec<PathBuf>) {
    let mut records = Vec::new();
    let mut files = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return (records, files);
    };
    let me = std::process::id();
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(pid) = owner(&path) else { continue };
        // Our own pid can only be a previous run's (this is called before the first file is
        // opened; in a container every run may be pid 1).
        if pid != me && Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        if let Ok(file) = File::open(&path) {
            for line in BufReader::new(file).lines() {
                let Ok(line) = line else { break };
                // A torn last line (the process died mid-write) is skipped.
                if let Ok(record) = serde_json::from_str::<UsageRecord>(&line) {
                    records.push(record);
                }
            }
        }
        files.push(path);
    }
    (records, files)
}

/// The pid in a write-ahead file's name.
fn owner(path: &Path) -> Option<u32> {
    name_parts(path).map(|(pid, _)| pid)
}

/// The pid and generation in a write-ahead file's name.
fn name_parts(path: &Path) -> Option<(u32, u64)> {
    let name = path.file_name()?.to_str()?;
    let rest = name.strip_prefix(PREFIX)?.strip_suffix(".jsonl")?;
    let (pid, generation) = rest.split_once('-')?;
    Some((pid.parse().ok()?, generation.parse().ok()?))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names() {
        assert_eq!(owner(Path::new("/d/usage-wal-123-4.jsonl")), Some(123));
        assert_eq!(owner(Path::new("/d/usage-journal.jsonl")), None);
        assert_eq!(owner(Path::new("/d/usage-wal-x-4.jsonl")), None);
        assert_eq!(
            name_parts(Path::new("/d/usage-wal-7-12.jsonl")),
            Some((7, 12))
        );
    }
}
