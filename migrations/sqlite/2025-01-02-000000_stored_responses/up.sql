-- Responses API state: the conversation after each stored response, so a follow-up turn with
-- `previous_response_id` can be rebuilt for upstreams that keep no server-side state.
CREATE TABLE stored_responses (
    id           TEXT      NOT NULL PRIMARY KEY,
    user_id      INTEGER   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    model        TEXT      NOT NULL,
    -- JSON: the canonical messages of the conversation up to and including this response
    conversation TEXT      NOT NULL,
    created_at   TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX stored_responses_created_at ON stored_responses (created_at);
