-- Persistent storage of a project (issue 15). A row is a Docker named volume <panel id>-<slug>-<name> (host_path
-- NULL), or, set by an admin only, a directory of the host under Storage:HostPathRoot bind-mounted instead. The
-- volume's data lives in Docker, not here: deleting the row (or the project) leaves the volume, listed as orphaned
-- until an admin deletes it. Names and mount paths are unique per project; the rules are in Features/Volumes.
CREATE TABLE project_volumes (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    mount_path  TEXT NOT NULL,
    host_path   TEXT,
    created_at  TEXT NOT NULL,
    UNIQUE (project_id, name),
    UNIQUE (project_id, mount_path)
);
-- "Stop the old container before starting the new one": for apps that cannot share their data with a second copy
-- of themselves (SQLite without WAL, a lock file). Costs the downtime of a start and health check.
ALTER TABLE projects ADD COLUMN stop_old_first INTEGER NOT NULL DEFAULT 0;
