//! Runs SQLite work off the async runtime so that abandoning it is harmless.
//!
//! diesel-async's default `SyncConnectionWrapper` sends each statement to `spawn_blocking`
//! and, when the awaiting future is dropped early, waits for it with `block_in_place`, which
//! panics on a current-thread runtime such as every actix worker's. Here a whole `with_conn!`
//! body runs on one blocking thread instead, where each statement executes in place
//! ([`Inline`]). The caller only awaits that thread's `JoinHandle`; dropping the handle
//! detaches it, so the body, transaction included, still runs to its commit or rollback and
//! the connection goes back to the pool in a clean state.

use std::error::Error;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use diesel::{Connection, ConnectionError, ConnectionResult, SqliteConnection};
use diesel_async::pooled_connection::bb8::PooledConnection;
use diesel_async::sync_connection_wrapper::{SpawnBlocking, SyncConnectionWrapper};

use crate::StorageError;

pub(crate) type SqliteConn = SyncConnectionWrapper<SqliteConnection, Inline>;

/// Runs each statement on the calling thread when its future is first polled. Only sound
/// off the async runtime, i.e. inside [`run_detached`].
pub(crate) struct Inline;

type TaskResult<R> = Result<R, Box<dyn Error + Send + Sync + 'static>>;

impl SpawnBlocking for Inline {
    fn spawn_blocking<'a, R>(
        &mut self,
        task: impl FnOnce() -> R + Send + 'static,
    ) -> Pin<Box<dyn Future<Output = TaskResult<R>> + Send + 'a>>
    where
        R: Send + 'static,
    {
        Box::pin(async move { Ok(task()) })
    }

    fn get_runtime() -> Self {
        Inline
    }
}

/// Opens a connection and applies `pragmas`, on a blocking thread: opening may wait on
/// the file lock for as long as the busy timeout.
pub(crate) async fn open(path: String, pragmas: &'static str) -> ConnectionResult<SqliteConn> {
    tokio::task::spawn_blocking(move || {
        let mut conn = SqliteConnection::establish(&path)?;
        diesel::connection::SimpleConnection::batch_execute(&mut conn, pragmas)
            .map_err(ConnectionError::CouldntSetupConfiguration)?;
        Ok(SyncConnectionWrapper::with_runtime(conn, Inline))
    })
    .await
    .map_err(|e| ConnectionError::BadConnection(task_failure(&e)))?
}

/// Runs `body` on a blocking thread with the checked-out connection and returns its result.
/// If the returned future is dropped, `body` still completes and the connection is released.
pub(crate) async fn run_detached<T, F>(
    mut conn: PooledConnection<'static, SqliteConn>,
    body: F,
) -> Result<T, StorageError>
where
    T: Send + 'static,
    F: AsyncFnOnce(&mut SqliteConn) -> Result<T, StorageError> + Send + 'static,
{
    tokio::task::spawn_blocking(move || block_on(body(&mut conn)))
        .await
        .map_err(|e| StorageError::Database(task_failure(&e)))?
}

/// Without the panic payload: it could quote anything.
fn task_failure(err: &tokio::task::JoinError) -> String {
    if err.is_panic() {
        "sqlite worker panicked".to_owned()
    } else {
        "sqlite worker cancelled (runtime shutting down)".to_owned()
    }
}

/// Drives `fut` on this thread. With [`Inline`] statements it never actually waits; the
/// park loop only keeps it correct should a future ever return `Pending`.
fn block_on<F: Future>(fut: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::block_on;

    #[test]
    fn block_on_waits_for_a_wake_from_another_thread() {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let sender = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            let _ = tx.send(7);
        });
        assert_eq!(block_on(rx).ok(), Some(7));
        let _ = sender.join();
    }
}
