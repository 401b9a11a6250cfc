//! Every repository function against SQLite and PostgreSQL, each test on its own database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use common::fixtures::{provider, user};
use common::{TestDb, both_backends, migrate};
use forge_storage::crypto::{SecretBox, provider_key_aad};
use forge_storage::testing::scratch_sqlite_url;
use forge_storage::*;

both_backends!(
    first_user_is_admin,
    concurrent_signups_make_one_admin,
    user_unique_conflicts,
    user_updates,
    forge_key_lifecycle,
    forge_key_scopes,
    provider_key_delete_narrows_scopes,
    scopes_show_only_live_keys_of_the_owner,
    provider_key_crud,
    provider_key_owner_checks,
    touch_records_latest_use,
    load_auth_returns_everything,
    migrations_are_idempotent,
    ciphertext_round_trips_through_the_store,
    stored_responses_are_per_user_and_expire,
    upstream_objects_belong_to_their_owner,
);

async fn upstream_objects_belong_to_their_owner(db: &TestDb) {
    let store = &db.store;
    let alice = user(store, "obj_alice").await;
    let bob = user(store, "obj_bob").await;
    let (a, b) = (ObjectOwner::User(alice.id), ObjectOwner::User(bob.id));
    let gateway = ObjectOwner::StaticKey("ci".to_owned());
    let file = UpstreamObject {
        id: "file-1".into(),
        kind: "file".into(),
        provider: "openai".into(),
        provider_key_id: Some(7),
    };
    store.record_upstream_object(&a, &file).await.unwrap();
    // Recorded again (a listing seen twice): no error, one row.
    store.record_upstream_object(&a, &file).await.unwrap();
    let shared = UpstreamObject {
        provider_key_id: None,
        ..file.clone()
    };
    store
        .record_upstream_object(&gateway, &shared)
        .await
        .unwrap();
    assert_eq!(
        store
            .find_upstream_object(&a, "file", "file-1")
            .await
            .unwrap(),
        Some(file.clone())
    );
    assert_eq!(
        store
            .find_upstream_object(&gateway, "file", "file-1")
            .await
            .unwrap(),
        Some(shared)
    );
    assert_eq!(
        store
            .find_upstream_object(&b, "file", "file-1")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .find_upstream_object(&a, "batch", "file-1")
            .await
            .unwrap(),
        None
    );
    let batch = UpstreamObject {
        id: "batch_1".into(),
        kind: "batch".into(),
        ..file.clone()
    };
    store.record_upstream_object(&a, &batch).await.unwrap();
    assert_eq!(
        store
            .upstream_object_ids(&a, "file", "openai")
            .await
            .unwrap(),
        vec!["file-1".to_owned()]
    );
    assert!(
        store
            .upstream_object_ids(&a, "file", "groq")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .upstream_object_ids(&b, "file", "openai")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(!store.forget_upstream_object(&b, "file-1").await.unwrap());
    assert!(store.forget_upstream_object(&a, "file-1").await.unwrap());
    assert_eq!(
        store
            .find_upstream_object(&a, "file", "file-1")
            .await
            .unwrap(),
        None
    );
}

async fn stored_responses_are_per_user_and_expire(db: &TestDb) {
    let store = &db.store;
    let alice = user(store, "resp_alice").await;
    let bob = user(store, "resp_bob").await;
    store
        .save_response(alice.id, "resp_1", "m", "[1]")
        .await
        .unwrap();
    assert_eq!(
        store
            .load_response(alice.id, "resp_1")
            .await
            .unwrap()
            .as_deref(),
        Some("[1]")
    );
    assert_eq!(
        store.load_response(bob.id, "resp_1").await.unwrap(),
        None,
        "another user's response is invisible"
    );
    assert_eq!(store.load_response(alice.id, "resp_2").await.unwrap(), None);
    store
        .save_response(alice.id, "resp_1", "m", "[1,2]")
        .await
        .unwrap();
    assert_eq!(
        store
            .load_response(alice.id, "resp_1")
            .await
            .unwrap()
            .as_deref(),
        Some("[1,2]")
    );
    let future = chrono::Utc::now().naive_utc() + chrono::Duration::seconds(60);
    assert_eq!(store.delete_responses_before(future).await.unwrap(), 1);
    assert_eq!(store.load_response(alice.id, "resp_1").await.unwrap(), None);
}

async fn forge_key(store: &Store, user_id: i64, digest: &str, scope: Option<&[i64]>) -> ForgeKey {
    store
        .create_forge_key(&NewForgeKey {
            user_id,
            name: Some("test"),
            key_digest: digest,
            key_suffix: "abcd",
            scope,
        })
        .await
        .unwrap()
}

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
}

