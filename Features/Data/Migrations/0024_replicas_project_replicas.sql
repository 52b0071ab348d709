-- Replicas (issue 16): how many containers of the live version a project runs on this server, balanced by Caddy.
ALTER TABLE projects ADD COLUMN replicas INTEGER NOT NULL DEFAULT 1 CHECK (replicas BETWEEN 1 AND 10);
-- The containers of a deployment beyond its first. Replica 1 stays in deployments.container_name/host_port, so
-- everything written before replicas keeps working; rows 2..N name the others (<first>-r2 …) and their loopback ports.
-- Deployments/ReplicaSet.ContainersOf lists all of them; a deployment's rows go with it.
CREATE TABLE deployment_replicas (
    deployment_id   INTEGER NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    replica         INTEGER NOT NULL CHECK (replica BETWEEN 2 AND 10),
    container_name  TEXT NOT NULL,
    host_port       INTEGER NOT NULL,
    PRIMARY KEY (deployment_id, replica)
);
-- The path Caddy's active health checks GET on a balanced deployment: the path the deploy's own health check
-- probed; NULL when the image's HEALTHCHECK decided (Caddy then relies on its passive checks only).
ALTER TABLE deployments ADD COLUMN health_uri TEXT;
