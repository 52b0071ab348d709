-- Bearer tokens for the REST API and the CLI. Only a SHA-256 of the token is stored: tokens are 256 random
-- bits, so a fast hash is enough (there is nothing to brute-force), and lookups stay one indexed read.
CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    token_hash    TEXT    NOT NULL UNIQUE,
    -- The first characters, shown in lists so a user can tell tokens apart without the secret.
    prefix        TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    expires_at    TEXT,
    last_used_at  TEXT,
    revoked_at    TEXT
);
CREATE INDEX api_tokens_by_user ON api_tokens (user_id);
