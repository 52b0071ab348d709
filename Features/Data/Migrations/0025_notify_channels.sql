-- Notifications (issue 17). Admins define channels; events are queued in notification_messages (the outbound
-- queue: rows survive a restart and a worker delivers them with back-off), and every attempt is logged in
-- notification_deliveries. Secret settings (webhook secret, Slack/Discord URL, Telegram token, ntfy token, SMTP
-- password) are one JSON object encrypted with Data Protection in secret_protected, never in settings_json.
CREATE TABLE notification_channels (
    id                    INTEGER PRIMARY KEY,
    type                  TEXT NOT NULL,
    name                  TEXT NOT NULL UNIQUE,
    settings_json         TEXT NOT NULL,
    secret_protected      TEXT,
    -- Comma-separated event names; deployment.failed is always delivered whatever this says.
    events                TEXT NOT NULL,
    -- Comma-separated project ids, or NULL for every project.
    projects              TEXT,
    allow_private_network INTEGER NOT NULL DEFAULT 0,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
);
-- One message per channel. Flood collapse: a second event of the same kind for the same project within the window
-- adds to count of a message still queued, or becomes one follow-up (follow_up = 1) due when the window ends.
CREATE TABLE notification_messages (
    id            INTEGER PRIMARY KEY,
    channel_id    INTEGER NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
    event         TEXT NOT NULL,
    project_id    INTEGER,
    project       TEXT NOT NULL DEFAULT '',
    deployment_id INTEGER,
    message       TEXT NOT NULL,
    path          TEXT NOT NULL,
    count         INTEGER NOT NULL DEFAULT 1,
    follow_up     INTEGER NOT NULL DEFAULT 0,
    test          INTEGER NOT NULL DEFAULT 0,
    window_at     TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_at       TEXT NOT NULL,
    due_at        TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    -- pending, delivered, gave_up
    status        TEXT NOT NULL DEFAULT 'pending',
    finished_at   TEXT
);
CREATE INDEX notification_messages_due ON notification_messages (status, due_at);
CREATE INDEX notification_messages_flood ON notification_messages (channel_id, event, project_id, window_at);
CREATE TABLE notification_deliveries (
    id         INTEGER PRIMARY KEY,
    channel_id INTEGER NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
    message_id INTEGER NOT NULL REFERENCES notification_messages (id) ON DELETE CASCADE,
    at         TEXT NOT NULL,
    attempt    INTEGER NOT NULL,
    ok         INTEGER NOT NULL,
    detail     TEXT NOT NULL
);
CREATE INDEX notification_deliveries_channel ON notification_deliveries (channel_id, id);
