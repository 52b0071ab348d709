-- Issue 14: the Dockerfile stage a project builds (docker build --target); NULL builds the last stage, as docker build does.
ALTER TABLE projects ADD COLUMN build_target TEXT;
