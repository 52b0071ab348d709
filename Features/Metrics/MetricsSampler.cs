using System.Collections.Concurrent;
using System.Text.Json;
using Dapper;
using Docker.DotNet.Models;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Data;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Metrics
{

/// <summary>
/// Every Metrics:IntervalSeconds: the stats of each running container carrying this panel's label, and the host's CPU,
/// memory and disks, written in one transaction that also rolls finished minutes and hours up into averages and trims
/// each tier to its age (10 s points for an hour, minutes for a day, hours for 30 days; migration 0025).
///
/// Each container is asked once (`stream=false&amp;one-shot=true`), all at once (see <see cref="Parallel"/>). Without
/// one-shot, dockerd 20.10 waits for two rounds of its collector to fill precpu_stats (2 s per call measured); with it
/// one round (up to 1 s) and the answer has no precpu_stats, so CPU % and the network and block rates are deltas against this sampler's own previous reading.
/// A container seen for the first time therefore gives its first point one interval later.
/// </summary>
public sealed class MetricsSampler(Db db, PanelSettings settings, DockerEngine engine, ILogger<MetricsSampler> logger) : BackgroundService
{
    public const int Raw = 0, Minutes = 1, Hours = 2;

    /// <summary>How long each tier is kept, in seconds.</summary>
    public static readonly long[] KeepSeconds = [3600, 86400, 30 * 86400];

    /// <summary>
    /// Stats calls in flight at once. Even one-shot, dockerd 20.10 answers a stats call at its collector's next round
    /// (once a second, one round for all containers asked), so each call takes up to a second however cheap it is:
    /// measured (bench/metrics.sh, 20 containers) 4 at a time made a tick 5 s, all at once about 1 s. Calls waiting for
    /// the same round cost the engine one collection, so this bound is only against a host with hundreds of containers.
    /// </summary>
    const int Parallel = 32;

    sealed record Reading(long At, ulong CpuTotal, ulong SystemTotal, ulong Rx, ulong Tx, ulong Read, ulong Write);

    public sealed record ContainerPoint(string Container, long? ProjectId, double CpuPercent, long MemoryBytes, long MemoryLimitBytes,
        double NetRxBps, double NetTxBps, double BlockReadBps, double BlockWriteBps);

    public sealed record HostPoint(double CpuPercent, long MemoryUsedBytes, long MemoryTotalBytes, long DataFreeBytes, long DataTotalBytes,
        long? DockerFreeBytes, long? DockerTotalBytes, DockerDiskUse? DiskUse);

    public sealed record DockerDiskUse(long Images, long Containers, long Volumes, long BuildCache);

    /// <summary>The last reading of each container by id (a recreated container is a new id, so its counters start over).</summary>
    readonly ConcurrentDictionary<string, Reading> _previous = new();
    HostReadings.Cpu? _previousHostCpu;
    string? _dockerRoot;
    Task<DockerDiskUse?>? _diskUse;
    DateTime _diskUseAskedAt = DateTime.MinValue;
    /// <summary>disk.low: raised from this tick's host readings (no second measuring loop).</summary>
    readonly Hygiene.DiskAlarm _diskAlarm = new(db, settings, logger);

    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        await Shared.StartGate.WaitAsync(stopping);
        using var timer = new PeriodicTimer(settings.MetricsInterval);
        do
        {
            try { await TickAsync(stopping); }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested) { return; }
            catch (Exception e) { logger.LogWarning("metrics: {Message}", e.Message); }
        }
        while (await WaitAsync(timer, stopping));
    }

    static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stopping)
    {
        try { return await timer.WaitForNextTickAsync(stopping); }
        catch (OperationCanceledException) { return false; }
    }

    /// <summary>One sample of everything, stored. Public for the cost benchmark's sake (bench/metrics.sh reads the process, not this).</summary>
    public async Task TickAsync(CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string panel;
        Dictionary<string, long> projects;
        using (var c = db.Open())
        {
            panel = PanelIdentity.Of(c);
            projects = c.Query<(string Slug, long Id)>("SELECT slug, id FROM projects").ToDictionary(p => p.Slug, p => p.Id);
        }
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var containers = await SampleContainersAsync(panel, projects, now, ct);
        var sampled = watch.ElapsedMilliseconds;
        var host = await SampleHostAsync(ct);
        _diskAlarm.Check([
            new Hygiene.DiskFree("the data dir", settings.DataDir, host.DataTotalBytes > 0 ? host.DataFreeBytes : null, host.DataTotalBytes),
            new Hygiene.DiskFree("Docker's root", _dockerRoot ?? "", host.DockerFreeBytes, host.DockerTotalBytes),
        ]);
        using var conn = db.Open();
        using var tx = conn.BeginTransaction();
        Store(conn, tx, now, containers, host);
        tx.Commit();
        // bench/metrics.sh reads this line (Logging__LogLevel__VpsPanel.Features.Metrics=Debug).
        logger.LogDebug("metrics tick: {Count} containers sampled in {Sampled} ms, tick {Total} ms", containers.Count, sampled, watch.ElapsedMilliseconds);
    }

    async Task<List<ContainerPoint>> SampleContainersAsync(string panel, Dictionary<string, long> projects, long now, CancellationToken ct)
    {
        IList<ContainerListResponse> running;
        global::Docker.DotNet.DockerClient docker;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            docker = await engine.ClientAsync(timeout.Token);
            running = await docker.Containers.ListContainersAsync(new ContainersListParameters
            {
                Filters = DockerAbsentOk.LabelFilter($"{PanelIdentity.Label}={panel}"),
            }, timeout.Token);
        }
        catch (Exception e) when (DockerEngine.IsDockerError(e) || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            // The engine is away: no container points this tick (the charts show a gap), the host is still sampled.
            return [];
        }
        var points = new ConcurrentBag<ContainerPoint>();
        await System.Threading.Tasks.Parallel.ForEachAsync(running, new ParallelOptions { MaxDegreeOfParallelism = Parallel, CancellationToken = ct }, async (ctr, token) =>
        {
            ContainerStatsResponse? stats = null;
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
                timeout.CancelAfter(TimeSpan.FromSeconds(10));
                // Without a stream the engine sends one frame and closes; the call returns after it.
                await docker.Containers.GetContainerStatsAsync(ctr.ID, new ContainerStatsParameters { Stream = false, OneShot = true },
                    new Frame(f => stats = f), timeout.Token);
            }
            catch (Exception e) when (DockerEngine.IsDockerError(e) || (e is OperationCanceledException && !token.IsCancellationRequested))
            {
                return; // gone between the list and the stats call, or the engine is slow: no point this tick
            }
            if (stats is null) return;
            var labels = ctr.Labels ?? new Dictionary<string, string>();
            long? project = labels.TryGetValue(ProjectNetwork.ProjectLabel, out var slug) && projects.TryGetValue(slug, out var id) ? id : null;
            if (PointOf(ctr.ID, ctr.Names?.FirstOrDefault()?.TrimStart('/') ?? ctr.ID, project, stats, now) is { } p) points.Add(p);
        });
        // Containers that stopped: their last reading is of no use any more.
        foreach (var gone in _previous.Keys.Except(running.Select(r => r.ID)).ToList()) _previous.TryRemove(gone, out _);
        return [.. points];
    }

    /// <summary>Takes the frame as the library reads it (Progress&lt;T&gt; would post it to the thread pool, after the call returned).</summary>
    sealed class Frame(Action<ContainerStatsResponse> take) : IProgress<ContainerStatsResponse>
    {
        public void Report(ContainerStatsResponse value) => take(value);
    }

    ContainerPoint? PointOf(string id, string name, long? project, ContainerStatsResponse s, long now)
    {
        var cpu = s.CPUStats?.CPUUsage?.TotalUsage ?? 0;
        var system = s.CPUStats?.SystemUsage ?? 0;
        ulong rx = 0, tx = 0, read = 0, write = 0;
        foreach (var n in s.Networks?.Values ?? []) { rx += n.RxBytes; tx += n.TxBytes; }
        foreach (var b in s.BlkioStats?.IoServiceBytesRecursive ?? [])
        {
            // cgroup v1 says Read/Write, v2 read/write.
            if (string.Equals(b.Op, "read", StringComparison.OrdinalIgnoreCase)) read += b.Value;
            else if (string.Equals(b.Op, "write", StringComparison.OrdinalIgnoreCase)) write += b.Value;
        }
        var reading = new Reading(now, cpu, system, rx, tx, read, write);
        var had = _previous.TryGetValue(id, out var before);
        _previous[id] = reading;
        if (!had || before!.At >= now) return null;

        var seconds = (double)(now - before.At);
        // As docker stats: the container's share of all CPU time since the last reading, times the CPUs (100 % = one CPU).
        var cpus = s.CPUStats?.OnlineCPUs is > 0 and var online ? online : (uint)(s.CPUStats?.CPUUsage?.PercpuUsage?.Count ?? Environment.ProcessorCount);
        var cpuDelta = cpu >= before.CpuTotal ? cpu - before.CpuTotal : 0;
        var systemDelta = system > before.SystemTotal ? system - before.SystemTotal : 0;
        var cpuPercent = systemDelta > 0 ? (double)cpuDelta / systemDelta * cpus * 100.0 : 0;
        double Rate(ulong now, ulong then) => now >= then ? (now - then) / seconds : 0;
        var memory = s.MemoryStats;
        return new ContainerPoint(name, project, Math.Round(cpuPercent, 2), (long)MemoryUsed(memory), (long)(memory?.Limit ?? 0),
            Rate(rx, before.Rx), Rate(tx, before.Tx), Rate(read, before.Read), Rate(write, before.Write));
    }

    /// <summary>Memory in use as docker stats shows it: the usage without the inactive page cache, which the kernel reclaims first.</summary>
    public static ulong MemoryUsed(MemoryStats? m)
    {
        if (m?.Usage is not { } usage) return 0;
        var stats = m.Stats ?? new Dictionary<string, ulong>();
        if (stats.TryGetValue("total_inactive_file", out var v1) && v1 < usage) return usage - v1; // cgroup v1
        if (stats.TryGetValue("inactive_file", out var v2) && v2 < usage) return usage - v2;       // cgroup v2
        return usage;
    }

    async Task<HostPoint> SampleHostAsync(CancellationToken ct)
    {
        var cpuNow = HostReadings.ReadCpu();
        var cpu = _previousHostCpu is { } before ? HostReadings.CpuPercent(before, cpuNow) : 0;
        _previousHostCpu = cpuNow;
        var (memUsed, memTotal) = HostReadings.ReadMemory();
        var (dataFree, dataTotal) = HostReadings.Disk(settings.DataDir) ?? (0, 0);
        long? dockerFree = null, dockerTotal = null;
        try
        {
            if (_dockerRoot is null)
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(10));
                _dockerRoot = (await (await engine.ClientAsync(timeout.Token)).System.GetSystemInfoAsync(timeout.Token)).DockerRootDir;
            }
            if (HostReadings.Disk(_dockerRoot) is { } d) (dockerFree, dockerTotal) = d;
        }
        catch (Exception e) when (DockerEngine.IsDockerError(e) || (e is OperationCanceledException && !ct.IsCancellationRequested)) { }

        // GET /system/df walks every layer and volume: asked in the background every Metrics:DiskUsageMinutes, and its
        // answer is stored with the first tick after it came.
        DockerDiskUse? diskUse = null;
        if (_diskUse is { IsCompleted: true } done)
        {
            diskUse = done.IsCompletedSuccessfully ? done.Result : null;
            _diskUse = null;
        }
        if (_diskUse is null && DateTime.UtcNow - _diskUseAskedAt >= settings.MetricsDiskUsageInterval)
        {
            _diskUseAskedAt = DateTime.UtcNow;
            _diskUse = AskDiskUseAsync(ct);
        }
        return new HostPoint(cpu, memUsed, memTotal, dataFree, dataTotal, dockerFree, dockerTotal, diskUse);
    }

    async Task<DockerDiskUse?> AskDiskUseAsync(CancellationToken ct)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromMinutes(2));
            return await engine.DiskUseAsync(timeout.Token);
        }
        catch (Exception e) when (DockerEngine.IsDockerError(e) || e is OperationCanceledException)
        {
            logger.LogDebug("metrics: docker disk use: {Message}", e.Message);
            return null;
        }
    }

    /// <summary>The tick's points, then the roll-ups and the trim, in the caller's transaction.</summary>
    public static void Store(SqliteConnection c, SqliteTransaction tx, long now, IReadOnlyList<ContainerPoint> containers, HostPoint host)
    {
        c.Execute("""
            INSERT OR REPLACE INTO container_metrics (tier, at, container, project_id, cpu_percent, memory_bytes, memory_limit_bytes,
                net_rx_bps, net_tx_bps, block_read_bps, block_write_bps)
            VALUES (0, @now, @Container, @ProjectId, @CpuPercent, @MemoryBytes, @MemoryLimitBytes, @NetRxBps, @NetTxBps, @BlockReadBps, @BlockWriteBps)
            """, containers.Select(p => new { now, p.Container, p.ProjectId, p.CpuPercent, p.MemoryBytes, p.MemoryLimitBytes, p.NetRxBps, p.NetTxBps, p.BlockReadBps, p.BlockWriteBps }), tx);
        c.Execute("""
            INSERT OR REPLACE INTO host_metrics (tier, at, cpu_percent, memory_used_bytes, memory_total_bytes, data_free_bytes, data_total_bytes,
                docker_free_bytes, docker_total_bytes, docker_images_bytes, docker_containers_bytes, docker_volumes_bytes, docker_build_cache_bytes)
            VALUES (0, @now, @CpuPercent, @MemoryUsedBytes, @MemoryTotalBytes, @DataFreeBytes, @DataTotalBytes, @DockerFreeBytes, @DockerTotalBytes,
                @Images, @Containers, @Volumes, @BuildCache)
            """, new
        {
            now, host.CpuPercent, host.MemoryUsedBytes, host.MemoryTotalBytes, host.DataFreeBytes, host.DataTotalBytes, host.DockerFreeBytes, host.DockerTotalBytes,
            host.DiskUse?.Images, host.DiskUse?.Containers, host.DiskUse?.Volumes, host.DiskUse?.BuildCache,
        }, tx);
        RollUpAndTrim(c, tx, now);
    }

    /// <summary>
    /// Averages every finished minute of raw points not yet averaged into tier 1, and every finished hour of minutes
    /// into tier 2; then deletes what is older than each tier keeps. Cheap on every tick: the primary keys start with
    /// (tier, at), so each statement reads only the rows it writes or deletes.
    /// </summary>
    public static void RollUpAndTrim(SqliteConnection c, SqliteTransaction? tx, long now)
    {
        RollUp(c, tx, Raw, Minutes, 60, now);
        RollUp(c, tx, Minutes, Hours, 3600, now);
        for (var tier = Raw; tier <= Hours; tier++)
        {
            var before = now - KeepSeconds[tier];
            c.Execute("DELETE FROM container_metrics WHERE tier = @tier AND at < @before", new { tier, before }, tx);
            c.Execute("DELETE FROM host_metrics WHERE tier = @tier AND at < @before", new { tier, before }, tx);
        }
    }

    static void RollUp(SqliteConnection c, SqliteTransaction? tx, int from, int to, long bucket, long now)
    {
        var until = now / bucket * bucket; // the bucket now is in has not finished
        var since = c.ExecuteScalar<long?>("SELECT MAX(at) FROM container_metrics WHERE tier = @to", new { to }, tx) is { } last ? last + bucket : 0;
        c.Execute("""
            INSERT OR REPLACE INTO container_metrics (tier, at, container, project_id, cpu_percent, memory_bytes, memory_limit_bytes,
                net_rx_bps, net_tx_bps, block_read_bps, block_write_bps)
            SELECT @to, at / @bucket * @bucket, container, MAX(project_id), AVG(cpu_percent), CAST(AVG(memory_bytes) AS INTEGER),
                CAST(AVG(memory_limit_bytes) AS INTEGER), AVG(net_rx_bps), AVG(net_tx_bps), AVG(block_read_bps), AVG(block_write_bps)
            FROM container_metrics WHERE tier = @from AND at >= @since AND at < @until
            GROUP BY at / @bucket, container
            """, new { from, to, bucket, since, until }, tx);
        var hostSince = c.ExecuteScalar<long?>("SELECT MAX(at) FROM host_metrics WHERE tier = @to", new { to }, tx) is { } h ? h + bucket : 0;
        // AVG skips nulls: a minute in which Docker's disk use was asked once averages that one answer.
        c.Execute("""
            INSERT OR REPLACE INTO host_metrics (tier, at, cpu_percent, memory_used_bytes, memory_total_bytes, data_free_bytes, data_total_bytes,
                docker_free_bytes, docker_total_bytes, docker_images_bytes, docker_containers_bytes, docker_volumes_bytes, docker_build_cache_bytes)
            SELECT @to, at / @bucket * @bucket, AVG(cpu_percent), CAST(AVG(memory_used_bytes) AS INTEGER), CAST(AVG(memory_total_bytes) AS INTEGER),
                CAST(AVG(data_free_bytes) AS INTEGER), CAST(AVG(data_total_bytes) AS INTEGER), CAST(AVG(docker_free_bytes) AS INTEGER),
                CAST(AVG(docker_total_bytes) AS INTEGER), CAST(AVG(docker_images_bytes) AS INTEGER), CAST(AVG(docker_containers_bytes) AS INTEGER),
                CAST(AVG(docker_volumes_bytes) AS INTEGER), CAST(AVG(docker_build_cache_bytes) AS INTEGER)
            FROM host_metrics WHERE tier = @from AND at >= @hostSince AND at < @until
            GROUP BY at / @bucket
            """, new { from, to, bucket, hostSince, until }, tx);
    }
}

}

