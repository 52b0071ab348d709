using VpsPanel.Features.Data;
using VpsPanel.Features.Settings;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Hygiene;

/// <summary>
/// disk.low (issue 17): the metrics sampler measures the data dir and Docker's root every Metrics:IntervalSeconds;
/// when one has less free than Disk:MinFreeMb (the threshold below which builds are refused, <see cref="DiskGuard"/>)
/// one message is raised for that filesystem, and none again until it was measured above the threshold. The two paths
/// are usually on one filesystem: keyed by device, so one full disk is one message naming both paths, and the
/// engine's root that could not be read on an early tick does not make a second message for the same disk later.
/// A disk that cannot be measured keeps its state (neither raised nor reset).
/// </summary>
public sealed class DiskAlarm(Db db, PanelSettings settings, ILogger logger)
{
    readonly HashSet<string> _low = [];

    public void Check(IReadOnlyList<DiskFree> disks)
    {
        if (settings.DiskMinFreeBytes == 0)
        {
            _low.Clear();
            return;
        }
        // The usual tick: every disk above the threshold and none was low, so /proc/self/mountinfo is not read.
        if (_low.Count == 0 && !disks.Any(d => d.Below(settings.DiskMinFreeBytes))) return;
        var measured = disks.Where(d => d.Free is not null && d.Path != "").Select(d => (Disk: d, Fs: FileSystemOf(d.Path))).ToList();
        foreach (var back in measured.Where(m => !m.Disk.Below(settings.DiskMinFreeBytes)))
            if (_low.Remove(back.Fs.Device)) logger.LogInformation("disk space: {What} {Path} is above Disk:MinFreeMb again", back.Disk.What, back.Disk.Path);
        var newlyLow = measured.Where(m => m.Disk.Below(settings.DiskMinFreeBytes) && !_low.Contains(m.Fs.Device)).GroupBy(m => m.Fs.Device).ToList();
        if (newlyLow.Count == 0) return;
        var parts = newlyLow.Select(g =>
        {
            var names = string.Join(" and ", g.Select(m => $"{m.Disk.What} {m.Disk.Path}"));
            var d = g.First().Disk;
            var total = d.Total is { } t and > 0 ? $" of {DiskSpace.Size(t)}" : "";
            return $"{names} {(g.Count() > 1 ? "have" : "has")} {DiskSpace.Size(d.Free!.Value)} free{total} (filesystem mounted at {g.First().Fs.Mount})";
        });
        var message = $"Disk space low: {string.Join("; ", parts)}, less than Disk:MinFreeMb ({settings.DiskMinFreeBytes / (1024 * 1024)} MiB). " +
            "Builds are refused until there is more; free some space (Disk page: Clean up now, or `vpspanel cleanup`).";
        foreach (var g in newlyLow) _low.Add(g.Key);
        logger.LogWarning("{Message}", message);
        Notifications.Notify.Event(db, Notifications.Notify.DiskLow, null, null, message, "/disk");
    }

    /// <summary>
    /// The filesystem the path is on, as (device, mount point) from /proc/self/mountinfo: the longest mount that is the
    /// path or one of its parents. The device, not the mount, is the key: Docker's root is often a bind mount of the
    /// disk the data dir is on (this very machine: /var/lib/docker and / are both 254:0).
    /// </summary>
    static (string Device, string Mount) FileSystemOf(string path)
    {
        var full = Path.GetFullPath(path).TrimEnd('/') + "/";
        try
        {
            (string Device, string Mount)? best = null;
            foreach (var line in File.ReadLines("/proc/self/mountinfo"))
            {
                // "26 1 254:0 / / rw,relatime - ext4 /dev/vda rw": the third field is major:minor, the fifth the mount point (spaces as \040).
                var f = line.Split(' ');
                if (f.Length < 5) continue;
                var mount = f[4].Replace("\\040", " ");
                if (full.StartsWith(mount.TrimEnd('/') + "/", StringComparison.Ordinal) && (best is null || mount.Length >= best.Value.Mount.Length))
                    best = (f[2], mount);
            }
            return best ?? (path, path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return (path, path); }
    }
}
