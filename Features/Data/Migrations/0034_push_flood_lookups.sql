-- Two more lookups a flood of pushes made on every row (issue 20, webhook ingestion; bench/webhooks.sh):
-- "supersede the project's queued manual deploys" (DeployStore.EnqueuePushDeployment) walked every queued entry of
-- deployments_queued_by_project, thousands while a flood waits for the worker, to find the handful not queued by a
-- push. This index holds only those, so the answer is usually an empty range.
CREATE INDEX deployments_queued_by_hand ON deployments (project_id) WHERE status = 'queued' AND trigger <> 'webhook';
-- The delivery log rows of a deployment (WebhookStore.UpdateDeliveriesOf...Deployment, once for each deployment a push
-- queued that ends without running): without it, a scan of every project's log.
CREATE INDEX webhook_deliveries_by_deployment ON webhook_deliveries (deployment_id) WHERE deployment_id IS NOT NULL;
