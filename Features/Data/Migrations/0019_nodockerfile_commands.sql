-- Builds without a Dockerfile (issue 14): a project's own install, build and start commands for the generated
-- Dockerfile (NULL: what detection chose), and a saved Dockerfile used instead of the repository's or a generated one
-- (NULL: none saved). Columns, not a table: one value each per project, read with the project.
ALTER TABLE projects ADD COLUMN install_command TEXT;
ALTER TABLE projects ADD COLUMN build_command TEXT;
ALTER TABLE projects ADD COLUMN start_command TEXT;
ALTER TABLE projects ADD COLUMN dockerfile_override TEXT;
