-- Database services (PostgreSQL, MariaDB, Redis) the panel runs beside the apps, and which projects use them.
-- A service is one container (vpspanel-<panel>-svc-<name>) on one named volume (vpspanel-<panel>-svc-<name>-data),
-- reached by the projects linked to it on their private networks under its name (a network alias).
CREATE TABLE services (
    id                  INTEGER PRIMARY KEY,
    -- A DNS label: it is the host name apps connect to, and part of the container and volume names.
    name                TEXT    NOT NULL UNIQUE,
    engine              TEXT    NOT NULL CHECK (engine IN ('postgres', 'mariadb', 'redis')),
    -- The image tag it runs (Services:Images:<Engine> is the repository); its major version decides the data format.
    version             TEXT    NOT NULL,
    -- The image it was last created from, in full (repository:version), as recorded when the container was made.
    image               TEXT    NOT NULL,
    -- The generated password (superuser/owner, or requirepass), encrypted with ASP.NET Core Data Protection like
    -- secret variables (key ring in <DataDir>/keys): a restored backup needs that key ring to use it.
    password_protected  TEXT    NOT NULL,
    memory_mb           INTEGER NOT NULL CHECK (memory_mb >= 16),
    -- Published on all addresses when set; NULL = reachable only from linked projects' networks.
    public_port         INTEGER UNIQUE CHECK (public_port IS NULL OR public_port BETWEEN 1024 AND 65535),
    owner_id            INTEGER NOT NULL REFERENCES users (id),
    -- What the operator asked for (start/stop); the container's restart policy keeps a running one running.
    desired_state       TEXT    NOT NULL DEFAULT 'running' CHECK (desired_state IN ('running', 'stopped')),
    -- What the panel last saw or did: creating, running, stopped, failed; with the error of the last failure.
    status              TEXT    NOT NULL DEFAULT 'creating',
    status_error        TEXT,
    status_at           TEXT    NOT NULL,
    created_at          TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL
);
CREATE INDEX services_by_owner ON services (owner_id);

-- A project linked to a service gets its connection variables (DATABASE_URL or REDIS_URL and the parts) and its
-- network is joined by the service's container.
CREATE TABLE service_links (
    service_id  INTEGER NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    project_id  INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    created_at  TEXT    NOT NULL,
    PRIMARY KEY (service_id, project_id)
);
CREATE INDEX service_links_by_project ON service_links (project_id);
