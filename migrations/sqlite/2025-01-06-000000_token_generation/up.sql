-- Admin session tokens carry the user's id and this generation; changing the password or the
-- username bumps it, so every token issued before the change stops working.
ALTER TABLE users ADD COLUMN token_generation BIGINT NOT NULL DEFAULT 0;
