//! Limit settings (`limit_settings`) against SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use forge_storage::testing::{drop_postgres, scratch_postgres, scratch_sqlite_url};
use forge_storage::*;

const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A migrated scratch database, removed on drop even if the test panicked.
struct TestDb {
    store: Store,
    url: String,
    pg: bool,
}

impl TestDb {
    async fn open(pg: bool) -> TestDb {
        let url = if pg {
            scratch_postgres(PG_ADMIN).await.unwrap()
        } else {
            scratch_sqlite_url()
        };
        let migrate_url = url.clone();
        tokio::task::spawn_blocking(move || Store::run_migrations(&migrate_url))
            .await
            .unwrap()
            .unwrap();
        let store = Store::connect(&url).await.unwrap();
        TestDb { store, url, pg }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let url = self.url.clone();
        if self.pg {
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

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(&super::TestDb::open(false).await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(&super::TestDb::open(true).await).await;
            }
        }
    )*};
}

both_backends!(
    settings_round_trip,
    set_replaces_the_whole_row,
    delete_reports_whether_a_row_went,
    auth_limits_reads_the_key_and_its_user,
);

fn values() -> LimitValues {
    LimitValues {
        rpm: Some(60),
        tpm: None,
        concurrency: Some(4),
        budgets: vec![
            BudgetLimit {
                period: BudgetPeriod::Day,
                max_cost_nanos: Some(5_000_000_000),
                max_tokens: Some(100_000),
            },
            BudgetLimit {
                period: BudgetPeriod::Total,
                max_cost_nanos: None,
                max_tokens: Some(i64::MAX),
            },
        ],
    }
}

async fn settings_round_trip(db: &TestDb) {
    let store = &db.store;
    assert_eq!(
        store.limit_settings(LimitScope::Key(12)).await.unwrap(),
        None
    );
    let before = chrono::Utc::now().naive_utc() - chrono::Duration::seconds(5);
    let set = store
        .set_limit_settings(LimitScope::Key(12), 3, &values())
        .await
        .unwrap();
    assert_eq!(set.scope, LimitScope::Key(12));
    assert_eq!(set.user_id, 3);
    assert!(set.updated_at > before);
    let got = store
        .limit_settings(LimitScope::Key(12))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, set);
    assert_eq!(
        store.limit_settings(LimitScope::User(12)).await.unwrap(),
        None,
        "a key's id is not a user's"
    );
}

async fn set_replaces_the_whole_row(db: &TestDb) {
    let store = &db.store;
    store
        .set_limit_settings(LimitScope::User(3), 3, &values())
        .await
        .unwrap();
    let fewer = LimitValues {
        tpm: Some(1000),
        ..LimitValues::default()
    };
    store
        .set_limit_settings(LimitScope::User(3), 3, &fewer)
        .await
        .unwrap();
    let got = store
        .limit_settings(LimitScope::User(3))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.values, fewer, "fields left out are cleared, not kept");
    assert!(got.values.budgets.is_empty());
}

async fn delete_reports_whether_a_row_went(db: &TestDb) {
    let store = &db.store;
    store
        .set_limit_settings(LimitScope::Key(5), 1, &values())
        .await
        .unwrap();
    store
        .set_limit_settings(LimitScope::User(1), 1, &values())
        .await
        .unwrap();
    assert!(
        store
            .delete_limit_settings(LimitScope::Key(5))
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_limit_settings(LimitScope::Key(5))
            .await
            .unwrap()
    );
    assert_eq!(
        store.limit_settings(LimitScope::Key(5)).await.unwrap(),
        None
    );
    assert!(
        store
            .limit_settings(LimitScope::User(1))
            .await
            .unwrap()
            .is_some(),
        "only the named scope goes"
    );
}

async fn auth_limits_reads_the_key_and_its_user(db: &TestDb) {
    let store = &db.store;
    assert_eq!(
        store.auth_limits(7, 2).await.unwrap(),
        AuthLimits::default()
    );
    let user = LimitValues {
        rpm: Some(3),
        ..LimitValues::default()
    };
    store
        .set_limit_settings(LimitScope::User(2), 2, &user)
        .await
        .unwrap();
    // Rows of other keys and users, including the mirrored ids, must not be picked up.
    store
        .set_limit_settings(LimitScope::Key(2), 9, &values())
        .await
        .unwrap();
    store
        .set_limit_settings(LimitScope::User(7), 7, &values())
        .await
        .unwrap();
    assert_eq!(
        store.auth_limits(7, 2).await.unwrap(),
        AuthLimits {
            key: None,
            user: Some(user.clone()),
        }
    );
    store
        .set_limit_settings(LimitScope::Key(7), 2, &values())
        .await
        .unwrap();
    assert_eq!(
        store.auth_limits(7, 2).await.unwrap(),
        AuthLimits {
            key: Some(values()),
            user: Some(user),
        }
    );
}
