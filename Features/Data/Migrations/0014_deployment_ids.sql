-- foreign_keys: off
-- (The line above tells Migrations.Apply to run this one with foreign keys off and check them before committing:
-- the deployments table is rebuilt, and with foreign keys on, DROP TABLE deployments would first delete every row,
-- cascading into deployment_steps and nulling webhook_deliveries.deployment_id. See 0004.)
--
-- Issue 12, finding 4: deployment ids were reused and a log file was shared by two deployments.
-- * AUTOINCREMENT: a plain INTEGER PRIMARY KEY hands out max(id)+1, so deleting a project whose deployments had the
--   highest ids gave their ids (and URLs, and log file names) to the next deployments. sqlite_sequence remembers the
--   highest id ever used, so within one database an id never comes back.
-- * log_key: AUTOINCREMENT cannot help after restoring an OLDER backup: its sqlite_sequence is older too, and the ids
--   handed out since the backup are handed out again, while their log files are still in <DataDir>/logs. So the log
--   file is named <id>-<log_key>.log, with 128 random bits chosen when the row is inserted (DeployStore.NewLogKey).
--   A row restored from a backup keeps its key and finds its own file; a new row gets a key no file can have.
--   Rows from before this migration keep a null key and their old <id>.log name (written before any reuse could
--   matter here; nothing writes that name any more).
CREATE TABLE deployments_new (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id        INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    status            TEXT    NOT NULL CHECK (status IN ('queued', 'cloning', 'building', 'starting', 'health_checking',
                                                         'switching', 'live', 'failed', 'cancelled', 'superseded', 'retired')),
    trigger           TEXT    NOT NULL CHECK (trigger IN ('manual', 'redeploy', 'rollback', 'webhook')),
    requested_by      INTEGER REFERENCES users (id) ON DELETE SET NULL,
    -- A redeploy pins the exact commit; null means "the head of the branch when the deploy starts".
    requested_commit  TEXT,
    -- A rollback reuses this deployment's image and configuration instead of cloning and building.
    rollback_of       INTEGER REFERENCES deployments (id) ON DELETE SET NULL,
    -- The project's configuration this deployment runs with (JSON), so a rollback restores it exactly.
    config_json       TEXT    NOT NULL,
    commit_sha        TEXT,
    commit_message    TEXT,
    commit_author     TEXT,
    image             TEXT,
    container_name    TEXT,
    host_port         INTEGER,
    failed_step       TEXT,
    error             TEXT,
    cancel_requested  INTEGER NOT NULL DEFAULT 0,
    created_at        TEXT    NOT NULL,
    started_at        TEXT,
    finished_at       TEXT,
    -- Which door a deploy came through when its trigger is 'manual': the pages or the API (scripts and the CLI).
    requested_via     TEXT CHECK (requested_via IN ('web', 'api')),
    -- Part of the log file's name (see above); null only on rows from before 0014.
    log_key           TEXT CHECK (log_key IS NULL OR (length(log_key) = 32 AND log_key NOT GLOB '*[^0-9a-f]*'))
);
INSERT INTO deployments_new (id, project_id, status, trigger, requested_by, requested_commit, rollback_of, config_json,
                             commit_sha, commit_message, commit_author, image, container_name, host_port, failed_step, error,
                             cancel_requested, created_at, started_at, finished_at, requested_via)
SELECT id, project_id, status, trigger, requested_by, requested_commit, rollback_of, config_json,
       commit_sha, commit_message, commit_author, image, container_name, host_port, failed_step, error,
       cancel_requested, created_at, started_at, finished_at, requested_via
FROM deployments;
DROP TABLE deployments;
ALTER TABLE deployments_new RENAME TO deployments;
CREATE INDEX deployments_by_project ON deployments (project_id, id);
CREATE INDEX deployments_by_status ON deployments (status);
-- At most one live deployment per project, enforced by the database rather than by hope.
CREATE UNIQUE INDEX deployments_one_live_per_project ON deployments (project_id) WHERE status = 'live';
