-- Environment variables: per project (project_id set) and panel-wide shared ones (project_id null) in one table,
-- so both are read and written by the same SQL. Every value is encrypted with ASP.NET Core Data Protection
-- (key ring in <DataDir>/keys), secret or not: one rule, and flipping a value to secret leaves no plain copy behind.
CREATE TABLE variables (
    id               INTEGER PRIMARY KEY,
    project_id       INTEGER REFERENCES projects (id) ON DELETE CASCADE,
    key              TEXT    NOT NULL,
    value_protected  TEXT    NOT NULL,
    secret           INTEGER NOT NULL DEFAULT 0 CHECK (secret IN (0, 1)),
    build_time       INTEGER NOT NULL DEFAULT 0 CHECK (build_time IN (0, 1)),
    runtime          INTEGER NOT NULL DEFAULT 1 CHECK (runtime IN (0, 1)),
    position         INTEGER NOT NULL,
    updated_at       TEXT    NOT NULL
);
-- One key per project, and one per shared set (project_id null counts as the shared set, id 0).
CREATE UNIQUE INDEX variables_one_key_per_scope ON variables (ifnull(project_id, 0), key);

-- Which shared variables a project includes, by key: a shared variable that is replaced keeps its includers.
CREATE TABLE project_shared_variables (
    project_id  INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    key         TEXT    NOT NULL,
    PRIMARY KEY (project_id, key)
);

-- Bumped on every change to what a project's deployments would get (its variables, its includes, an included
-- shared variable). A deployment records the version it ran with; the project page asks for a redeploy while the
-- live one is behind.
ALTER TABLE projects ADD COLUMN variables_version INTEGER NOT NULL DEFAULT 0;
