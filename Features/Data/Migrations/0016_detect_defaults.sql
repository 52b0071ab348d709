-- Fields a project may leave empty, for the panel to detect at each deploy (Features/Deployments/Detect*.cs):
-- * projects.branch = '': the repository's default branch, asked at every deploy (git ls-remote --symref HEAD), so a
--   default branch renamed on the Git host is followed. The name found last is kept in default_branch, which is what
--   the push webhook compares pushed branches with (null until the first deploy asked).
-- * detect_port = 1: the container port is read from the built image (its lowest EXPOSEd TCP port) at every deploy.
--   container_port keeps a placeholder then, because its CHECK (1-65535) cannot be changed without a table rebuild.
-- * projects.health_path = '': no path chosen; an image with its own HEALTHCHECK is judged by Docker's health status,
--   any other by the panel's GET /. Existing rows keep their path ("/" included), so they behave as before.
ALTER TABLE projects ADD COLUMN default_branch TEXT;
ALTER TABLE projects ADD COLUMN detect_port INTEGER NOT NULL DEFAULT 0 CHECK (detect_port IN (0, 1));
