-- One-time tokens for join.sh (issue 21): an admin asks for one, a new server's join script redeems it once for the
-- swarm's worker token. Only a SHA-256 of the token is kept (256 random bits: nothing to brute-force). A token is
-- good until used or expired (one hour), whichever comes first.
CREATE TABLE swarm_join_tokens (
    id               INTEGER PRIMARY KEY,
    token_hash       TEXT    NOT NULL UNIQUE,
    created_by       INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at       TEXT    NOT NULL,
    expires_at       TEXT    NOT NULL,
    used_at          TEXT,
    -- The client address that redeemed it, for the audit trail of who joined.
    used_by_address  TEXT
);
