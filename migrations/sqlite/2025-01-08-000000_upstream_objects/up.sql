-- Files and batches live upstream, on one provider account; Forge records which of its
-- callers created each id and on which provider key, so later calls with the id go to that
-- key and nobody else reaches it. `owner` is `user:<id>` or `static:<forge.toml key name>`;
-- `user_id` (when a user owns it) lets a deleted user's rows go with them.
CREATE TABLE upstream_objects (
    owner           TEXT      NOT NULL,
    object_id       TEXT      NOT NULL,
    kind            TEXT      NOT NULL,
    user_id         INTEGER   REFERENCES users (id) ON DELETE CASCADE,
    -- lowercase provider name; with provider_key_id NULL, the forge.toml provider of that name
    provider        TEXT      NOT NULL,
    provider_key_id INTEGER,
    created_at      TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (owner, object_id)
);
