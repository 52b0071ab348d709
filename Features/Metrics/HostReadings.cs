using System.Globalization;

namespace VpsPanel.Features.Metrics;

/// <summary>The host's CPU (/proc/stat), memory (/proc/meminfo) and a file system's space (statvfs), read directly.</summary>
public static class HostReadings
{
    /// <summary>The first line of /proc/stat: jiffies spent busy and in total since boot.</summary>
    public sealed record Cpu(ulong Busy, ulong Total);

    public static Cpu ReadCpu()
    {
        try
        {
            using var r = new StreamReader("/proc/stat");
            // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest time is already in user/nice)
            var f = r.ReadLine()!.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8)
                .Select(v => ulong.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            var total = f.Aggregate(0UL, (a, b) => a + b);
            var idle = f[3] + (f.Length > 4 ? f[4] : 0);
            return new Cpu(total - idle, total);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or NullReferenceException) { return new Cpu(0, 0); }
    }

    /// <summary>Busy share of all CPUs between two readings, 0-100.</summary>
    public static double CpuPercent(Cpu before, Cpu now) =>
        now.Total > before.Total && now.Busy >= before.Busy
            ? Math.Round(100.0 * (now.Busy - before.Busy) / (now.Total - before.Total), 2)
            : 0;

    /// <summary>Used (MemTotal - MemAvailable: what the kernel could not hand out without swapping) and total, in bytes.</summary>
    public static (long Used, long Total) ReadMemory()
    {
        long total = 0, available = 0;
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                if (line.StartsWith("MemTotal:", StringComparison.Ordinal)) total = Kb(line);
                else if (line.StartsWith("MemAvailable:", StringComparison.Ordinal)) available = Kb(line);
                if (total > 0 && available > 0) break;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return (Math.Max(0, total - available), total);
    }

    static long Kb(string line) =>
        long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;

    /// <summary>
    /// Free (for unprivileged users) and total bytes of the file system holding <paramref name="path"/>; null when it
    /// cannot be read. DriveInfo asks statvfs for the path it is given, so any directory works, not only mount points;
    /// statvfs needs no permission on the directory itself (Docker's root is 0710 root).
    /// </summary>
    public static (long Free, long Total)? Disk(string? path)
    {
        if (string.IsNullOrEmpty(path)) return null;
        try
        {
            var d = new DriveInfo(path);
            return (d.AvailableFreeSpace, d.TotalSize);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException) { return null; }
    }
}