async fn first_user_is_admin(db: &TestDb) {
    let s = &db.store;
    let alice = user(s, "alice").await;
    let bob = user(s, "bob").await;
    assert!(alice.is_admin && alice.is_active);
    assert!(!bob.is_admin && bob.is_active);
    assert_eq!(alice.username, "alice");
    assert_eq!(alice.hashed_password, "$argon2id$fake");
    assert_eq!(s.user_by_id(alice.id).await.unwrap(), Some(alice.clone()));
    assert_eq!(s.user_by_username("bob").await.unwrap(), Some(bob.clone()));
    assert_eq!(s.user_by_username("BOB").await.unwrap(), None);
    assert_eq!(
        s.user_by_email("ALICE@Example.COM").await.unwrap(),
        Some(alice)
    );
    assert_eq!(s.user_by_id(9999).await.unwrap(), None);
    assert_eq!(s.user_by_email("nobody@example.com").await.unwrap(), None);
}

async fn concurrent_signups_make_one_admin(db: &TestDb) {
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let s = db.store.clone();
            tokio::spawn(async move { user(&s, &format!("user{i}")).await })
        })
        .collect();
    let mut admins = 0;
    for t in tasks {
        admins += usize::from(t.await.unwrap().is_admin);
    }
    assert_eq!(admins, 1);
}

async fn user_unique_conflicts(db: &TestDb) {
    let s = &db.store;
    user(s, "alice").await;
    let same_name = s
        .create_user(&NewUser {
            username: "alice",
            email: "other@example.com",
            hashed_password: "x",
        })
        .await;
    assert!(
        matches!(same_name, Err(StorageError::Conflict(ref f)) if f == "username"),
        "{same_name:?}"
    );
    let same_email = s
        .create_user(&NewUser {
            username: "other",
            email: "Alice@EXAMPLE.com",
            hashed_password: "x",
        })
        .await;
    assert!(
        matches!(same_email, Err(StorageError::Conflict(ref f)) if f == "email"),
        "{same_email:?}"
    );
    // a failed signup leaves no trace and does not steal the admin flag
    assert!(s.user_by_username("other").await.unwrap().is_none());
    assert!(!user(s, "carol").await.is_admin);
}

