//! The one diesel schema for both backends. Ids are BIGINT on Postgres and INTEGER (64-bit)
//! on SQLite; keep this file in step with both migration directories.
//!
//! `usage_records` has no `table!` here: its 28 columns exceed diesel's 16-column limit
//! without the `32-column-tables` feature, so `usage_sql` reaches it with SQL text instead.

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        email -> Text,
        email_lower -> Text,
        hashed_password -> Text,
        is_active -> Bool,
        is_admin -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        token_generation -> BigInt,
    }
}

diesel::table! {
    forge_api_keys (id) {
        id -> BigInt,
        user_id -> BigInt,
        key_digest -> Text,
        key_suffix -> Text,
        name -> Nullable<Text>,
        is_active -> Bool,
        scope_restricted -> Bool,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    forge_key_scopes (forge_api_key_id, provider_key_id) {
        forge_api_key_id -> BigInt,
        provider_key_id -> BigInt,
    }
}

diesel::table! {
    provider_keys (id) {
        id -> BigInt,
        user_id -> BigInt,
        provider_name -> Text,
        provider_name_lower -> Text,
        encrypted_api_key -> Binary,
        base_url -> Nullable<Text>,
        model_mapping -> Nullable<Text>,
        config -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    stored_responses (id) {
        id -> Text,
        user_id -> BigInt,
        model -> Text,
        conversation -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    upstream_objects (owner, object_id) {
        owner -> Text,
        object_id -> Text,
        kind -> Text,
        user_id -> Nullable<BigInt>,
        provider -> Text,
        provider_key_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(forge_api_keys -> users (user_id));
diesel::joinable!(stored_responses -> users (user_id));
diesel::joinable!(provider_keys -> users (user_id));
diesel::joinable!(forge_key_scopes -> forge_api_keys (forge_api_key_id));
diesel::joinable!(forge_key_scopes -> provider_keys (provider_key_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    forge_api_keys,
    forge_key_scopes,
    provider_keys,
    stored_responses
);
