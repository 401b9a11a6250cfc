//! Limit settings (`limit_settings`) against SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{TestDb, both_backends};
use forge_storage::*;

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
