-- Environments (issue 18). An environment other than production is a project row of its own with parent_id naming
-- the project it belongs to: it then has everything a project has (branch, variables, domains, replicas, limits,
-- linked services, volumes, deployments, Caddy site, containers) with no second code path for any of it. The
-- project row itself is the production environment, so every existing project is its production environment as it
-- stands: same slug, URLs, webhook URL and secret, deployments and logs. Variables of the project are inherited by
-- its environments (VariableStore.ResolveEffectiveVariables); an environment's own variable of the same key wins.
ALTER TABLE projects ADD COLUMN parent_id INTEGER REFERENCES projects (id);
ALTER TABLE projects ADD COLUMN environment TEXT NOT NULL DEFAULT 'production';
-- One environment of a name per project (the project itself counting as its production).
CREATE UNIQUE INDEX projects_one_environment_per_name ON projects (ifnull(parent_id, id), environment);
CREATE INDEX projects_by_parent ON projects (parent_id);
-- A promotion is queued like a rollback (rollback_of names the deployment whose image it reuses, no build); this
-- names the environment it came from, for the pages and the API.
ALTER TABLE deployments ADD COLUMN promoted_from TEXT;
