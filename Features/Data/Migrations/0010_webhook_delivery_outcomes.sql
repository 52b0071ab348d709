-- Webhook deliveries (issue 11 finding 11, issue 12 finding 2):
-- * outcome 'skipped': a signed push that queued nothing because its commit is already queued, running or live, or
--   is older (an ancestor) than the live or a queued commit of the branch. A push may never move the live commit back.
-- * refused deliveries (bad signature, no provider, too large, too slow, …) are counted, one row per project and
--   minute (refused_minute, unique), instead of one row each: anyone can post to the public URL, and one row per post
--   let a stranger push the real deliveries out of the 100-row log. times counts them, last_received_at and reason
--   are the last one's.
-- A new CHECK needs the table rebuilt. Nothing references webhook_deliveries, so that is possible inside the
-- migration's transaction with foreign keys on (unlike deployments, see 0004).
CREATE TABLE webhook_deliveries_new (
    id               INTEGER PRIMARY KEY,
    project_id       INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    received_at      TEXT    NOT NULL,
    provider         TEXT,
    event            TEXT,
    -- The provider's id for this delivery (X-GitHub-Delivery, …): a redelivery carries the same one.
    delivery_id      TEXT,
    branch           TEXT,
    commit_sha       TEXT,
    outcome          TEXT    NOT NULL CHECK (outcome IN ('queued', 'ignored', 'rejected', 'duplicate', 'ping', 'skipped')),
    reason           TEXT    NOT NULL,
    deployment_id    INTEGER REFERENCES deployments (id) ON DELETE SET NULL,
    times            INTEGER NOT NULL DEFAULT 1 CHECK (times >= 1),
    last_received_at TEXT,
    -- 'YYYY-MM-DDTHH:MM' (UTC) on refused rows only; null on every other row.
    refused_minute   TEXT    CHECK (refused_minute IS NULL OR outcome = 'rejected')
);
INSERT INTO webhook_deliveries_new (id, project_id, received_at, provider, event, delivery_id, branch, commit_sha, outcome, reason, deployment_id)
SELECT id, project_id, received_at, provider, event, delivery_id, branch, commit_sha, outcome, reason, deployment_id FROM webhook_deliveries;
DROP TABLE webhook_deliveries;
ALTER TABLE webhook_deliveries_new RENAME TO webhook_deliveries;

CREATE INDEX webhook_deliveries_by_project ON webhook_deliveries (project_id, id);
-- One queued deploy per delivery id, enforced by the database: two copies of a delivery racing in cannot both deploy.
-- A push skipped later (its commit turned out older) keeps the claim on its delivery id: a redelivery stays a duplicate.
CREATE UNIQUE INDEX webhook_deliveries_one_deploy_per_delivery ON webhook_deliveries (project_id, delivery_id)
    WHERE outcome IN ('queued', 'skipped') AND delivery_id IS NOT NULL;
-- The one refused row of a project per minute, which each further refusal in that minute counts into.
CREATE UNIQUE INDEX webhook_deliveries_refused_per_minute ON webhook_deliveries (project_id, refused_minute)
    WHERE refused_minute IS NOT NULL;
