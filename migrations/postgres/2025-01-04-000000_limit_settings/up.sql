-- Limits and budgets set through the admin API for one Forge key (`key:<id>`) or one user
-- (`user:<id>`); a row replaces forge.toml's `[limits]` default for that scope. user_id is the
-- user the scope belongs to (the key's owner). Columns left NULL are unlimited. budgets is a
-- JSON list: [{"period": "day"|"month"|"total", "max_cost_nanos": n|null, "max_tokens": n|null}].
-- No foreign keys: a row of a deleted key is inert, as the key can no longer authenticate.
CREATE TABLE limit_settings (
    scope       TEXT      NOT NULL PRIMARY KEY,
    user_id     BIGINT    NOT NULL,
    rpm         BIGINT,
    tpm         BIGINT,
    concurrency BIGINT,
    budgets     TEXT      NOT NULL DEFAULT '[]',
    updated_at  TIMESTAMP NOT NULL
);

CREATE INDEX limit_settings_user_id ON limit_settings (user_id);
