-- What a push and the deploy worker ask on every delivery, answered from an index instead of a scan (issue 20,
-- webhook ingestion). Without them each push cost time that grew with the project's history and the queue:
-- "is this commit already queued, running or live?" (DeployStore.EnqueuePushDeployment) walked every deployment the
-- project ever had; "supersede the project's queued manual deploys" and the worker's claim of the next queued row
-- (woken by every push) walked every queued row; the trim of the delivery log read 100 rows to find its cut.
CREATE INDEX deployments_by_project_requested_commit ON deployments (project_id, requested_commit);
CREATE INDEX deployments_by_project_commit ON deployments (project_id, commit_sha);
-- Ordered by id within the project: its oldest queued row is the first entry; trigger is there so the supersede
-- reads no table rows.
CREATE INDEX deployments_queued_by_project ON deployments (project_id, id, trigger) WHERE status = 'queued';
CREATE INDEX webhook_deliveries_logged_by_project ON webhook_deliveries (project_id, id) WHERE refused_minute IS NULL;
