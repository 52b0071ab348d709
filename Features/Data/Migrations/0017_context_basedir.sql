-- Issue 14: per project, the directory of a monorepo the app lives in (the build context and the Dockerfile path are
-- relative to it; NULL is the repository root), and the watch paths: patterns, one per line, in .dockerignore syntax,
-- relative to the repository root; a push that changes no file they match is skipped (NULL: every push deploys).
ALTER TABLE projects ADD COLUMN base_dir TEXT;
ALTER TABLE projects ADD COLUMN watch_paths TEXT;
