using Dapper;
using VpsPanel.Features.Data;
using VpsPanel.Features.Metrics;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Metrics;

/// <summary>
/// Roll-ups and the trim on a real SQLite file with the panel's migrations: two days of 10 s points (as a panel that
/// was never trimmed, or a clock jump, would leave) and rows 40 days old go in directly; one tick's roll-up and trim
/// leave an hour of raw points, a day of minute averages, the hours, nothing older than 30 days, and averages that are
/// the mean of what they cover. Running on for three more days keeps the tables at that size.
/// </summary>
public sealed class MetricsTrimTests
{
    [Fact]
    public void Roll_ups_average_what_they_cover_and_the_trim_keeps_every_tier_bounded()
    {
        var dir = Paths.NewTempDir("metrics-trim");
        try
        {
            using var c = Db.OpenFile(Path.Combine(dir, "vpspanel.db"));
            c.Execute("PRAGMA journal_mode = WAL;");
            Migrations.Apply(c);
            var now = 1_800_000_000L; // a fixed time on a whole hour, so the buckets below are exact
            const string a = "vpspanel-x-app-1", b = "vpspanel-x-svc-db";

            using (var tx = c.BeginTransaction())
            {
                // Two days of 10 s points of two containers: memory rises by 1 each point, CPU alternates 10/30.
                var rows = new List<object>();
                var host = new List<object>();
                for (var at = now - 2 * 86400; at < now; at += 10)
                {
                    var i = (at - (now - 2 * 86400)) / 10;
                    rows.Add(new { tier = 0, at, container = a, project = (long?)7, cpu = i % 2 == 0 ? 10.0 : 30.0, mem = 1000 + i });
                    rows.Add(new { tier = 0, at, container = b, project = (long?)null, cpu = 1.0, mem = 5000L });
                    host.Add(new { tier = 0, at, cpu = 50.0, used = 2000 + i, images = i % 30 == 0 ? (long?)777 : null });
                }
                // Rows of every tier 40 days old, of a container nobody samples any more.
                foreach (var tier in new[] { 0, 1, 2 })
                {
                    rows.Add(new { tier, at = now - 40 * 86400, container = "vpspanel-x-gone-1", project = (long?)7, cpu = 1.0, mem = 1L });
                    host.Add(new { tier, at = now - 40 * 86400, cpu = 1.0, used = 1L, images = (long?)null });
                }
                c.Execute("""
                    INSERT INTO container_metrics (tier, at, container, project_id, cpu_percent, memory_bytes, memory_limit_bytes, net_rx_bps, net_tx_bps, block_read_bps, block_write_bps)
                    VALUES (@tier, @at, @container, @project, @cpu, @mem, 1048576, 100, 200, 0, 0)
                    """, rows, tx);
                c.Execute("""
                    INSERT INTO host_metrics (tier, at, cpu_percent, memory_used_bytes, memory_total_bytes, data_free_bytes, data_total_bytes,
                        docker_free_bytes, docker_total_bytes, docker_images_bytes, docker_containers_bytes, docker_volumes_bytes, docker_build_cache_bytes)
                    VALUES (@tier, @at, @cpu, @used, 8000, 100, 200, 300, 400, @images, NULL, NULL, NULL)
                    """, host, tx);
                tx.Commit();
            }
            Assert.True(Count(c, "container_metrics") > 34_000);

            using (var tx = c.BeginTransaction())
            {
                MetricsSampler.RollUpAndTrim(c, tx, now);
                tx.Commit();
            }
            // Raw points: the last hour only (360 per container); minutes: the last day; hours: both days.
            Assert.Equal(360, Count(c, "container_metrics", "tier = 0 AND container = @a", new { a }));
            Assert.Equal(1440, Count(c, "container_metrics", "tier = 1 AND container = @a", new { a }));
            Assert.Equal(48, Count(c, "container_metrics", "tier = 2 AND container = @a", new { a }));
            Assert.Equal(0, Count(c, "container_metrics", "container = 'vpspanel-x-gone-1'"));
            Assert.Equal(360, Count(c, "host_metrics", "tier = 0"));
            Assert.Equal(1440, Count(c, "host_metrics", "tier = 1"));
            Assert.Equal(48, Count(c, "host_metrics", "tier = 2"));
            Assert.Equal(0, Count(c, "host_metrics", "at < @old", new { old = now - 30 * 86400 }));

            // Averages: the last minute of a covers points i = 17274..17279 (memory 1000 + i; CPU 10 and 30 alternate).
            var minute = c.QuerySingle<(double Cpu, long Mem, long? Project)>(
                "SELECT cpu_percent, memory_bytes, project_id FROM container_metrics WHERE tier = 1 AND container = @a AND at = @at", new { a, at = now - 60 });
            Assert.Equal(20.0, minute.Cpu, 6);
            Assert.Equal(1000 + (17274 + 17279) / 2, minute.Mem);
            Assert.Equal(7, minute.Project);
            // The last hour: 360 points, i = 16920..17279, memory average 1000 + 17099 (integer mean of the minute means).
            var hour = c.QuerySingle<(double Cpu, long Mem)>(
                "SELECT cpu_percent, memory_bytes FROM container_metrics WHERE tier = 2 AND container = @a AND at = @at", new { a, at = now - 3600 });
            Assert.Equal(20.0, hour.Cpu, 6);
            Assert.InRange(hour.Mem, 1000 + 17099, 1000 + 17100);
            // Docker's disk use, asked every 30 points here: a minute without an answer stays null, an hour averages the answers.
            Assert.Equal(777, c.ExecuteScalar<long?>("SELECT docker_images_bytes FROM host_metrics WHERE tier = 2 AND at = @at", new { at = now - 3600 }));
            Assert.Equal(1, c.ExecuteScalar<long>("SELECT COUNT(*) FROM host_metrics WHERE tier = 1 AND docker_images_bytes IS NULL AND at = @at", new { at = now - 60 }));

            // Three more days, ticking every minute (as Metrics:IntervalSeconds = 60): the tables stay at their bound
            // (per container: an hour of raw points, a day of minutes, the hours of the last 30 days).
            for (var at = now; at < now + 3 * 86400; at += 60)
            {
                using var tx = c.BeginTransaction();
                MetricsSampler.Store(c, tx, at, [new MetricsSampler.ContainerPoint(a, 7, 5, 100, 1000, 1, 2, 3, 4)],
                    new MetricsSampler.HostPoint(5, 1, 2, 3, 4, 5, 6, null));
                tx.Commit();
            }
            var end = now + 3 * 86400 - 60;
            Assert.InRange(Count(c, "container_metrics", "tier = 0 AND container = @a", new { a }), 59, 61);
            Assert.InRange(Count(c, "container_metrics", "tier = 1 AND container = @a", new { a }), 1439, 1441);
            Assert.InRange(Count(c, "container_metrics", "tier = 2 AND container = @a", new { a }), 5 * 24 - 1, 5 * 24);
            // b stopped being sampled at `now`: only its hours are left, within 30 days.
            Assert.Equal(0, Count(c, "container_metrics", "tier < 2 AND container = @b", new { b }));
            Assert.Equal(0, Count(c, "container_metrics", "at < @old", new { old = end - 30 * 86400 }));
            Assert.InRange(Count(c, "host_metrics", ""), 60 + 1440 + 5 * 24 - 3, 60 + 1440 + 5 * 24 + 3);

            // What the charts read: the 1h range is the raw points, 24h the minutes plus the minute in progress.
            var series = MetricsSeries.ForProject(c, 7, MetricsSeries.ParseRange("1h")!, end);
            Assert.InRange(series.T.Length, 59, 61);
            Assert.All(series.MemoryBytes, m => Assert.Equal(100, m));
            var dayRange = MetricsSeries.ForProject(c, 7, MetricsSeries.ParseRange("24h")!, end);
            Assert.InRange(dayRange.T.Length, 1440, 1442);
            Assert.Equal(end / 60 * 60, dayRange.T[^1]);
            Assert.Null(MetricsSeries.ParseRange("2h"));
        }
        finally { Paths.DeleteQuietly(dir); }
    }

    static long Count(Microsoft.Data.Sqlite.SqliteConnection c, string table, string where = "", object? args = null) =>
        c.ExecuteScalar<long>($"SELECT COUNT(*) FROM {table}" + (where == "" ? "" : " WHERE " + where), args);
}
