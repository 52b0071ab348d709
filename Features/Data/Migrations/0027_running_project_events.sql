-- Running apps (issue 16): what the user wants of a deployed app, and what happened to it.
-- A user's stop is remembered here, so self-healing (Deployments/LiveReconciler) leaves that app stopped. It holds
-- for the deployment that was live when stopped: a start or restart clears it, and a deploy that goes live makes it
-- moot (another deployment). Crash looping is kept the same way, with the last lines of the container's log as they
-- were when it was marked.
CREATE TABLE project_run_state (
    project_id            INTEGER PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    stopped_deployment_id INTEGER,
    stopped_at            TEXT,
    stopped_by            TEXT,
    crash_deployment_id   INTEGER,
    crash_looping_since   TEXT,
    crash_log             TEXT
);
-- What was done to a project's running app, by whom (a user's email) or by the panel (actor NULL): stopped, started,
-- restarted, restarted or recreated by self-healing, crash looping, orphan removed, site regenerated. Trimmed to the
-- newest Running:EventsKept per project.
CREATE TABLE project_events (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    at          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    message     TEXT NOT NULL,
    actor       TEXT
);
CREATE INDEX project_events_by_project ON project_events (project_id, id);
