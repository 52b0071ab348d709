-- Disk hygiene (issue 16). A pinned deployment's image is a rollback target the user chose to keep: the cleanup
-- (Features/Hygiene/DiskCleanup) never removes it, whatever Disk:KeepImages says. A row per pin; unpinning deletes it.
CREATE TABLE pinned_deployments (
    deployment_id  INTEGER PRIMARY KEY REFERENCES deployments (id) ON DELETE CASCADE,
    pinned_by      INTEGER REFERENCES users (id) ON DELETE SET NULL,
    pinned_at      TEXT NOT NULL
);
-- One row per cleanup run (scheduled, from the page, the API or the CLI): what it reclaimed, shown on /disk.
-- Only the newest runs are kept (the cleanup deletes older rows itself).
CREATE TABLE disk_cleanups (
    id               INTEGER PRIMARY KEY,
    started_at       TEXT NOT NULL,
    finished_at      TEXT NOT NULL,
    trigger          TEXT NOT NULL CHECK (trigger IN ('job', 'web', 'api')),
    images_removed   INTEGER NOT NULL,
    bytes_reclaimed  INTEGER NOT NULL,
    detail           TEXT NOT NULL
);
