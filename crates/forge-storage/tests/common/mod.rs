//! One harness for the tests that must hold on both backends: a fresh migrated database per
//! test, so tests never see each other's rows, and a macro that runs each test on both.
#![allow(clippy::unwrap_used)]

pub mod fixtures;

use std::ops::Deref;

use forge_storage::testing::{drop_postgres, scratch_postgres, scratch_sqlite_url};
use forge_storage::{StorageError, Store};

/// The local server scratch PostgreSQL databases are made on.
pub const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A migrated scratch database, removed on drop even if the test panicked.
pub struct TestDb {
    pub store: Store,
    pub url: String,
    pg: bool,
}

impl TestDb {
    pub async fn open(pg: bool) -> TestDb {
        let url = if pg {
            scratch_postgres(PG_ADMIN).await.unwrap()
        } else {
            scratch_sqlite_url()
        };
        migrate(&url).await.unwrap();
        let store = Store::connect(&url).await.unwrap();
        TestDb { store, url, pg }
    }
}

/// Lets a test that needs only the store take `&Store` and still be run by [`both_backends`].
impl Deref for TestDb {
    type Target = Store;

    fn deref(&self) -> &Store {
        &self.store
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let url = self.url.clone();
        if self.pg {
            // Drop may run inside a runtime (or while panicking), so the async drop gets a
            // runtime of its own on another thread.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                let _ = rt.block_on(drop_postgres(PG_ADMIN, &url));
            })
            .join();
        } else {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{url}{suffix}"));
            }
        }
    }
}

/// Migrations are blocking, so they run off the async worker.
pub async fn migrate(url: &str) -> Result<(), StorageError> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || Store::run_migrations(&url))
        .await
        .unwrap()
}

/// Generates `<name>::sqlite` and `<name>::postgres` from `async fn <name>(&TestDb)` (or
/// `(&Store)`), each on its own database. By default on a two-worker runtime; after
/// `current_thread;` on a current-thread runtime like actix's workers.
macro_rules! both_backends {
    (@each $flavor:tt $($name:ident),*) => {$(
        mod $name {
            #[tokio::test $flavor]
            async fn sqlite() {
                let db = $crate::common::TestDb::open(false).await;
                assert_eq!(db.store.backend_name(), "sqlite");
                super::$name(&db).await;
            }

            #[tokio::test $flavor]
            async fn postgres() {
                let db = $crate::common::TestDb::open(true).await;
                assert_eq!(db.store.backend_name(), "postgres");
                super::$name(&db).await;
            }
        }
    )*};
    (current_thread; $($name:ident),* $(,)?) => {
        $crate::common::both_backends!(@each (flavor = "current_thread") $($name),*);
    };
    ($($name:ident),* $(,)?) => {
        $crate::common::both_backends!(
            @each (flavor = "multi_thread", worker_threads = 2) $($name),*
        );
    };
}

pub(crate) use both_backends;
