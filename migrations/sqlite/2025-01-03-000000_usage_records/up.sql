-- One row per upstream attempt (forge_core::usage_record::UsageRecord), written idempotently by id.
-- No foreign keys: records outlive the users and keys they name, and a journal may be replayed
-- in any order. started_at is naive UTC with millisecond precision.
CREATE TABLE usage_records (
    id                  TEXT      NOT NULL PRIMARY KEY,
    request_id          TEXT      NOT NULL,
    started_at          TIMESTAMP NOT NULL,
    user_id             BIGINT,
    forge_key_id        BIGINT,
    gateway_key         TEXT,
    provider_key_id     BIGINT,
    deployment          TEXT,
    provider            TEXT      NOT NULL,
    requested_model     TEXT      NOT NULL,
    upstream_model      TEXT      NOT NULL,
    endpoint            TEXT      NOT NULL,
    dialect             TEXT      NOT NULL,
    input_tokens        BIGINT    NOT NULL,
    cached_read_tokens  BIGINT    NOT NULL,
    cache_write_tokens  BIGINT    NOT NULL,
    output_tokens       BIGINT    NOT NULL,
    reasoning_tokens    BIGINT    NOT NULL,
    -- NULL: the model has no price (never a silent zero)
    cost_nanos          BIGINT,
    currency            TEXT      NOT NULL,
    price_source        TEXT      NOT NULL,
    status              INTEGER   NOT NULL,
    error_class         TEXT,
    streamed            BOOLEAN   NOT NULL,
    estimated           BOOLEAN   NOT NULL,
    ttft_ms             BIGINT,
    duration_ms         BIGINT    NOT NULL,
    client_disconnected BOOLEAN   NOT NULL
);

CREATE INDEX usage_records_started_at ON usage_records (started_at);
CREATE INDEX usage_records_user_started_at ON usage_records (user_id, started_at);
CREATE INDEX usage_records_forge_key_started_at ON usage_records (forge_key_id, started_at);
