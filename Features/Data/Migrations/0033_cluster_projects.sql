-- Cluster projects (issue 21): a project runs on this server (containers, as before) or on the cluster (one Docker
-- Swarm service). Placement says which nodes may run its tasks: any, spread (one task per node), label:KEY=VALUE or
-- node:HOSTNAME. Both are read at every deploy, like the rest of the project's settings.
ALTER TABLE projects ADD COLUMN target TEXT NOT NULL DEFAULT 'server' CHECK (target IN ('server', 'cluster'));
ALTER TABLE projects ADD COLUMN placement TEXT NOT NULL DEFAULT 'any';

-- A cluster deployment has no container and no loopback port: it has the service it updated, the image reference
-- the nodes pulled (by digest when a registry is used) and the addresses Caddy balances over (node:port of each
-- running task, space-separated), kept current while it is live (Cluster/ClusterRoutes).
ALTER TABLE deployments ADD COLUMN service_name TEXT;
ALTER TABLE deployments ADD COLUMN cluster_image TEXT;
ALTER TABLE deployments ADD COLUMN upstreams TEXT;
