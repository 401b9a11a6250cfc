-- Responses API state: the conversation after each stored response, so a follow-up turn with
-- `previous_response_id` can be rebuilt for upstreams that keep no server-side state.
CREATE TABLE stored_responses (
    id           TEXT      PRIMARY KEY,
    user_id      BIGINT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    model        TEXT      NOT NULL,
    -- JSON: the canonical messages of the conversation up to and including this response
    conversation TEXT      NOT NULL,
    created_at   TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc')
);

CREATE INDEX stored_responses_created_at ON stored_responses (created_at);
