-- /healthz and the dashboard prove the database takes writes by overwriting this one row: a read alone kept saying
-- "ok" while every write failed (the -wal file deleted underneath the panel, a full disk). One row forever (the
-- CHECK), rewritten in place, so the probe never grows the file.
CREATE TABLE health_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    written_at TEXT NOT NULL
);
