//! Readiness and graceful shutdown.
//!
//! On SIGTERM or SIGINT the server reports not-ready (`/health/ready` answers 503 on the
//! connections still open), stops accepting, and lets in-flight requests and streams run on
//! for the grace period (`--shutdown-grace-secs`). Streams still open when it runs out are
//! ended the way a broken upstream ends them: what was held, then an error event in the
//! client's dialect, so no client mistakes a cut answer for a finished one; every one settles
//! its usage as it ends. Then the usage and log buffers are flushed (`Forge::run`).
//!
//! Ending streams must not cost the request path a lock: each worker keeps its own list of
//! the streams waiting for data (a `RefCell`, workers are single-threaded), and one task per
//! worker, started by the first stream, waits on the process-wide close signal and wakes them.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll, Waker};

use std::time::Duration;

use actix_web::dev::ServerHandle;
use tokio::sync::watch;

const STARTING: u8 = 0;
const READY: u8 = 1;
const DRAINING: u8 = 2;

/// Process-wide: whether the server serves, and the signal that closes open streams.
pub struct Lifecycle {
    state: AtomicU8,
    close: watch::Sender<bool>,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle {
            state: AtomicU8::new(STARTING),
            close: watch::channel(false).0,
        }
    }
}

/// Why the server is not ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotReady {
    Starting,
    Draining,
}

impl NotReady {
    pub fn reason(self) -> &'static str {
        match self {
            NotReady::Starting => "starting",
            NotReady::Draining => "draining",
        }
    }
}

impl Lifecycle {
    pub fn serving(&self) {
        let _ = self
            .state
            .compare_exchange(STARTING, READY, Ordering::AcqRel, Ordering::Acquire);
    }

    pub fn drain(&self) {
        self.state.store(DRAINING, Ordering::Release);
    }

    pub fn ready(&self) -> Result<(), NotReady> {
        match self.state.load(Ordering::Acquire) {
            READY => Ok(()),
            DRAINING => Err(NotReady::Draining),
            _ => Err(NotReady::Starting),
        }
    }

    /// Ends every open stream (the grace period ran out).
    pub fn close_streams(&self) {
        self.close.send_replace(true);
    }

    /// A worker's handle on the close signal (one per worker, made in the app factory).
    pub fn worker(self: &Arc<Self>) -> Closing {
        Closing(Rc::new(WorkerStreams {
            signal: self.close.subscribe(),
            closed: Cell::new(false),
            listening: Cell::new(false),
            waiting: RefCell::new(Slots::default()),
        }))
    }
}

/// One worker's open streams, and whether they were told to close.
#[derive(Clone)]
pub struct Closing(Rc<WorkerStreams>);

struct WorkerStreams {
    signal: watch::Receiver<bool>,
    closed: Cell<bool>,
    listening: Cell<bool>,
    waiting: RefCell<Slots>,
}

/// Wakers of the streams waiting for upstream data, with free slots reused.
#[derive(Default)]
struct Slots {
    wakers: Vec<Option<Waker>>,
    free: Vec<usize>,
}

impl Closing {
    /// A stream's registration; dropped with the stream.
    pub fn register(&self) -> CloseWatch {
        CloseWatch {
            worker: self.clone(),
            slot: None,
        }
    }

    fn listen(&self) {
        if self.0.listening.replace(true) {
            return;
        }
        let worker = self.0.clone();
        let mut signal = worker.signal.clone();
        actix_rt::spawn(async move {
            while !*signal.borrow_and_update() {
                if signal.changed().await.is_err() {
                    return;
                }
            }
            worker.closed.set(true);
            let wakers: Vec<Waker> = worker
                .waiting
                .borrow_mut()
                .wakers
                .iter_mut()
                .filter_map(Option::take)
                .collect();
            for waker in wakers {
                waker.wake();
            }
        });
    }
}

/// One stream's view of the close signal: a future that is ready once streams must close.
pub struct CloseWatch {
    worker: Closing,
    slot: Option<usize>,
}

