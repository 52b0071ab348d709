using System.Text.Json;
using Dapper;
using Docker.DotNet.Models;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Data;
using VpsPanel.Features.Deployments;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Settings;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Hygiene;

/// <summary>What one cleanup did: the numbers the page, the API and the CLI show, and a line per removal.</summary>
public sealed record CleanupResult(
    string StartedAt, string FinishedAt, string Trigger, int ImagesRemoved, int ImagesKept, long ImageBytes, long BuildCacheBytes,
    int BuildDirsRemoved, long BuildDirBytes, int LogsRemoved, long LogBytes, List<string> RemovedImages, List<string> Notes)
{
    public long BytesReclaimed => ImageBytes + BuildCacheBytes + BuildDirBytes + LogBytes;

    public string Summary =>
        $"{ImagesRemoved} image(s) removed ({DiskSpace.Size(ImageBytes)}), {ImagesKept} kept; build cache {DiskSpace.Size(BuildCacheBytes)}; " +
        $"{BuildDirsRemoved} build dir(s) ({DiskSpace.Size(BuildDirBytes)}); {LogsRemoved} stray log(s) ({DiskSpace.Size(LogBytes)}); " +
        $"{DiskSpace.Size(BytesReclaimed)} reclaimed in total";
}

/// <summary>
/// Disk hygiene (issue 16), daily (DiskCleanupJob) and on demand (/disk, POST /api/system/cleanup, `vpspanel cleanup`):
/// 1. images of this panel (label vpspanel.panel = our id; anything else is foreign and never looked at): per project
///    the newest Disk:KeepImages images that went live are kept, and always the live one, the pinned ones
///    (PinnedDeployments) and those of deployments queued or running (a queued rollback names its image); the rest,
///    untagged leftovers included, are removed;
/// 2. BuildKit's build cache unused for Disk:RetentionDays (POST /build/prune, `until`, which API 1.41 takes as a Go
///    duration). That cache is the engine's, not the panel's alone: only what nobody used for that long goes;
/// 3. build directories under &lt;DataDir&gt;/builds of deployments that are not running (a crash leaves them);
/// 4. deploy logs whose deployment row is gone (a restored older backup; deleting a project deletes its own) and
///    older than the retention.
/// One run at a time; each run is a row of disk_cleanups and an audit row.
/// </summary>
public sealed class DiskCleanup(Db db, PanelSettings settings, DockerEngine engine, ILogger<DiskCleanup> logger)
{
    static readonly SemaphoreSlim OneAtATime = new(1, 1);
    const int RunsKept = 50;

    public async Task<CleanupResult> RunAsync(string trigger, CancellationToken ct)
    {
        await OneAtATime.WaitAsync(ct);
        try { return await RunLockedAsync(trigger, ct); }
        finally { OneAtATime.Release(); }
    }

    async Task<CleanupResult> RunLockedAsync(string trigger, CancellationToken ct)
    {
        var started = Clock.Now();
        var notes = new List<string>();
        var removed = new List<string>();
        int kept = 0;
        long imageBytes = 0, cacheBytes = 0;
        using var c = db.Open();
        var panel = PanelIdentity.Of(c);
        try
        {
            var docker = await engine.ClientAsync(ct);
            var before = await LayersSizeAsync(ct);
            var keep = ImagesToKeep(c, settings.DiskKeepImages);
            var ours = await docker.Images.ListImagesAsync(new ImagesListParameters { All = false, Filters = DockerAbsentOk.LabelFilter($"{PanelIdentity.Label}={panel}") }, ct);
            foreach (var image in ours)
            {
                var tags = image.RepoTags?.Where(t => t != "<none>:<none>").ToList() ?? [];
                var deployment = image.Labels is not null && image.Labels.TryGetValue("vpspanel.deployment", out var d) && long.TryParse(d, out var id) ? id : (long?)null;
                if (tags.Any(keep.Images.Contains) || deployment is { } dep && keep.Deployments.Contains(dep)) { kept++; continue; }
                foreach (var name in tags.Count > 0 ? tags : [image.ID])
                {
                    try
                    {
                        await docker.Images.DeleteImageAsync(name, new ImageDeleteParameters { Force = false }, ct);
                        removed.Add(name);
                    }
                    catch (Exception e) when (DockerEngine.IsDockerError(e) && e is not DockerException)
                    {
                        // In use by a container (a stopped one of ours the reconciler has not removed yet): the next run takes it.
                        notes.Add($"kept {name}: {DockerErrors.Readable(e)}");
                    }
                }
            }
            // Layers shared between images go only with the last image holding them; the engine's own count says what went.
            if (before is { } b && await LayersSizeAsync(ct) is { } after) imageBytes = Math.Max(0, b - after);
            cacheBytes = await PruneBuildCacheAsync(notes, ct);
        }
        catch (Exception e) when (DockerEngine.IsDockerError(e))
        {
            notes.Add($"Docker: {DockerErrors.Readable(e)}; images and build cache were not cleaned");
        }
        var (dirs, dirBytes) = RemoveStrayBuildDirs(c, notes);
        var (logs, logBytes) = RemoveStrayLogs(c, notes);
        var result = new CleanupResult(started, Clock.Now(), trigger, removed.Count, kept, imageBytes, cacheBytes, dirs, dirBytes, logs, logBytes, removed, notes);
        RecordRun(c, result);
        logger.LogInformation("Disk cleanup ({Trigger}): {Summary}", trigger, result.Summary);
        return result;
    }

    public sealed record KeepSet(HashSet<string> Images, HashSet<long> Deployments);

