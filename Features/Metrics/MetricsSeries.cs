using Dapper;
using Microsoft.Data.Sqlite;

namespace VpsPanel.Features.Metrics;

/// <summary>
/// What the charts and the API read: a range (1h, 24h, 7d) picks the tier that covers it (raw points, minutes,
/// hours). The bucket in progress of the coarser tiers is not rolled up yet, so it is averaged here from the tier
/// below: a chart of 24 h or 7 d ends at the last tick, not at the last full minute or hour. Columns, one array per
/// value, as uPlot draws them; null where a value was not measured (the engine was away, Docker's disk use between asks).
/// </summary>
public static class MetricsSeries
{
    public sealed record Range(string Name, int Tier, long Seconds, long Step);

    public static readonly Range[] Ranges =
    [
        new("1h", MetricsSampler.Raw, 3600, 0),
        new("24h", MetricsSampler.Minutes, 86400, 60),
        new("7d", MetricsSampler.Hours, 7 * 86400, 3600),
    ];

    public const string RangeProblem = "Enter one of 1h, 24h or 7d.";

    /// <summary>The range by name (1h when none is given); null for anything else.</summary>
    public static Range? ParseRange(string? range) =>
        string.IsNullOrEmpty(range) ? Ranges[0] : Ranges.FirstOrDefault(r => r.Name == range);

    public sealed record ProjectSeries(
        string Range, long[] T, List<string> Containers, double[] CpuPercent, long[] MemoryBytes, long[] MemoryLimitBytes,
        double[] NetRxBps, double[] NetTxBps, double[] BlockReadBps, double[] BlockWriteBps);

    sealed record ContainerRow(long At, string Container, double CpuPercent, long MemoryBytes, long MemoryLimitBytes,
        double NetRxBps, double NetTxBps, double BlockReadBps, double BlockWriteBps);

    /// <summary>The project's containers summed per point in time (replicas, and old and new container during a deploy's switch, add up).</summary>
    public static ProjectSeries ForProject(SqliteConnection c, long projectId, Range range, long now)
    {
        var since = now - range.Seconds;
        var sql = """
            SELECT at, container, cpu_percent, memory_bytes, memory_limit_bytes, net_rx_bps, net_tx_bps, block_read_bps, block_write_bps
            FROM container_metrics WHERE project_id = @projectId AND tier = @tier AND at >= @since
            """;
        if (range.Tier > 0)
            sql += """

                UNION ALL
                SELECT at / @step * @step, container, AVG(cpu_percent), CAST(AVG(memory_bytes) AS INTEGER), CAST(AVG(memory_limit_bytes) AS INTEGER),
                    AVG(net_rx_bps), AVG(net_tx_bps), AVG(block_read_bps), AVG(block_write_bps)
                FROM container_metrics
                WHERE project_id = @projectId AND tier = @tier - 1 AND at >= @since
                  AND at >= COALESCE((SELECT MAX(at) FROM container_metrics WHERE tier = @tier), 0) + @step
                GROUP BY at / @step, container
                """;
        var rows = c.Query<ContainerRow>(sql + "\nORDER BY 1", new { projectId, tier = range.Tier, since, step = range.Step }).ToList();
        var groups = rows.GroupBy(r => r.At).OrderBy(g => g.Key).ToList();
        return new ProjectSeries(
            range.Name,
            [.. groups.Select(g => g.Key)],
            [.. rows.Select(r => r.Container).Distinct().Order(StringComparer.Ordinal)],
            [.. groups.Select(g => Math.Round(g.Sum(r => r.CpuPercent), 2))],
            [.. groups.Select(g => g.Sum(r => r.MemoryBytes))],
            [.. groups.Select(g => g.Sum(r => r.MemoryLimitBytes))],
            [.. groups.Select(g => Math.Round(g.Sum(r => r.NetRxBps), 1))],
            [.. groups.Select(g => Math.Round(g.Sum(r => r.NetTxBps), 1))],
            [.. groups.Select(g => Math.Round(g.Sum(r => r.BlockReadBps), 1))],
            [.. groups.Select(g => Math.Round(g.Sum(r => r.BlockWriteBps), 1))]);
    }

    public sealed record HostSeries(
        string Range, long[] T, double[] CpuPercent, long[] MemoryUsedBytes, long[] MemoryTotalBytes, long[] DataFreeBytes, long[] DataTotalBytes,
        long?[] DockerFreeBytes, long?[] DockerTotalBytes, long?[] DockerImagesBytes, long?[] DockerContainersBytes, long?[] DockerVolumesBytes,
        long?[] DockerBuildCacheBytes);

    sealed record HostRow(long At, double CpuPercent, long MemoryUsedBytes, long MemoryTotalBytes, long DataFreeBytes, long DataTotalBytes,
        long? DockerFreeBytes, long? DockerTotalBytes, long? DockerImagesBytes, long? DockerContainersBytes, long? DockerVolumesBytes, long? DockerBuildCacheBytes);

    public static HostSeries ForHost(SqliteConnection c, Range range, long now)
    {
        const string columns = """
            cpu_percent, memory_used_bytes, memory_total_bytes, data_free_bytes, data_total_bytes, docker_free_bytes, docker_total_bytes,
            docker_images_bytes, docker_containers_bytes, docker_volumes_bytes, docker_build_cache_bytes
            """;
        var sql = $"SELECT at, {columns} FROM host_metrics WHERE tier = @tier AND at >= @since";
        if (range.Tier > 0)
            sql += """

                UNION ALL
                SELECT at / @step * @step, AVG(cpu_percent), CAST(AVG(memory_used_bytes) AS INTEGER), CAST(AVG(memory_total_bytes) AS INTEGER),
                    CAST(AVG(data_free_bytes) AS INTEGER), CAST(AVG(data_total_bytes) AS INTEGER), CAST(AVG(docker_free_bytes) AS INTEGER),
                    CAST(AVG(docker_total_bytes) AS INTEGER), CAST(AVG(docker_images_bytes) AS INTEGER), CAST(AVG(docker_containers_bytes) AS INTEGER),
                    CAST(AVG(docker_volumes_bytes) AS INTEGER), CAST(AVG(docker_build_cache_bytes) AS INTEGER)
                FROM host_metrics
                WHERE tier = @tier - 1 AND at >= @since AND at >= COALESCE((SELECT MAX(at) FROM host_metrics WHERE tier = @tier), 0) + @step
                GROUP BY at / @step
                """;
        var rows = c.Query<HostRow>(sql + "\nORDER BY 1", new { tier = range.Tier, since = now - range.Seconds, step = range.Step }).ToList();
        return new HostSeries(
            range.Name,
            [.. rows.Select(r => r.At)],
            [.. rows.Select(r => Math.Round(r.CpuPercent, 2))],
            [.. rows.Select(r => r.MemoryUsedBytes)],
            [.. rows.Select(r => r.MemoryTotalBytes)],
            [.. rows.Select(r => r.DataFreeBytes)],
            [.. rows.Select(r => r.DataTotalBytes)],
            [.. rows.Select(r => r.DockerFreeBytes)],
            [.. rows.Select(r => r.DockerTotalBytes)],
            [.. rows.Select(r => r.DockerImagesBytes)],
            [.. rows.Select(r => r.DockerContainersBytes)],
            [.. rows.Select(r => r.DockerVolumesBytes)],
            [.. rows.Select(r => r.DockerBuildCacheBytes)]);
    }
}
