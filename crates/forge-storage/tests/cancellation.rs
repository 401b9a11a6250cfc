//! Store futures dropped before they finish, on a current-thread runtime like actix's workers:
//! no panic, no wedged pool, and every write either fully applied or not at all.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use common::fixtures::{provider, user};
use common::{TestDb, both_backends};
use forge_storage::*;

/// Delays after which an operation is abandoned; 0 still polls it once.
const DELAYS_US: [u64; 6] = [0, 1, 10, 100, 1_000, 5_000];

/// More than either pool holds (SQLite 8, PostgreSQL 16).
const FOLLOW_UP_QUERIES: usize = 40;

both_backends!(
    current_thread;
    abandoned_reads_leave_the_pool_usable,
    abandoned_forge_key_creation_is_all_or_nothing,
    abandoned_provider_key_deletion_is_all_or_nothing,
    abandoned_user_creation_is_all_or_nothing,
    connect_ping_and_migrate_on_a_current_thread_runtime,
);

/// Runs `make(i)` once per abandonment strategy: a timeout of each of [`DELAYS_US`], and
/// manual polling 1, 2 and 3 times before dropping.
async fn abandon_each_way<F, Fut>(mut make: F) -> Tally
where
    F: FnMut(usize) -> Fut,
    Fut: Future,
{
    let mut tally = Tally::default();
    for delay in DELAYS_US {
        let finished = tokio::time::timeout(Duration::from_micros(delay), make(tally.attempts))
            .await
            .is_ok();
        tally.count(finished);
    }
    for polls in 1..=3 {
        let finished = poll_then_drop(make(tally.attempts), polls).await;
        tally.count(finished);
    }
    tally
}

/// How many operations were started, and how many of those were dropped unfinished.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    attempts: usize,
    abandoned: usize,
}

impl Tally {
    fn count(&mut self, finished: bool) {
        self.attempts += 1;
        self.abandoned += usize::from(!finished);
    }

    fn add(&mut self, other: Tally) {
        self.attempts += other.attempts;
        self.abandoned += other.abandoned;
    }

    /// Guards the test itself: if nothing was dropped mid-flight, it proved nothing.
    fn assert_some_abandoned(&self) {
        assert!(self.abandoned > 0, "no operation was abandoned: {self:?}");
    }
}

/// Polls `fut` up to `polls` times, yielding to the runtime in between, then drops it.
/// True if it finished first.
async fn poll_then_drop<Fut: Future>(fut: Fut, polls: usize) -> bool {
    let mut fut = pin!(fut);
    for _ in 0..polls {
        let done = std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx).is_ready())).await;
        if done {
            return true;
        }
        tokio::task::yield_now().await;
    }
    false
}