    /// <summary>
    /// Per project, the images of the newest <paramref name="keepPerProject"/> deployments that went live (a rollback
    /// shares its source's image, so images are counted, not rows), plus the live one, the pinned ones and those of
    /// deployments that are queued or running; and the ids of the running ones, whose image may not have its tag yet.
    /// </summary>
    public static KeepSet ImagesToKeep(SqliteConnection c, int keepPerProject)
    {
        var images = new HashSet<string>();
        var wentLive = c.Query<(long ProjectId, string Image)>(
            "SELECT project_id, image FROM deployments WHERE image IS NOT NULL AND status IN ('live', 'retired') ORDER BY id DESC");
        foreach (var project in wentLive.GroupBy(r => r.ProjectId))
            foreach (var image in project.Select(r => r.Image).Distinct().Take(keepPerProject)) images.Add(image);
        images.UnionWith(c.Query<string>(
            """
            SELECT d.image FROM deployments d
            WHERE d.image IS NOT NULL AND (d.status IN ('live', 'queued', 'cloning', 'building', 'starting', 'health_checking', 'switching')
                                           OR d.id IN (SELECT deployment_id FROM pinned_deployments))
            """));
        var running = c.Query<long>("SELECT id FROM deployments WHERE status IN ('queued', 'cloning', 'building', 'starting', 'health_checking', 'switching', 'live')").ToHashSet();
        return new KeepSet(images, running);
    }

    async Task<long?> LayersSizeAsync(CancellationToken ct)
    {
        try { return await engine.LayersSizeAsync(ct); }
        catch (Exception e) when (DockerEngine.IsDockerError(e) || e is JsonException) { return null; }
    }

    async Task<long> PruneBuildCacheAsync(List<string> notes, CancellationToken ct)
    {
        try
        {
            using var doc = JsonDocument.Parse(await engine.PruneBuildCacheAsync($"{settings.DiskRetentionDays * 24}h", ct));
            return doc.RootElement.TryGetProperty("SpaceReclaimed", out var n) && n.TryGetInt64(out var bytes) ? bytes : 0;
        }
        catch (Exception e) when (DockerEngine.IsDockerError(e) || e is JsonException)
        {
            notes.Add($"build cache not pruned: {e.Message}");
            return 0;
        }
    }

    /// <summary>&lt;DataDir&gt;/builds/&lt;id&gt; of deployments that are not running: each run deletes its own, a crash does not.</summary>
    (int, long) RemoveStrayBuildDirs(SqliteConnection c, List<string> notes)
    {
        var root = Path.Combine(settings.DataDir, "builds");
        if (!Directory.Exists(root)) return (0, 0);
        var running = c.Query<long>("SELECT id FROM deployments WHERE status IN ('cloning', 'building', 'starting', 'health_checking', 'switching')").ToHashSet();
        int n = 0;
        long bytes = 0;
        foreach (var dir in Directory.EnumerateDirectories(root))
        {
            if (long.TryParse(Path.GetFileName(dir), out var id) && running.Contains(id)) continue;
            try
            {
                var size = SizeOf(dir);
                Directory.Delete(dir, recursive: true);
                n++;
                bytes += size;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { notes.Add($"build dir {dir} not removed: {e.Message}"); }
        }
        return (n, bytes);
    }

    /// <summary>Log files (&lt;id&gt;-&lt;key&gt;.log) no deployment row names, older than the retention.</summary>
    (int, long) RemoveStrayLogs(SqliteConnection c, List<string> notes)
    {
        var dir = Path.Combine(settings.DataDir, "logs");
        if (!Directory.Exists(dir)) return (0, 0);
        var known = c.Query<(long Id, string? Key)>("SELECT id, log_key FROM deployments")
            .Select(r => r.Key is null ? $"{r.Id}.log" : $"{r.Id}-{r.Key}.log").ToHashSet();
        var cutoff = DateTime.UtcNow.AddDays(-settings.DiskRetentionDays);
        int n = 0;
        long bytes = 0;
        foreach (var file in new DirectoryInfo(dir).EnumerateFiles("*.log"))
        {
            if (known.Contains(file.Name) || file.LastWriteTimeUtc > cutoff) continue;
            try
            {
                var size = file.Length;
                file.Delete();
                n++;
                bytes += size;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { notes.Add($"log {file.Name} not removed: {e.Message}"); }
        }
        return (n, bytes);
    }

    static long SizeOf(string dir) =>
        new DirectoryInfo(dir).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint, IgnoreInaccessible = true })
            .Sum(f => f.Length);

    static void RecordRun(SqliteConnection c, CleanupResult r)
    {
        c.Execute(
            """
            INSERT INTO disk_cleanups (started_at, finished_at, trigger, images_removed, bytes_reclaimed, detail)
            VALUES (@StartedAt, @FinishedAt, @Trigger, @ImagesRemoved, @BytesReclaimed, @detail)
            """, new { r.StartedAt, r.FinishedAt, r.Trigger, r.ImagesRemoved, r.BytesReclaimed, detail = r.Summary + string.Concat(r.Notes.Select(n => "\n" + n)) });
        c.Execute("DELETE FROM disk_cleanups WHERE id NOT IN (SELECT id FROM disk_cleanups ORDER BY id DESC LIMIT @RunsKept)", new { RunsKept });
    }

    public sealed record CleanupRunRow(long Id, string StartedAt, string FinishedAt, string Trigger, long ImagesRemoved, long BytesReclaimed, string Detail);

    public static List<CleanupRunRow> ListRecentCleanups(SqliteConnection c, int limit) =>
        c.Query<CleanupRunRow>("SELECT id, started_at, finished_at, trigger, images_removed, bytes_reclaimed, detail FROM disk_cleanups ORDER BY id DESC LIMIT @limit",
            new { limit }).AsList();
}
