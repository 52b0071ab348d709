-- Push webhooks: each project's secret, its auto-deploy switch, and the log of what its webhook received.

-- The webhook secret, encrypted with ASP.NET Core Data Protection (purpose VpsPanel.Webhooks.Secret.v1, key ring in
-- <DataDir>/keys), so a copy of the database file alone (a backup) does not give the secret away. Null until the
-- panel generates one (at creation; older projects get theirs the first time their page or API entry is read).
ALTER TABLE projects ADD COLUMN webhook_secret_protected TEXT;
-- Off: a push is logged as received, nothing is deployed.
ALTER TABLE projects ADD COLUMN auto_deploy INTEGER NOT NULL DEFAULT 1 CHECK (auto_deploy IN (0, 1));

-- Which door a deploy came through when its trigger is 'manual': the pages or the API (scripts and the CLI).
-- A column rather than a wider trigger CHECK: widening the CHECK means rebuilding the deployments table, which
-- other tables reference, with foreign keys off, which cannot be switched inside a migration's transaction.
ALTER TABLE deployments ADD COLUMN requested_via TEXT CHECK (requested_via IN ('web', 'api'));

-- Every delivery to /webhooks/{slug} of an existing project, whatever became of it, and why. Pruned to the last
-- 100 per project on insert.
CREATE TABLE webhook_deliveries (
    id             INTEGER PRIMARY KEY,
    project_id     INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    received_at    TEXT    NOT NULL,
    provider       TEXT,
    event          TEXT,
    -- The provider's id for this delivery (X-GitHub-Delivery, …): a redelivery carries the same one.
    delivery_id    TEXT,
    branch         TEXT,
    commit_sha     TEXT,
    outcome        TEXT    NOT NULL CHECK (outcome IN ('queued', 'ignored', 'rejected', 'duplicate', 'ping')),
    reason         TEXT    NOT NULL,
    deployment_id  INTEGER REFERENCES deployments (id) ON DELETE SET NULL
);
CREATE INDEX webhook_deliveries_by_project ON webhook_deliveries (project_id, id);
-- One queued deploy per delivery id, enforced by the database: two copies of a delivery racing in cannot both deploy.
CREATE UNIQUE INDEX webhook_deliveries_one_deploy_per_delivery ON webhook_deliveries (project_id, delivery_id)
    WHERE outcome = 'queued' AND delivery_id IS NOT NULL;
