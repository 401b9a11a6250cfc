//! The encryption key is recognised at start (its fingerprint is kept with the data), so a
//! missing or wrong `encryption.key` refuses to start instead of leaving every stored provider
//! key unreadable; `rotate-encryption-key` moves every stored key to a new one.

use forge_server::StartError;
use forge_server::config::Settings;
use forge_storage::crypto::{SecretBox, fingerprint, provider_key_aad};
use forge_storage::{NewProviderKey, NewUser};

use crate::harness::{
    Backend, PG_ADMIN_URL, TestServer, add_provider, client, get, register_and_login, scratch_dir,
};
use crate::on_both_backends;

const KEY_A: &str = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
const KEY_B: &str = "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2";

fn settings(s: &TestServer) -> Settings {
    let mut settings = Settings::for_data_dir(s.data_dir.clone(), "127.0.0.1:0".parse().unwrap());
    settings.database_url = Some(s.database_url.clone());
    settings.allow_private_upstreams = true;
    settings
}

/// Starts a server the way the binary does and reports how the start ended.
fn start(settings: Settings) -> Result<(), String> {
    std::thread::spawn(move || {
        actix_rt::System::new().block_on(async move {
            forge_server::build(settings)
                .await
                .map(drop)
                .map_err(|e| match e {
                    StartError::EncryptionKeyMismatch => "mismatch".to_owned(),
                    other => other.to_string(),
                })
        })
    })
    .join()
    .unwrap()
}

fn write_key(s: &TestServer, file: &str, hex: &str) {
    std::fs::write(s.data_dir.join(file), hex).unwrap();
}

/// Whether the admin API can still read (mask) the stored provider key.
async fn key_is_readable(s: &TestServer, jwt: &str) -> bool {
    let reply = get(&client(), &s.url("/v1/provider-keys"), Some(jwt)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body[0]["api_key"].is_string()
}

async fn a_wrong_or_missing_key_refuses_to_start_and_rotation_moves_every_key(b: Backend) {
    let mut s = TestServer::start(b).await;
    let c = client();
    let jwt = register_and_login(&c, &s, "keeper").await;
    add_provider(
        &c,
        &s,
        &jwt,
        "openai",
        "sk-stored-secret-0123456789",
        "http://127.0.0.1:9/v1",
    )
    .await;
    assert!(key_is_readable(&s, &jwt).await);
    s.stop().await;
    let original = std::fs::read_to_string(s.data_dir.join("encryption.key")).unwrap();

    // Another key, then no key at all (a new one would be generated): both refused.
    write_key(&s, "encryption.key", KEY_A);
    assert_eq!(start(settings(&s)), Err("mismatch".to_owned()));
    std::fs::remove_file(s.data_dir.join("encryption.key")).unwrap();
    assert_eq!(start(settings(&s)), Err("mismatch".to_owned()));

    // Back to the original key: it starts and reads the key.
    write_key(&s, "encryption.key", &original);
    s.restart().await;
    assert!(key_is_readable(&s, &jwt).await);
    s.stop().await;

    // Rotation: the new key current, the old one previous. Both are accepted meanwhile.
    write_key(&s, "encryption.key.previous", &original);
    write_key(&s, "encryption.key", KEY_B);
    s.restart().await;
    assert!(
        key_is_readable(&s, &jwt).await,
        "served during the rotation window"
    );
    let rewritten = forge_server::rotate_encryption_key(&settings(&s))
        .await
        .unwrap();
    assert_eq!(rewritten, 1);
    s.stop().await;
    // Without the previous key: the new one alone opens everything, the old one no longer.
    std::fs::remove_file(s.data_dir.join("encryption.key.previous")).unwrap();
    s.restart().await;
    assert!(key_is_readable(&s, &jwt).await);
    s.stop().await;
    write_key(&s, "encryption.key", &original);
    assert_eq!(start(settings(&s)), Err("mismatch".to_owned()));
    // A second rotation has nothing left to do.
    write_key(&s, "encryption.key", KEY_B);
    assert_eq!(
        forge_server::rotate_encryption_key(&settings(&s))
            .await
            .unwrap(),
        0
    );
}

/// A database from before fingerprints were kept: the first start checks a stored secret
/// against its key, and records the fingerprint only when the key opens it.
async fn without_a_recorded_fingerprint_a_stored_secret_decides(b: Backend) {
    forge_server::install_crypto_provider();
    let data_dir = scratch_dir();
    let database_url = match b {
        Backend::Sqlite => format!("sqlite://{}", data_dir.join("forge.db").display()),
        Backend::Postgres => forge_storage::testing::scratch_postgres(PG_ADMIN_URL)
            .await
            .unwrap(),
    };
    let mut settings = Settings::for_data_dir(data_dir.clone(), "127.0.0.1:0".parse().unwrap());
    settings.database_url = Some(database_url.clone());
    forge_server::migrate(&settings).await.unwrap();
    let store = forge_storage::Store::connect(&database_url).await.unwrap();
    let user = store
        .create_user(&NewUser {
            username: "old",
            email: "old@example.com",
            hashed_password: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
        })
        .await
        .unwrap();
    let mut key = [0u8; 32];
    hex::decode_to_slice(KEY_A, &mut key).unwrap();
    let sealed = SecretBox::new(key)
        .encrypt(b"sk-old-secret", &provider_key_aad(user.id, "openai"))
        .unwrap();
    store
        .create_provider_key(&NewProviderKey {
            user_id: user.id,
            provider_name: "openai",
            encrypted_api_key: &sealed,
            base_url: None,
            model_mapping: None,
            config: None,
        })
        .await
        .unwrap();
    assert_eq!(store.encryption_fingerprint().await.unwrap(), None);

    std::fs::write(data_dir.join("encryption.key"), KEY_B).unwrap();
    assert_eq!(start(settings.clone()), Err("mismatch".to_owned()));
    assert_eq!(
        store.encryption_fingerprint().await.unwrap(),
        None,
        "nothing recorded"
    );
    std::fs::write(data_dir.join("encryption.key"), KEY_A).unwrap();
    assert_eq!(start(settings.clone()), Ok(()));
    assert_eq!(
        store.encryption_fingerprint().await.unwrap().as_deref(),
        Some(fingerprint(&key).as_str())
    );
}

on_both_backends!(
    a_wrong_or_missing_key_refuses_to_start_and_rotation_moves_every_key,
    without_a_recorded_fingerprint_a_stored_secret_decides,
);
