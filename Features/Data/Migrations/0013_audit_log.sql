-- The audit log (issue 11): who did what, when, from which address. No foreign keys on purpose: a row must outlive
-- the user, project or token it names, so it keeps the user's email and the target's name as they were.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT    NOT NULL,
    user_id     INTEGER,
    -- '' when no panel user acted: the CLI (address 'cli'), a scheduled job ('job') or a signed webhook.
    user_email  TEXT    NOT NULL DEFAULT '',
    action      TEXT    NOT NULL,
    target      TEXT    NOT NULL DEFAULT '',
    detail      TEXT    NOT NULL DEFAULT '',
    -- The client's IP as the panel sees it (after forwarded-header handling), or 'cli' / 'job'.
    address     TEXT    NOT NULL DEFAULT '',
    -- The door the request came through: web, api, webhook, cli or job.
    via         TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);

-- Append-only. An UPDATE is always refused, so a row can never be re-dated or re-worded. A DELETE is refused for rows
-- younger than 30 days: the retention prune (Audit:RetentionDays, at least 30) only ever deletes older rows, so it
-- passes, while a bug or a hand-typed DELETE cannot wipe recent history. The 30 is the setting's minimum in
-- Features/Settings/PanelSettings.cs; change both together. (Whoever can write the file can also drop a trigger:
-- this guards the panel's own code paths, it is not tamper-proofing against root.)
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: rows cannot be changed');
END;
CREATE TRIGGER audit_log_no_recent_delete BEFORE DELETE ON audit_log
WHEN old.at > strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-30 days')
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: only rows older than 30 days can be deleted (the retention prune)');
END;
