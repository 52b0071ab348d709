-- Who may use each shared variable. A project's deployments are read by its owner (the app sees its environment),
-- so the rule is about the project's owner or the project itself: admins' projects may use every shared variable;
-- other projects only those an admin opened to all projects, or to them or their owner by name.
-- Keyed by the variable's key like project_shared_variables; a key removed from the shared set loses its row and
-- grants (VariableStore.ReplaceVariables), so a later variable of the same name starts closed again.
CREATE TABLE shared_variable_access (
    key       TEXT    PRIMARY KEY,
    -- admins: admins' projects only; all: every project; chosen: admins' projects and the grants below.
    mode      TEXT    NOT NULL DEFAULT 'admins' CHECK (mode IN ('admins', 'all', 'chosen')),
    -- The admin who added the variable (null when that user is gone).
    owner_id  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    updated_at TEXT   NOT NULL
);

-- The projects and members (every project they own) a 'chosen' shared variable is open to.
CREATE TABLE shared_variable_grants (
    key         TEXT    NOT NULL,
    project_id  INTEGER REFERENCES projects (id) ON DELETE CASCADE,
    user_id     INTEGER REFERENCES users (id) ON DELETE CASCADE,
    CHECK ((project_id IS NULL) <> (user_id IS NULL))
);
CREATE UNIQUE INDEX shared_variable_grants_one_per_project ON shared_variable_grants (key, project_id) WHERE project_id IS NOT NULL;
CREATE UNIQUE INDEX shared_variable_grants_one_per_user ON shared_variable_grants (key, user_id) WHERE user_id IS NOT NULL;

-- Shared variables from before this migration were usable by every project: they become admins' projects only
-- (the safe side), owned by the first admin. Members' projects that included one keep the include, but deployments
-- leave it out until an admin opens it to them; those projects are marked "redeploy needed" so the live container,
-- which may still hold the value, is replaced soon.
INSERT INTO shared_variable_access (key, mode, owner_id, updated_at)
SELECT key, 'admins', (SELECT min(id) FROM users WHERE role = 'admin'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
FROM variables WHERE project_id IS NULL;

UPDATE projects SET variables_version = variables_version + 1
WHERE id IN (SELECT project_id FROM project_shared_variables)
  AND owner_id NOT IN (SELECT id FROM users WHERE role = 'admin');
