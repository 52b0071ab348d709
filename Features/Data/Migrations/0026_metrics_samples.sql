-- Metrics (Features/Metrics): one row per container and time, and one per time for the host, in three tiers that
-- MetricsSampler rolls up and trims on every tick: 0 = raw samples (every Metrics:IntervalSeconds, kept an hour),
-- 1 = one-minute averages (kept a day), 2 = one-hour averages (kept 30 days). Rates (network, block I/O) are bytes per
-- second over the interval before the sample, so an average of them is still a rate. No foreign key to projects:
-- writes stay cheap, and a deleted project's rows age out with the trim like everything else.
CREATE TABLE container_metrics (
    tier INTEGER NOT NULL,
    at INTEGER NOT NULL,                -- Unix seconds (the tick; for tiers 1 and 2 the start of the minute or hour)
    container TEXT NOT NULL,            -- the container's name (vpspanel-<panel>-<slug>-<deployment>, services too)
    project_id INTEGER,                 -- from its vpspanel.project label at sampling time; null for a service
    cpu_percent REAL NOT NULL,          -- of one CPU (200 = two CPUs busy), as docker stats shows it
    memory_bytes INTEGER NOT NULL,      -- used, without the reclaimable page cache (as docker stats)
    memory_limit_bytes INTEGER NOT NULL,
    net_rx_bps REAL NOT NULL,
    net_tx_bps REAL NOT NULL,
    block_read_bps REAL NOT NULL,
    block_write_bps REAL NOT NULL,
    PRIMARY KEY (tier, at, container)
) WITHOUT ROWID;
CREATE INDEX container_metrics_by_project ON container_metrics (project_id, tier, at);

CREATE TABLE host_metrics (
    tier INTEGER NOT NULL,
    at INTEGER NOT NULL,
    cpu_percent REAL NOT NULL,          -- of the whole machine (100 = every CPU busy)
    memory_used_bytes INTEGER NOT NULL, -- MemTotal - MemAvailable
    memory_total_bytes INTEGER NOT NULL,
    data_free_bytes INTEGER NOT NULL,   -- the file system of Panel:DataDir
    data_total_bytes INTEGER NOT NULL,
    docker_free_bytes INTEGER,          -- the file system of the engine's DockerRootDir; null while the engine is away
    docker_total_bytes INTEGER,
    docker_images_bytes INTEGER,        -- GET /system/df, only on the ticks that asked (Metrics:DiskUsageMinutes)
    docker_containers_bytes INTEGER,
    docker_volumes_bytes INTEGER,
    docker_build_cache_bytes INTEGER,
    PRIMARY KEY (tier, at)
) WITHOUT ROWID;

-- Project ids can be handed out again (INTEGER PRIMARY KEY without AUTOINCREMENT): a deleted project's points go with
-- it, so a new project never shows them.
CREATE TRIGGER projects_delete_metrics AFTER DELETE ON projects
BEGIN
    DELETE FROM container_metrics WHERE project_id = OLD.id;
END;
