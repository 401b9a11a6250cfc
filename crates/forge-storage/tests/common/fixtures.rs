//! Rows that tests need to exist but do not look at closely.

use forge_storage::{NewProviderKey, NewUser, ProviderKey, Store, User};

#[allow(dead_code)]
pub async fn user(store: &Store, name: &str) -> User {
    store
        .create_user(&NewUser {
            username: name,
            email: &format!("{name}@example.com"),
            hashed_password: "$argon2id$fake",
        })
        .await
        .unwrap()
}

#[allow(dead_code)]
pub async fn provider(store: &Store, user_id: i64, name: &str) -> ProviderKey {
    store
        .create_provider_key(&NewProviderKey {
            user_id,
            provider_name: name,
            encrypted_api_key: b"\x01ciphertext",
            base_url: None,
            model_mapping: None,
            config: None,
        })
        .await
        .unwrap()
}
