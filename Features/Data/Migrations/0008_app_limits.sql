-- A project's own limits for its app container; null means the panel's setting (Apps:MemoryMb, Apps:Cpus, Apps:PidsLimit).
ALTER TABLE projects ADD COLUMN memory_mb INTEGER CHECK (memory_mb IS NULL OR memory_mb BETWEEN 6 AND 1048576);
-- CPUs as Docker's NanoCpus (1.5 CPUs = 1500000000).
ALTER TABLE projects ADD COLUMN nano_cpus INTEGER CHECK (nano_cpus IS NULL OR nano_cpus BETWEEN 10000000 AND 1024000000000);
ALTER TABLE projects ADD COLUMN pids_limit INTEGER CHECK (pids_limit IS NULL OR pids_limit BETWEEN 16 AND 4194304);
