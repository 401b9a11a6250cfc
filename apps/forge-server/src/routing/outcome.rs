//! Reporting how an attempt went back to the router. A non-streamed attempt is settled by the
//! dispatcher when the answer is read; a stream outlives the handler, so its outcome travels
//! with the body: committed on first content, failed where the relay emits an error event,
//! released when the body is dropped (clean end or client gone).

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use forge_core::Error;

use crate::routing::Routing;

/// The router's view of one streamed attempt; `None`-able in the relays for unrouted keys.
pub struct StreamOutcome {
    routing: Arc<Routing>,
    id: String,
    session: Option<String>,
    started: Instant,
    /// Shared with the dispatcher, so it knows the stream took over the settlement.
    committed: Rc<Cell<bool>>,
    failure: Option<Error>,
}

impl StreamOutcome {
    pub fn new(
        routing: Arc<Routing>,
        id: String,
        session: Option<String>,
        started: Instant,
        committed: Rc<Cell<bool>>,
    ) -> StreamOutcome {
        StreamOutcome {
            routing,
            id,
            session,
            started,
            committed,
            failure: None,
        }
    }

    /// The first content arrived and the response is being sent.
    pub fn commit(&mut self) {
        if self.committed.replace(true) {
            return;
        }
        let now = Instant::now();
        let ttft = now.saturating_duration_since(self.started);
        self.routing.with_router(|router, _| {
            router.first_content(&self.id, now, ttft, self.session.as_deref())
        });
    }

    /// The stream broke after it was committed; counted against the deployment on drop.
    pub fn fail(&mut self, error: &Error) {
        self.failure = Some(error.clone());
    }
}

impl Drop for StreamOutcome {
    fn drop(&mut self) {
        if !self.committed.get() {
            return;
        }
        let failure = self.failure.take();
        self.routing.with_router(|router, _| match &failure {
            Some(error) => router.failed(&self.id, Instant::now(), error),
            None => router.released(&self.id),
        });
    }
}