namespace VpsPanel.Features.Docker
{
    public sealed partial class DockerEngine
    {
        /// <summary>
        /// Docker's disk use in bytes (GET /system/df): image layers, containers' writable layers, volumes, build cache.
        /// API 1.41 sends LayersSize and lists, the newest API ImagesDiskUsage … summaries; both shapes are read.
        /// </summary>
        public async Task<Metrics.MetricsSampler.DockerDiskUse> DiskUseAsync(CancellationToken ct)
        {
            using var doc = await SystemDfAsync("", ct);
            var root = doc.RootElement;
            long Total(string summary) =>
                root.TryGetProperty(summary, out var s) && s.ValueKind == JsonValueKind.Object && s.TryGetProperty("TotalSize", out var t) && t.TryGetInt64(out var n) ? n : 0;
            long Sum(string list, Func<JsonElement, long> size) =>
                root.TryGetProperty(list, out var l) && l.ValueKind == JsonValueKind.Array ? l.EnumerateArray().Sum(size) : 0;
            static long Number(JsonElement e, string name) => e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.TryGetInt64(out var n) && n > 0 ? n : 0;
            if (root.TryGetProperty("LayersSize", out var layers))
                return new(layers.TryGetInt64(out var l) ? l : 0,
                    Sum("Containers", c => Number(c, "SizeRw")),
                    Sum("Volumes", v => v.TryGetProperty("UsageData", out var u) ? Number(u, "Size") : 0),
                    Sum("BuildCache", b => Number(b, "Size")));
            return new(Total("ImagesDiskUsage"), Total("ContainersDiskUsage"), Total("VolumesDiskUsage"), Total("BuildCacheUsage"));
        }
    }
}
