-- Users of the panel. Emails are compared case-insensitively.
CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    email           TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    password_hash   TEXT    NOT NULL,
    role            TEXT    NOT NULL CHECK (role IN ('admin', 'member')),
    disabled        INTEGER NOT NULL DEFAULT 0,
    -- Changes whenever the password (or anything that must end other sessions) changes;
    -- the auth cookie carries it and is rejected once it no longer matches.
    security_stamp  TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL
);
