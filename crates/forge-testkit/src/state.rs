//! State shared between the server thread and the test's handle (the same for every fake).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::fault::{ArmedFault, Fault};
use crate::record::RecordedRequest;

pub(crate) struct Shared {
    pub(crate) api_key: String,
    pub(crate) models: Vec<String>,
    pub(crate) stream_chunks: usize,
    reply: Mutex<Option<String>>,
    fault: Mutex<Option<ArmedFault>>,
    requests: Mutex<Vec<RecordedRequest>>,
    in_flight: AtomicUsize,
    connections: AtomicUsize,
    next_id: AtomicU64,
    objects: Mutex<crate::routes::files::Objects>,
}

/// A panicking test thread must not make every later assertion fail with a poison error.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    /// The settings every fake shares: accepted key, known models, reply template, stream split.
    pub(crate) fn new(
        api_key: String,
        models: Vec<String>,
        reply: Option<String>,
        stream_chunks: usize,
    ) -> Shared {
        Shared {
            api_key,
            models,
            stream_chunks: stream_chunks.max(1),
            reply: Mutex::new(reply),
            fault: Mutex::new(None),
            requests: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            connections: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
            objects: Mutex::new(Default::default()),
        }
    }

    pub(crate) fn reply_template(&self) -> Option<String> {
        lock(&self.reply).clone()
    }

    pub(crate) fn set_reply(&self, reply: Option<String>) {
        *lock(&self.reply) = reply;
    }

    pub(crate) fn arm(&self, fault: Option<ArmedFault>) {
        *lock(&self.fault) = fault;
    }

    pub(crate) fn take_fault(&self) -> Option<Fault> {
        let mut slot = lock(&self.fault);
        let (fault, keep) = slot.as_mut()?.take();
        if !keep {
            *slot = None;
        }
        fault
    }

    pub(crate) fn record(&self, req: RecordedRequest) {
        lock(&self.requests).push(req);
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.requests).clone()
    }

    pub(crate) fn request_count(&self) -> usize {
        lock(&self.requests).len()
    }

    pub(crate) fn clear_requests(&self) {
        lock(&self.requests).clear();
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    pub(crate) fn open_connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// The account's files and batches.
    pub(crate) fn objects(&self) -> MutexGuard<'_, crate::routes::files::Objects> {
        lock(&self.objects)
    }

    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }
}

/// Counts a request as in flight until its response (body included) is finished or dropped.
pub(crate) struct InFlight(Arc<Shared>);

impl InFlight {
    pub(crate) fn new(shared: Arc<Shared>) -> InFlight {
        shared.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(shared)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Lives in a connection's extensions, which actix drops when the TCP connection closes.
pub(crate) struct OpenConnection(Arc<Shared>);

impl OpenConnection {
    pub(crate) fn new(shared: Arc<Shared>) -> OpenConnection {
        shared.connections.fetch_add(1, Ordering::SeqCst);
        OpenConnection(shared)
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::SeqCst);
    }
}