/// Proves the pool is not wedged: more queries than it has connections, one after another
/// and then all at once, each finishing well inside the pool's checkout timeout.
async fn pool_still_works(store: &Store) {
    let checks = async {
        for _ in 0..FOLLOW_UP_QUERIES {
            store.ping().await.unwrap();
            store.count_users().await.unwrap();
        }
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..FOLLOW_UP_QUERIES {
            let s = store.clone();
            tasks.spawn(async move { s.count_users().await });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap().unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(30), checks)
        .await
        .expect("pool wedged after abandoned operations");
}

async fn abandoned_reads_leave_the_pool_usable(db: &TestDb) {
    let s = &db.store;
    let alice = user(s, "alice").await;
    let p = provider(s, alice.id, "openai").await;
    let scope = [p.id];
    let key = s
        .create_forge_key(&NewForgeKey {
            user_id: alice.id,
            name: Some("k"),
            key_digest: "digest-read",
            key_suffix: "abcd",
            scope: Some(&scope),
        })
        .await
        .unwrap();

    let mut tally = Tally::default();
    for _ in 0..3 {
        tally.add(abandon_each_way(|_| s.user_by_id(alice.id)).await);
        tally.add(abandon_each_way(|_| s.list_forge_keys(alice.id)).await);
        tally.add(abandon_each_way(|_| s.load_auth("digest-read")).await);
        tally.add(abandon_each_way(|_| s.list_provider_keys(alice.id)).await);
        tally.add(abandon_each_way(|_| s.ping()).await);
    }
    tally.assert_some_abandoned();

    pool_still_works(s).await;
    let auth = s.load_auth("digest-read").await.unwrap().unwrap();
    assert_eq!(auth.key, key);
    assert_eq!(auth.provider_keys, vec![p]);
}

async fn abandoned_forge_key_creation_is_all_or_nothing(db: &TestDb) {
    let s = &db.store;
    let alice = user(s, "alice").await;
    let mut providers = Vec::new();
    for name in ["openai", "anthropic", "gemini", "mistral", "groq"] {
        providers.push(provider(s, alice.id, name).await.id);
    }
    let scope = providers.clone();

    let mut tally = Tally::default();
    for round in 0..4 {
        let this_round = abandon_each_way(|i| {
            let digest = format!("digest-{round}-{i}");
            let s = s.clone();
            let scope = scope.clone();
            async move {
                s.create_forge_key(&NewForgeKey {
                    user_id: alice.id,
                    name: Some("abandoned"),
                    key_digest: &digest,
                    key_suffix: "abcd",
                    scope: Some(&scope),
                })
                .await
            }
        })
        .await;
        tally.add(this_round);
    }
    tally.assert_some_abandoned();

    pool_still_works(s).await;
    let keys = s.list_forge_keys(alice.id).await.unwrap();
    assert!(keys.len() <= tally.attempts);
    for key in &keys {
        assert_eq!(
            key.scope.as_deref(),
            Some(&providers[..]),
            "a key without all its scope rows: {key:?}"
        );
    }
    // The store still writes, and the new key is complete.
    let scope = [providers[0]];
    let fresh = s
        .create_forge_key(&NewForgeKey {
            user_id: alice.id,
            name: None,
            key_digest: "digest-after",
            key_suffix: "wxyz",
            scope: Some(&scope),
        })
        .await
        .unwrap();
    assert_eq!(fresh.scope, Some(vec![providers[0]]));
}

async fn abandoned_provider_key_deletion_is_all_or_nothing(db: &TestDb) {
    let s = &db.store;
    let alice = user(s, "alice").await;
    let keep = provider(s, alice.id, "keep").await;
    let mut doomed = Vec::new();
    for i in 0..(DELAYS_US.len() + 3) {
        doomed.push(provider(s, alice.id, &format!("doomed{i}")).await.id);
    }
    // Every Forge key is scoped to one doomed provider key and the kept one.
    let mut keys = Vec::new();
    for (i, p) in doomed.iter().enumerate() {
        let scope = [*p, keep.id];
        let key = s
            .create_forge_key(&NewForgeKey {
                user_id: alice.id,
                name: None,
                key_digest: &format!("digest-{i}"),
                key_suffix: "abcd",
                scope: Some(&scope),
            })
            .await
            .unwrap();
        keys.push((key.id, *p));
    }

    abandon_each_way(|i| s.delete_provider_key(alice.id, doomed[i]))
        .await
        .assert_some_abandoned();

    pool_still_works(s).await;
    let live: Vec<i64> = s
        .list_provider_keys(alice.id)
        .await
        .unwrap()
        .iter()
        .map(|k| k.id)
        .collect();
    for (key_id, p) in keys {
        let key = s.forge_key(alice.id, key_id).await.unwrap().unwrap();
        let scope = key.scope.unwrap();
        if live.contains(&p) {
            let mut want = vec![p, keep.id];
            want.sort_unstable();
            assert_eq!(scope, want, "provider key {p} live but out of scope");
        } else {
            assert_eq!(scope, vec![keep.id]);
        }
    }
    // Deleting for real still works.
    for p in doomed.iter().filter(|p| live.contains(p)) {
        assert!(s.delete_provider_key(alice.id, *p).await.unwrap().is_some());
    }
    assert_eq!(
        s.list_provider_keys(alice.id).await.unwrap(),
        vec![keep.clone()]
    );
}

async fn abandoned_user_creation_is_all_or_nothing(db: &TestDb) {
    let s = &db.store;
    let mut tally = Tally::default();
    for round in 0..3 {
        let this_round = abandon_each_way(|i| {
            let s = s.clone();
            async move {
                let name = format!("user-{round}-{i}");
                s.create_user(&NewUser {
                    username: &name,
                    email: &format!("{name}@example.com"),
                    hashed_password: "$argon2id$fake",
                })
                .await
            }
        })
        .await;
        tally.add(this_round);
    }
    tally.assert_some_abandoned();

    pool_still_works(s).await;
    let mut admins = 0;
    let mut created = 0;
    for round in 0..3 {
        for i in 0..tally.attempts / 3 {
            let name = format!("user-{round}-{i}");
            if let Some(u) = s.user_by_username(&name).await.unwrap() {
                created += 1;
                admins += usize::from(u.is_admin);
                let by_email = s.user_by_email(&format!("{name}@example.com")).await;
                assert_eq!(by_email.unwrap(), Some(u));
            }
        }
    }
    let total = s.count_users().await.unwrap();
    assert_eq!(usize::try_from(total).unwrap(), created);
    // Exactly one admin among whatever was created, or none yet and the next user is it.
    assert!(admins <= 1);
    let next = user(s, "after").await;
    assert_eq!(usize::from(next.is_admin) + admins, 1);
}

async fn connect_ping_and_migrate_on_a_current_thread_runtime(db: &TestDb) {
    // Blocking, but must neither panic nor deadlock when called from async code directly.
    Store::run_migrations(&db.url).unwrap();
    let second = Store::connect(&db.url).await.unwrap();
    second.ping().await.unwrap();
    db.store.ping().await.unwrap();
    // Abandoned connects must not panic either.
    abandon_each_way(|_| Store::connect(&db.url))
        .await
        .assert_some_abandoned();
    drop(second);
    pool_still_works(&db.store).await;
}
