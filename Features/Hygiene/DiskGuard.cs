using VpsPanel.Features.Deployments;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Settings;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Hygiene;

/// <summary>The free space of one disk the panel needs: the data dir, or Docker's root (null Free: not on this host).</summary>
public sealed record DiskFree(string What, string Path, long? Free, long? Total)
{
    public bool Below(long bytes) => Free is { } f && f < bytes;
}

/// <summary>
/// Free space before a build (issue 16): a build fills the data dir (checkout, log) and Docker's root (layers, build
/// cache) and a full disk breaks far more than the build (the database, the live apps' writes). So a deploy that
/// would build is refused at once while either has less than Disk:MinFreeMb, with the path, the free space and the
/// setting in its error. The dashboard warns below twice the threshold. A rollback builds nothing and is let through.
/// </summary>
public static class DiskGuard
{
    /// <summary>Throws a DeployFailure naming the disk, its free space and the setting when one is below the threshold.</summary>
    public static async Task RefuseBuildWhenLowAsync(PanelSettings settings, DockerEngine engine, Action<string> log, CancellationToken ct)
    {
        if (settings.DiskMinFreeBytes == 0) return;
        foreach (var disk in await MeasureAsync(settings, engine, ct))
        {
            if (disk.Free is null)
            {
                log($"disk check: {disk.What} ({disk.Path}) cannot be measured from this host (the engine's files are elsewhere or not visible to the panel); only the other disk was checked");
                continue;
            }
            if (disk.Below(settings.DiskMinFreeBytes))
                throw new DeployFailure($"not enough free disk space to build: {disk.What} {disk.Path} has {DiskSpace.Size(disk.Free.Value)} free, " +
                    $"less than Disk:MinFreeMb ({settings.DiskMinFreeBytes / (1024 * 1024)} MiB). Free some space (Disk page: Clean up now, or `vpspanel cleanup`) " +
                    "or lower the setting; the live app was not touched");
        }
    }

    /// <summary>The data dir and, when the engine answers and its root is visible here, Docker's root (GET /info DockerRootDir).</summary>
    public static async Task<List<DiskFree>> MeasureAsync(PanelSettings settings, DockerEngine engine, CancellationToken ct)
    {
        var disks = new List<DiskFree> { Measure("the data dir", settings.DataDir) };
        // GET /info only for its DockerRootDir, which changes only with an engine restart on a new data-root: kept a few
        // minutes, since the dashboard measures on every request and /info is one of the engine's slowest answers.
        var root = _dockerRoot is { } known && known.Socket == engine.SocketPath && DateTime.UtcNow < known.Until ? known.Root : null;
        if (root is null)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(5));
                root = (await (await engine.ClientAsync(timeout.Token)).System.GetSystemInfoAsync(timeout.Token)).DockerRootDir;
                if (!string.IsNullOrEmpty(root)) _dockerRoot = new(engine.SocketPath, root, DateTime.UtcNow + DockerRootKeptFor);
            }
            // Docker down: the build fails at its own step with its own message; nothing to measure here.
            catch (Exception e) when (DockerEngine.IsDockerError(e) || e is OperationCanceledException && !ct.IsCancellationRequested) { }
        }
        if (!string.IsNullOrEmpty(root))
            disks.Add(Directory.Exists(root) ? Measure("Docker's root", root) : new DiskFree("Docker's root", root, null, null));
        return disks;
    }

    static readonly TimeSpan DockerRootKeptFor = TimeSpan.FromMinutes(5);
    sealed record KnownRoot(string Socket, string Root, DateTime Until);
    static KnownRoot? _dockerRoot;

    static DiskFree Measure(string what, string path)
    {
        try
        {
            // statvfs of the path itself (DriveInfo takes any directory), so a data dir on its own mount is measured as such.
            var d = new DriveInfo(path);
            return new DiskFree(what, path, d.AvailableFreeSpace, d.TotalSize);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException) { return new DiskFree(what, path, null, null); }
    }
}
