-- Issue 14: a plain static site (index.html, no Dockerfile, no build manifest) is served by Caddy from a directory
-- of files, with no image and no container (Features/Deployments/StaticSiteDeploy.cs). static_root is that
-- directory, absolute, as the site file names it: <Caddy:StaticDir>/<slug>/<deployment id>. A rollback serves the
-- directory of the deployment it restores, so two rows may name the same one. NULL: a container deployment.
ALTER TABLE deployments ADD COLUMN static_root TEXT;
