-- Scheduled dumps of database services: when (a Quartz cron per service; empty = only on demand), how many to keep,
-- and one row per dump made or tried. The dump files live in <DataDir>/backups/services/<name>/; a row of a failed
-- dump keeps its error and has no file.
ALTER TABLE services ADD COLUMN dump_schedule TEXT NOT NULL DEFAULT '0 0 3 * * ?';
ALTER TABLE services ADD COLUMN dump_keep INTEGER NOT NULL DEFAULT 7 CHECK (dump_keep BETWEEN 1 AND 1000);

CREATE TABLE service_dumps (
    id           INTEGER PRIMARY KEY,
    service_id   INTEGER NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    -- running until it ends; ok with a file, failed with an error; pruned once retention deleted the file.
    status       TEXT    NOT NULL CHECK (status IN ('running', 'ok', 'failed', 'pruned')),
    -- The file name inside the service's dump directory (<timestamp>.<ext>); never a path.
    file         TEXT,
    size_bytes   INTEGER,
    error        TEXT,
    -- manual (page, API, CLI) or schedule.
    trigger      TEXT    NOT NULL,
    started_at   TEXT    NOT NULL,
    finished_at  TEXT
);
CREATE INDEX service_dumps_by_service ON service_dumps (service_id, id);
