-- Opt-in request/response logs ([logging] in forge.toml), one row per upstream attempt: the id is
-- that attempt's usage record id, so a replayed batch is a no-op. Bodies are stored already
-- redacted and cut to the configured size (truncated says so); a NULL response_body means no
-- answer was captured. No foreign keys, as for usage_records. started_at is naive UTC (ms).
CREATE TABLE request_logs (
    id             TEXT      PRIMARY KEY,
    request_id     TEXT      NOT NULL,
    started_at     TIMESTAMP NOT NULL,
    user_id        BIGINT,
    forge_key_id   BIGINT,
    gateway_key    TEXT,
    provider       TEXT      NOT NULL,
    model          TEXT      NOT NULL,
    upstream_model TEXT      NOT NULL,
    endpoint       TEXT      NOT NULL,
    status         INTEGER   NOT NULL,
    streamed       BOOLEAN   NOT NULL,
    request_body   TEXT      NOT NULL,
    response_body  TEXT,
    truncated      BOOLEAN   NOT NULL
);

CREATE INDEX request_logs_started_at ON request_logs (started_at);
CREATE INDEX request_logs_user_started_at ON request_logs (user_id, started_at);
