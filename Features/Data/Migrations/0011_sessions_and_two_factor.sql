-- Sign-in sessions kept on the server (issue 11, finding 10): the auth cookie carries a random session token and
-- only its SHA-256 is stored here. Signing out deletes the row, so a copy of the cookie stops working at once;
-- a password change deletes the user's other rows, disabling a user or changing their role deletes all of them.
-- Cookies issued before this migration carry no session and are refused (everyone signs in once more).
CREATE TABLE sessions (
    id            TEXT    PRIMARY KEY,  -- hex SHA-256 of the token in the cookie
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    TEXT    NOT NULL,
    last_seen_at  TEXT    NOT NULL,
    address       TEXT    NOT NULL      -- the client's address at sign-in (after trusted proxy headers)
) WITHOUT ROWID;
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Two-factor sign-in (TOTP). The secret is encrypted with Data Protection (purpose VpsPanel.Auth.Totp.v1).
-- totp_pending_protected holds a secret shown on the enrolment page until the user confirms it with a code;
-- totp_last_step is the last time step accepted, so the same code cannot be used twice.
ALTER TABLE users ADD COLUMN totp_secret_protected TEXT;
ALTER TABLE users ADD COLUMN totp_pending_protected TEXT;
ALTER TABLE users ADD COLUMN totp_enabled_at TEXT;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER;

-- One-time recovery codes, shown once, stored as SHA-256 (they are random, 50 bits each, so a slow hash adds nothing).
CREATE TABLE recovery_codes (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT    NOT NULL,
    used_at    TEXT,
    PRIMARY KEY (user_id, code_hash)
) WITHOUT ROWID;
