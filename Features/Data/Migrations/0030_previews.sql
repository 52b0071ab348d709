-- Preview deployments (issue 18). A preview is an environment (a project row with parent_id, 0029) named pr-<number>,
-- made when a pull/merge request opens and deleted, with everything it has, when it closes. This row says which
-- request it deploys. Previews take their variables only from the project's environment named "preview" (never
-- production's), and a request from a fork none of its secrets unless the project allows forks.
CREATE TABLE previews (
    project_id  INTEGER PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    root_id     INTEGER NOT NULL REFERENCES projects (id),
    number      INTEGER NOT NULL,
    title       TEXT    NOT NULL,
    author      TEXT    NOT NULL,
    head_sha    TEXT    NOT NULL,
    head_ref    TEXT    NOT NULL,
    from_fork   INTEGER NOT NULL CHECK (from_fork IN (0, 1)),
    web_url     TEXT,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    UNIQUE (root_id, number)
);
-- Per project: previews on or off (off by default: a public repository's strangers could otherwise run builds), and
-- whether a fork's request gets the preview variables' secrets.
ALTER TABLE projects ADD COLUMN previews_enabled INTEGER NOT NULL DEFAULT 0 CHECK (previews_enabled IN (0, 1));
ALTER TABLE projects ADD COLUMN previews_allow_forks INTEGER NOT NULL DEFAULT 0 CHECK (previews_allow_forks IN (0, 1));