async fn user_updates(db: &TestDb) {
    let s = &db.store;
    let alice = user(s, "alice").await;
    user(s, "bob").await;
    let changed = s
        .update_user(
            alice.id,
            &UserChanges {
                email: Some("New@Example.com".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.email, "New@Example.com");
    assert_eq!(changed.username, "alice");
    assert!(changed.updated_at >= alice.updated_at);
    assert_eq!(changed.created_at, alice.created_at);
    assert_eq!(
        s.user_by_email("new@example.com")
            .await
            .unwrap()
            .map(|u| u.id),
        Some(alice.id)
    );
    assert!(
        s.user_by_email("alice@example.com")
            .await
            .unwrap()
            .is_none()
    );

    let renamed = s
        .update_user(
            alice.id,
            &UserChanges {
                username: Some("alicia".into()),
                hashed_password: Some("$argon2id$new".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (renamed.username.as_str(), renamed.hashed_password.as_str()),
        ("alicia", "$argon2id$new")
    );

    let taken = s
        .update_user(
            alice.id,
            &UserChanges {
                username: Some("bob".into()),
                ..Default::default()
            },
        )
        .await;
    assert!(
        matches!(taken, Err(StorageError::Conflict(ref f)) if f == "username"),
        "{taken:?}"
    );
    let taken = s
        .update_user(
            alice.id,
            &UserChanges {
                email: Some("BOB@example.com".into()),
                ..Default::default()
            },
        )
        .await;
    assert!(
        matches!(taken, Err(StorageError::Conflict(ref f)) if f == "email"),
        "{taken:?}"
    );
    let missing = s.update_user(9999, &UserChanges::default()).await;
    assert!(
        matches!(missing, Err(StorageError::NotFound)),
        "{missing:?}"
    );
}

async fn forge_key_lifecycle(db: &TestDb) {
    let s = &db.store;
    let alice = user(s, "alice").await;
    let bob = user(s, "bob").await;
    let k1 = forge_key(s, alice.id, "d1", None).await;
    let k2 = forge_key(s, alice.id, "d2", None).await;
    forge_key(s, bob.id, "d3", None).await;
    assert_eq!(k1.scope, None);
    assert!(k1.is_active);
    assert_eq!(k1.name.as_deref(), Some("test"));
    assert_eq!(k1.key_suffix, "abcd");
    assert_eq!(k1.last_used_at, None);
    assert_eq!(
        s.list_forge_keys(alice.id).await.unwrap(),
        vec![k1.clone(), k2.clone()]
    );
    assert_eq!(
        s.forge_key(alice.id, k1.id).await.unwrap(),
        Some(k1.clone())
    );
    assert_eq!(
        s.forge_key(bob.id, k1.id).await.unwrap(),
        None,
        "other users' keys are invisible"
    );

    let dup = s
        .create_forge_key(&NewForgeKey {
            user_id: bob.id,
            name: None,
            key_digest: "d1",
            key_suffix: "x",
            scope: None,
        })
        .await;
    assert!(matches!(dup, Err(StorageError::Conflict(_))), "{dup:?}");

    // no changes: the key as it is
    assert_eq!(
        s.update_forge_key(alice.id, k1.id, &ForgeKeyChanges::default())
            .await
            .unwrap(),
        Some(k1.clone())
    );
    let updated = s
        .update_forge_key(
            alice.id,
            k1.id,
            &ForgeKeyChanges {
                name: Some(None),
                is_active: Some(false),
                scope: None,
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.name, None);
    assert!(!updated.is_active);
    assert_eq!(updated.scope, None);
    assert_eq!(
        s.update_forge_key(
            bob.id,
            k1.id,
            &ForgeKeyChanges {
                is_active: Some(true),
                ..Default::default()
            }
        )
        .await
        .unwrap(),
        None
    );
    assert!(
        !s.forge_key(alice.id, k1.id)
            .await
            .unwrap()
            .unwrap()
            .is_active
    );

    let regenerated = s
        .regenerate_forge_key(alice.id, k1.id, "d1-new", "wxyz")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(regenerated.key_suffix, "wxyz");
    assert!(s.load_auth("d1").await.unwrap().is_none());
    assert_eq!(s.load_auth("d1-new").await.unwrap().unwrap().key.id, k1.id);
    assert_eq!(
        s.regenerate_forge_key(bob.id, k1.id, "d9", "x")
            .await
            .unwrap(),
        None
    );

    let deleted = s.delete_forge_key(alice.id, k1.id).await.unwrap().unwrap();
    assert_eq!(deleted, regenerated);
    assert_eq!(s.delete_forge_key(alice.id, k1.id).await.unwrap(), None);
    assert_eq!(s.forge_key(alice.id, k1.id).await.unwrap(), None);
    assert_eq!(s.list_forge_keys(alice.id).await.unwrap(), vec![k2.clone()]);
    assert!(s.load_auth("d1-new").await.unwrap().is_none());
    assert_eq!(
        s.update_forge_key(alice.id, k1.id, &ForgeKeyChanges::default())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.regenerate_forge_key(alice.id, k1.id, "d8", "x")
            .await
            .unwrap(),
        None
    );
    assert_eq!(s.delete_forge_key(bob.id, k2.id).await.unwrap(), None);
}

async fn forge_key_scopes(db: &TestDb) {
    let s = &db.store;
    let alice = user(s, "alice").await;
    let p1 = provider(s, alice.id, "openai").await;
    let p2 = provider(s, alice.id, "anthropic").await;
    let open = forge_key(s, alice.id, "d-open", None).await;
    let none = forge_key(s, alice.id, "d-none", Some(&[])).await;
    let some = forge_key(s, alice.id, "d-some", Some(&[p2.id, p1.id, p2.id])).await;
    assert_eq!(open.scope, None);
    assert_eq!(none.scope, Some(vec![]));
    assert_eq!(some.scope, Some(vec![p1.id, p2.id]));
    let listed = s.list_forge_keys(alice.id).await.unwrap();
    assert_eq!(
        listed.iter().map(|k| k.scope.clone()).collect::<Vec<_>>(),
        vec![None, Some(vec![]), Some(vec![p1.id, p2.id])]
    );

    let narrowed = s
        .update_forge_key(
            alice.id,
            open.id,
            &ForgeKeyChanges {
                scope: Some(vec![p2.id]),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(narrowed.scope, Some(vec![p2.id]));
    assert_eq!(narrowed.name, open.name);
    let emptied = s
        .update_forge_key(
            alice.id,
            some.id,
            &ForgeKeyChanges {
                scope: Some(vec![]),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(emptied.scope, Some(vec![]));
    assert_eq!(
        s.forge_key(alice.id, some.id).await.unwrap().unwrap().scope,
        Some(vec![])
    );

    // a scope naming a provider key that does not exist is refused by the database
    let bad = s
        .update_forge_key(
            alice.id,
            some.id,
            &ForgeKeyChanges {
                scope: Some(vec![9999]),
                ..Default::default()
            },
        )
        .await;
    assert!(bad.is_err());
    assert_eq!(
        s.forge_key(alice.id, some.id).await.unwrap().unwrap().scope,
        Some(vec![]),
        "rolled back"
    );

    // deleting a forge key returns its scope as it was
    let deleted = s
        .delete_forge_key(alice.id, open.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(deleted.scope, Some(vec![p2.id]));
}

async fn provider_key_delete_narrows_scopes(db: &TestDb) {
    let s = &db.store;
    let alice = user(s, "alice").await;
    let p1 = provider(s, alice.id, "openai").await;
    let p2 = provider(s, alice.id, "anthropic").await;
    let open = forge_key(s, alice.id, "d-open", None).await;
    let both = forge_key(s, alice.id, "d-both", Some(&[p1.id, p2.id])).await;
    let only1 = forge_key(s, alice.id, "d-one", Some(&[p1.id])).await;

    let gone = s
        .delete_provider_key(alice.id, p1.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(gone, p1);
    assert_eq!(
        s.forge_key(alice.id, both.id).await.unwrap().unwrap().scope,
        Some(vec![p2.id])
    );
    assert_eq!(
        s.forge_key(alice.id, only1.id)
            .await
            .unwrap()
            .unwrap()
            .scope,
        Some(vec![]),
        "stays restricted, to nothing"
    );
    assert_eq!(
        s.forge_key(alice.id, open.id).await.unwrap().unwrap().scope,
        None
    );
    assert_eq!(s.delete_provider_key(alice.id, p1.id).await.unwrap(), None);
}

/// The server checks ownership before it writes scope rows; a provider key deleted (or an
/// id mistaken) in between must neither show in the scope nor grant anything.
async fn scopes_show_only_live_keys_of_the_owner(db: &TestDb) {
    let s = &db.store;
    let alice = user(s, "alice").await;
    let bob = user(s, "bob").await;
    let live = provider(s, alice.id, "openai").await;
    let gone = provider(s, alice.id, "groq").await;
    let bobs = provider(s, bob.id, "mistral").await;
    s.delete_provider_key(alice.id, gone.id)
        .await
        .unwrap()
        .unwrap();
    let key = forge_key(s, alice.id, "d-race", Some(&[gone.id, bobs.id, live.id])).await;
    assert_eq!(key.scope, Some(vec![live.id]));
    assert_eq!(
        s.forge_key(alice.id, key.id).await.unwrap().unwrap().scope,
        Some(vec![live.id])
    );
    assert_eq!(
        s.list_forge_keys(alice.id).await.unwrap()[0].scope,
        Some(vec![live.id])
    );
    let auth = s.load_auth("d-race").await.unwrap().unwrap();
    assert_eq!(auth.key.scope, Some(vec![live.id]));
    let only_foreign = s
        .update_forge_key(
            alice.id,
            key.id,
            &ForgeKeyChanges {
                scope: Some(vec![bobs.id]),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(only_foreign.scope, Some(vec![]), "restricted, to nothing");
    let regenerated = s
        .regenerate_forge_key(alice.id, key.id, "d-race-2", "wxyz")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(regenerated.scope, Some(vec![]));
}

async fn provider_key_crud(db: &TestDb) {
    let s = &db.store;
    let alice = user(s, "alice").await;
    let bob = user(s, "bob").await;
    let mapping = BTreeMap::from([("gpt-4o".to_owned(), "gpt-4o-2024-08-06".to_owned())]);
    let config = BTreeMap::from([("organization".to_owned(), "org-1".to_owned())]);
    let created = s
        .create_provider_key(&NewProviderKey {
            user_id: alice.id,
            provider_name: "OpenAI",
            encrypted_api_key: &[1, 2, 3, 0, 255],
            base_url: Some("https://api.openai.com/v1"),
            model_mapping: Some(&mapping),
            config: Some(&config),
        })
        .await
        .unwrap();
    assert_eq!(created.provider_name, "OpenAI");
    assert_eq!(created.encrypted_api_key, vec![1, 2, 3, 0, 255]);
    assert_eq!(created.model_mapping.as_ref(), Some(&mapping));
    assert_eq!(created.config.as_ref(), Some(&config));
    assert_eq!(
        created.base_url.as_deref(),
        Some("https://api.openai.com/v1")
    );

    let dup = s
        .create_provider_key(&NewProviderKey {
            user_id: alice.id,
            provider_name: "openai",
            encrypted_api_key: b"x",
            base_url: None,
            model_mapping: None,
            config: None,
        })
        .await;
    assert!(
        matches!(dup, Err(StorageError::Conflict(ref f)) if f == "provider_name"),
        "{dup:?}"
    );
    let bobs = provider(s, bob.id, "openai").await;
    let p2 = provider(s, alice.id, "anthropic").await;

    assert_eq!(
        s.list_provider_keys(alice.id).await.unwrap(),
        vec![created.clone(), p2.clone()]
    );
    assert_eq!(
        s.list_provider_keys(bob.id).await.unwrap(),
        vec![bobs.clone()]
    );
    assert_eq!(
        s.provider_key_by_name(alice.id, "OPENAI").await.unwrap(),
        Some(created.clone())
    );
    assert_eq!(
        s.provider_key_by_name(alice.id, "gemini").await.unwrap(),
        None
    );

    let updated = s
        .update_provider_key(
            alice.id,
            created.id,
            &ProviderKeyChanges {
                encrypted_api_key: Some(vec![9, 9]),
                base_url: Some(None),
                model_mapping: Some(Some(BTreeMap::new())),
                config: Some(None),
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.encrypted_api_key, vec![9, 9]);
    assert_eq!(updated.base_url, None);
    assert_eq!(updated.model_mapping, Some(BTreeMap::new()));
    assert_eq!(updated.config, None);
    assert_eq!(updated.created_at, created.created_at);
    assert!(updated.updated_at >= created.updated_at);
    let untouched = s
        .update_provider_key(alice.id, created.id, &ProviderKeyChanges::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(untouched.encrypted_api_key, vec![9, 9]);
    assert_eq!(untouched.model_mapping, Some(BTreeMap::new()));
    assert_eq!(
        s.update_provider_key(bob.id, created.id, &ProviderKeyChanges::default())
            .await
            .unwrap(),
        None
    );

    assert_eq!(
        s.delete_provider_key(bob.id, created.id).await.unwrap(),
        None
    );
    assert_eq!(
        s.delete_provider_key(alice.id, created.id).await.unwrap(),
        Some(untouched)
    );
    assert_eq!(s.list_provider_keys(alice.id).await.unwrap(), vec![p2]);
    assert_eq!(
        s.provider_key_by_name(alice.id, "openai").await.unwrap(),
        None
    );
    assert_eq!(
        s.update_provider_key(alice.id, created.id, &ProviderKeyChanges::default())
            .await
            .unwrap(),
        None
    );
    // the name is free again once the old key is deleted
    let again = provider(s, alice.id, "openai").await;
    assert_ne!(again.id, created.id);
}

async fn provider_key_owner_checks(db: &TestDb) {
    let s = &db.store;
    let alice = user(s, "alice").await;
    let bob = user(s, "bob").await;
    let a1 = provider(s, alice.id, "openai").await;
    let a2 = provider(s, alice.id, "groq").await;
    let b1 = provider(s, bob.id, "openai").await;
    assert!(s.owns_provider_keys(alice.id, &[]).await.unwrap());
    assert!(
        s.owns_provider_keys(alice.id, &[a1.id, a2.id, a1.id])
            .await
            .unwrap()
    );
    assert!(
        !s.owns_provider_keys(alice.id, &[a1.id, b1.id])
            .await
            .unwrap()
    );
    assert!(!s.owns_provider_keys(alice.id, &[9999]).await.unwrap());
    s.delete_provider_key(alice.id, a2.id).await.unwrap();
    assert!(!s.owns_provider_keys(alice.id, &[a2.id]).await.unwrap());
}

async fn touch_records_latest_use(db: &TestDb) {
    let s = &db.store;
    let alice = user(s, "alice").await;
    let k1 = forge_key(s, alice.id, "d1", None).await;
    let k2 = forge_key(s, alice.id, "d2", None).await;
    s.touch_forge_keys(&[]).await.unwrap();
    s.touch_forge_keys(&[
        (k1.id, at("2025-01-01 10:00:00")),
        (k1.id, at("2025-01-01 12:00:00")),
        (k2.id, at("2025-01-02 08:00:00")),
        (9999, at("2025-01-02 08:00:00")),
    ])
    .await
    .unwrap();
    assert_eq!(
        s.forge_key(alice.id, k1.id)
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(at("2025-01-01 12:00:00"))
    );
    assert_eq!(
        s.forge_key(alice.id, k2.id)
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(at("2025-01-02 08:00:00"))
    );
    // an older, late-flushed batch does not move the time back
    s.touch_forge_keys(&[(k1.id, at("2025-01-01 11:00:00"))])
        .await
        .unwrap();
    assert_eq!(
        s.forge_key(alice.id, k1.id)
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(at("2025-01-01 12:00:00"))
    );
}

async fn load_auth_returns_everything(db: &TestDb) {
    let s = &db.store;
    let alice = user(s, "alice").await;
    let bob = user(s, "bob").await;
    let p1 = provider(s, alice.id, "openai").await;
    let p2 = provider(s, alice.id, "anthropic").await;
    provider(s, bob.id, "openai").await;
    let key = forge_key(s, alice.id, "d1", Some(&[p1.id])).await;
    s.delete_provider_key(alice.id, p2.id).await.unwrap();

    let auth = s.load_auth("d1").await.unwrap().unwrap();
    assert_eq!(auth.key, key);
    assert_eq!(auth.user, alice);
    assert_eq!(auth.provider_keys, vec![p1]);
    assert!(s.load_auth("nope").await.unwrap().is_none());

    // inactive keys still load: the caller decides what an inactive key means
    s.update_forge_key(
        alice.id,
        key.id,
        &ForgeKeyChanges {
            is_active: Some(false),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(!s.load_auth("d1").await.unwrap().unwrap().key.is_active);
}

async fn migrations_are_idempotent(db: &TestDb) {
    migrate(&db.url).await.unwrap();
    migrate(&db.url).await.unwrap();
    db.store.ping().await.unwrap();
    assert!(user(&db.store, "alice").await.is_admin);
    // a second pool on the same database sees the same data
    let other = Store::connect(&db.url).await.unwrap();
    assert!(other.user_by_username("alice").await.unwrap().is_some());
}

async fn ciphertext_round_trips_through_the_store(db: &TestDb) {
    let s = &db.store;
    let alice = user(s, "alice").await;
    let sealer = SecretBox::new(SecretBox::generate_key().unwrap());
    let blob = sealer
        .encrypt(b"sk-live-123", &provider_key_aad(alice.id, "OpenAI"))
        .unwrap();
    let created = s
        .create_provider_key(&NewProviderKey {
            user_id: alice.id,
            provider_name: "OpenAI",
            encrypted_api_key: &blob,
            base_url: None,
            model_mapping: None,
            config: None,
        })
        .await
        .unwrap();
    let stored = s
        .provider_key_by_name(alice.id, "openai")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, created);
    let aad = provider_key_aad(stored.user_id, &stored.provider_name);
    assert_eq!(
        sealer
            .decrypt(&stored.encrypted_api_key, &aad)
            .unwrap()
            .as_slice(),
        b"sk-live-123"
    );
}

#[tokio::test]
async fn sqlite_url_forms_and_parent_dir() {
    let dir = std::env::temp_dir().join(format!("forge-t-dir-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("nested").join("forge.db");
    for url in [
        format!("sqlite://{}", path.display()),
        format!("sqlite:{}", path.display()),
        path.display().to_string(),
    ] {
        migrate(&url).await.unwrap();
        let store = Store::connect(&url).await.unwrap();
        assert_eq!(store.backend_name(), "sqlite");
        store.ping().await.unwrap();
    }
    assert!(path.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn bad_urls_are_rejected() {
    assert!(matches!(
        Store::connect("mysql://h/db").await,
        Err(StorageError::Url(_))
    ));
    assert!(matches!(
        Store::run_migrations("sqlite://"),
        Err(StorageError::Url(_))
    ));
    let unreachable = Store::connect("postgres://postgres@127.0.0.1:1/none").await;
    assert!(
        matches!(unreachable, Err(StorageError::Pool(_))),
        "{unreachable:?}"
    );
}

#[test]
fn debug_output_hides_hashes_and_config_values() {
    let at = at("2025-01-01 00:00:00");
    let hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
    let config = BTreeMap::from([(
        "aws_secret_access_key".to_owned(),
        "wJalrXUtnFEMI-SECRET".to_owned(),
    )]);
    let user = User {
        id: 1,
        username: "alice".into(),
        email: "a@example.com".into(),
        hashed_password: hash.into(),
        is_active: true,
        is_admin: false,
        created_at: at,
        updated_at: at,
        token_generation: 0,
    };
    let new_user = NewUser {
        username: "alice",
        email: "a@example.com",
        hashed_password: hash,
    };
    let changes = UserChanges {
        hashed_password: Some(hash.into()),
        ..Default::default()
    };
    let key = ProviderKey {
        id: 1,
        user_id: 1,
        provider_name: "bedrock".into(),
        encrypted_api_key: vec![1, 2, 3],
        base_url: None,
        model_mapping: None,
        config: Some(config.clone()),
        created_at: at,
        updated_at: at,
    };
    let new_key = NewProviderKey {
        user_id: 1,
        provider_name: "bedrock",
        encrypted_api_key: &[1, 2, 3],
        base_url: None,
        model_mapping: None,
        config: Some(&config),
    };
    let key_changes = ProviderKeyChanges {
        encrypted_api_key: Some(vec![9; 40]),
        config: Some(Some(config.clone())),
        ..Default::default()
    };
    let auth = AuthRecord {
        key: ForgeKey {
            id: 1,
            user_id: 1,
            name: None,
            key_suffix: "abcd".into(),
            is_active: true,
            created_at: at,
            last_used_at: None,
            scope: None,
        },
        user: user.clone(),
        provider_keys: vec![key.clone()],
    };
    let shown =
        format!("{user:?} {new_user:?} {changes:?} {key:?} {new_key:?} {key_changes:?} {auth:?}");
    for secret in ["argon2id", "wJalrXUtnFEMI", "[9, 9"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(shown.contains("aws_secret_access_key"), "{shown}");
    assert!(shown.contains("alice"), "{shown}");
}

#[test]
fn migrations_run_outside_a_runtime() {
    let url = scratch_sqlite_url();
    Store::run_migrations(&url).unwrap();
    Store::run_migrations(&url).unwrap();
    let _ = std::fs::remove_file(&url);
}

/// The server spawns some of these calls (e.g. the last-used flush), so their futures must be `Send`.
#[allow(dead_code)]
fn futures_are_send(s: &Store) {
    fn send<T: Send>(_: T) {}
    send(Store::connect("x"));
    send(s.ping());
    send(s.create_user(&NewUser {
        username: "",
        email: "",
        hashed_password: "",
    }));
    send(s.update_user(1, &UserChanges::default()));
    send(s.user_by_email(""));
    send(s.touch_forge_keys(&[]));
    send(s.load_auth(""));
    send(s.update_forge_key(1, 1, &ForgeKeyChanges::default()));
    send(s.delete_forge_key(1, 1));
    send(s.list_forge_keys(1));
    send(s.delete_provider_key(1, 1));
    send(s.update_provider_key(1, 1, &ProviderKeyChanges::default()));
    send(s.owns_provider_keys(1, &[]));
}
