namespace VpsPanel.Features.Shared;

/// <summary>Which disk a path is on and how much of it is free, worded for an error message.</summary>
public static class DiskSpace
{
    /// <summary>Whether an error (or git's stderr inside its message) says the disk is full (ENOSPC, or SQLite's "disk is full").</summary>
    public static bool IsFull(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
            if (x.Message.Contains("No space left on device", StringComparison.OrdinalIgnoreCase)
                || x.Message.Contains("disk is full", StringComparison.OrdinalIgnoreCase)
                // git's own wording when a checkout fills the disk ("sha1 file '…/index.lock' write error. Out of diskspace").
                || x.Message.Contains("Out of diskspace", StringComparison.OrdinalIgnoreCase)
                || x.HResult == 28 /* ENOSPC, as .NET reports it for file writes */)
                return true;
        return false;
    }

    /// <summary>Bytes free for this process on the disk holding <paramref name="path"/> (or its nearest existing parent); null if unknown.</summary>
    public static long? FreeBytes(string path)
    {
        try { return new DriveInfo(ExistingAncestor(path)).AvailableFreeSpace; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException) { return null; }
    }

    /// <summary>"no space left on /var/lib/vpspanel/builds (the disk mounted at /var/lib, ext4): 12 KiB of 20 GiB free".</summary>
    public static string Describe(string path)
    {
        try
        {
            var mount = MountOf(path);
            var at = mount is null ? "" : $" (the disk mounted at {mount.Name}, {mount.DriveFormat})";
            // statvfs on the path itself: works for any directory, also below the mount point.
            var drive = new DriveInfo(ExistingAncestor(path));
            return $"no space left on {path}{at}: {Size(drive.AvailableFreeSpace)} of {Size(drive.TotalSize)} free";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return $"no space left on {path} (free space unknown: {e.Message})";
        }
    }

    static DriveInfo? MountOf(string path)
    {
        var full = Path.GetFullPath(path);
        // The longest mount point that is a prefix of the path is the file system it is on.
        return DriveInfo.GetDrives()
            .Where(d => full == d.Name || full.StartsWith(d.Name.TrimEnd('/') + "/", StringComparison.Ordinal))
            .MaxBy(d => d.Name.Length);
    }

    static string ExistingAncestor(string path)
    {
        var p = Path.GetFullPath(path);
        while (!Directory.Exists(p) && Path.GetDirectoryName(p) is { } parent) p = parent;
        return p;
    }

    public static string Size(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{bytes / 1024.0:0.#} KiB",
        < 1024L * 1024 * 1024 => $"{bytes / (1024.0 * 1024):0.#} MiB",
        _ => $"{bytes / (1024.0 * 1024 * 1024):0.#} GiB",
    };
}
