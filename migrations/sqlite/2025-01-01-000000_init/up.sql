-- Forge schema (SQLite). Keep in step with migrations/postgres and crates/forge-storage/src/schema.rs.
-- Timestamps are naive UTC written by the application; JSON maps are stored as TEXT.

CREATE TABLE users (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    username        TEXT    NOT NULL,
    email           TEXT    NOT NULL,
    -- lowercased copy of email: uniqueness and lookups ignore case, the display form is kept
    email_lower     TEXT    NOT NULL,
    hashed_password TEXT    NOT NULL,
    is_active       BOOLEAN NOT NULL DEFAULT 1,
    is_admin        BOOLEAN NOT NULL DEFAULT 0,
    created_at      TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at      TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT users_username_key UNIQUE (username),
    CONSTRAINT users_email_lower_key UNIQUE (email_lower)
);

CREATE TABLE provider_keys (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id             INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider_name       TEXT    NOT NULL,
    provider_name_lower TEXT    NOT NULL,
    encrypted_api_key   BLOB    NOT NULL,
    base_url            TEXT,
    model_mapping       TEXT,
    config              TEXT,
    created_at          TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at          TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at          TIMESTAMP
);

-- one live key per provider name and user; soft-deleted rows do not block re-creation
CREATE UNIQUE INDEX provider_keys_user_provider_name_live
    ON provider_keys (user_id, provider_name_lower) WHERE deleted_at IS NULL;
CREATE INDEX provider_keys_user_id ON provider_keys (user_id);

CREATE TABLE forge_api_keys (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id          INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key_digest       TEXT    NOT NULL,
    key_suffix       TEXT    NOT NULL,
    name             TEXT,
    is_active        BOOLEAN NOT NULL DEFAULT 1,
    -- false: may use every provider key of the user; true: only those in forge_key_scopes
    scope_restricted BOOLEAN NOT NULL DEFAULT 0,
    created_at       TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    last_used_at     TIMESTAMP,
    deleted_at       TIMESTAMP,
    CONSTRAINT forge_api_keys_key_digest_key UNIQUE (key_digest)
);

CREATE INDEX forge_api_keys_user_id ON forge_api_keys (user_id);

CREATE TABLE forge_key_scopes (
    forge_api_key_id INTEGER NOT NULL REFERENCES forge_api_keys (id) ON DELETE CASCADE,
    provider_key_id  INTEGER NOT NULL REFERENCES provider_keys (id) ON DELETE CASCADE,
    PRIMARY KEY (forge_api_key_id, provider_key_id)
);

CREATE INDEX forge_key_scopes_provider_key_id ON forge_key_scopes (provider_key_id);