impl CloseWatch {
    /// Ready once the stream must end; otherwise remembers the waker (no lock, no allocation
    /// after the first poll).
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let worker = &self.worker.0;
        if worker.closed.get() {
            return Poll::Ready(());
        }
        self.worker.listen();
        let mut waiting = worker.waiting.borrow_mut();
        let slot = match self.slot {
            Some(slot) => slot,
            None => {
                let slot = match waiting.free.pop() {
                    Some(slot) => slot,
                    None => {
                        waiting.wakers.push(None);
                        waiting.wakers.len() - 1
                    }
                };
                self.slot = Some(slot);
                slot
            }
        };
        if let Some(entry) = waiting.wakers.get_mut(slot) {
            match entry {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                _ => *entry = Some(cx.waker().clone()),
            }
        }
        Poll::Pending
    }

    /// Runs `fut` until it completes or the stream must close (`None`).
    pub async fn or_closed<F: Future>(&mut self, fut: F) -> Option<F::Output> {
        let mut fut = std::pin::pin!(fut);
        std::future::poll_fn(move |cx| {
            if self.poll_closed(cx).is_ready() {
                return Poll::Ready(None);
            }
            Pin::new(&mut fut).poll(cx).map(Some)
        })
        .await
    }
}

impl Drop for CloseWatch {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take()
            && let Ok(mut waiting) = self.worker.0.waiting.try_borrow_mut()
        {
            if let Some(entry) = waiting.wakers.get_mut(slot) {
                *entry = None;
            }
            waiting.free.push(slot);
        }
    }
}

/// What a request or stream still open when the grace period ran out ends with: a 503 the
/// router does not retry elsewhere (every deployment is in the same process).
pub fn shutting_down(what: &str) -> forge_core::Error {
    forge_core::Error::Limited {
        status: 503,
        message: format!("Forge is shutting down: {what}"),
        retry_after: None,
        error_type: "service_unavailable".into(),
        code: "shutting_down".into(),
    }
}

/// Drains a running server (see `Forge::drainer`).
#[derive(Clone)]
pub struct Drainer {
    lifecycle: Arc<Lifecycle>,
    server: ServerHandle,
    grace: Duration,
}

impl Drainer {
    pub fn new(lifecycle: Arc<Lifecycle>, server: ServerHandle, grace: Duration) -> Drainer {
        Drainer {
            lifecycle,
            server,
            grace,
        }
    }

    /// Returns once the server stopped.
    pub async fn drain(self) {
        self.lifecycle.drain();
        tracing::info!(
            grace_secs = self.grace.as_secs(),
            "shutting down: no new connections; in-flight requests and streams may finish"
        );
        let lifecycle = self.lifecycle.clone();
        let grace = self.grace;
        let closer = actix_rt::spawn(async move {
            actix_rt::time::sleep(grace).await;
            tracing::warn!("shutdown grace period over: closing the streams still open");
            lifecycle.close_streams();
        });
        self.server.stop(true).await;
        closer.abort();
    }
}

/// SIGTERM (a service manager) or SIGINT (Ctrl-C).
pub async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch SIGTERM; only SIGINT shuts down gracefully");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn readiness_follows_the_lifecycle() {
        let life = Lifecycle::default();
        assert_eq!(life.ready(), Err(NotReady::Starting));
        life.serving();
        assert_eq!(life.ready(), Ok(()));
        life.drain();
        assert_eq!(life.ready(), Err(NotReady::Draining));
        life.serving();
        assert_eq!(life.ready(), Err(NotReady::Draining), "draining is final");
    }

    #[actix_rt::test]
    async fn open_streams_end_when_closed_and_slots_are_reused() {
        let life = Arc::new(Lifecycle::default());
        let closing = life.worker();
        let mut first = closing.register();
        let mut second = closing.register();
        let pending = std::future::pending::<()>();
        let waiting = actix_rt::spawn(async move { second.or_closed(pending).await });
        // The first one finishes its work before the close: the future's output comes back.
        assert_eq!(first.or_closed(async { 7 }).await, Some(7));
        drop(first);
        actix_rt::task::yield_now().await;
        life.close_streams();
        assert_eq!(waiting.await.unwrap(), None);
        let mut late = closing.register();
        assert_eq!(late.or_closed(std::future::pending::<()>()).await, None);
    }
}
