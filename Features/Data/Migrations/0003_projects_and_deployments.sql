-- A project: one Git repository deployed as one container behind one Caddy site.
-- The slug is derived from the name once, at creation, and never changes: images, containers and the
-- Caddy site file are named after it.
CREATE TABLE projects (
    id                  INTEGER PRIMARY KEY,
    name                TEXT    NOT NULL,
    slug                TEXT    NOT NULL UNIQUE,
    owner_id            INTEGER NOT NULL REFERENCES users (id),
    git_url             TEXT    NOT NULL,
    branch              TEXT    NOT NULL,
    dockerfile_path     TEXT    NOT NULL DEFAULT 'Dockerfile',
    context_dir         TEXT    NOT NULL DEFAULT '.',
    container_port      INTEGER NOT NULL CHECK (container_port BETWEEN 1 AND 65535),
    health_path         TEXT    NOT NULL DEFAULT '/',
    -- How the panel reaches a private repository: none, an HTTPS token, or the project's SSH deploy key.
    git_auth            TEXT    NOT NULL DEFAULT 'none' CHECK (git_auth IN ('none', 'token', 'ssh')),
    -- The HTTPS token, encrypted with ASP.NET Core Data Protection (key ring in <DataDir>/keys). Never shown again.
    git_token_protected TEXT,
    -- The public half of the deploy key; the private half is a 0600 file under <DataDir>/ssh.
    ssh_public_key      TEXT,
    created_at          TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL
);
CREATE INDEX projects_by_owner ON projects (owner_id);

-- Hostnames routed to a project. A hostname belongs to at most one project.
CREATE TABLE project_domains (
    project_id  INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    hostname    TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    position    INTEGER NOT NULL,
    PRIMARY KEY (project_id, hostname)
);

-- The deployment queue and history in one table. See GUIDE.md for the state machine.
CREATE TABLE deployments (
    id                INTEGER PRIMARY KEY,
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
    finished_at       TEXT
);
CREATE INDEX deployments_by_project ON deployments (project_id, id);
CREATE INDEX deployments_by_status ON deployments (status);
-- At most one live deployment per project, enforced by the database rather than by hope.
CREATE UNIQUE INDEX deployments_one_live_per_project ON deployments (project_id) WHERE status = 'live';

-- When each step of a deployment started and ended, for the per-step durations on the deployment page.
CREATE TABLE deployment_steps (
    deployment_id  INTEGER NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    step           TEXT    NOT NULL,
    started_at     TEXT    NOT NULL,
    finished_at    TEXT,
    PRIMARY KEY (deployment_id, step)
);
