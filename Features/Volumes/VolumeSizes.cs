using System.Diagnostics;
using System.Text.Json;
using VpsPanel.Features.Docker;

namespace VpsPanel.Features.Volumes
{

/// <summary>
/// Sizes of volumes, from the engine's own disk-usage report (GET /system/df, each volume's UsageData.Size): one
/// call for all volumes, no container started and nothing read by the panel itself (which, as its own user, cannot
/// read /var/lib/docker). A `du` in a helper container would start a process per volume and need a `du` in the app's
/// image. The report walks every volume, so it is asked only when the Volumes section is shown (htmx loads it after
/// the page), never on the project page's own request. Host directories are summed by the panel (they are under
/// Storage:HostPathRoot, which it can read), stopping at 100 000 entries.
/// </summary>
public static class VolumeSizes
{
    public static async Task<Dictionary<string, long>> DockerVolumeSizesAsync(DockerEngine engine, ILogger? logger, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        var sizes = await engine.VolumeSizesAsync(ct);
        logger?.LogDebug("GET /system/df took {Ms} ms", watch.ElapsedMilliseconds);
        return sizes;
    }

    /// <summary>Bytes of the files under a host directory (links not followed); null when it cannot be read.</summary>
    public static long? HostDirectorySize(string dir)
    {
        try
        {
            if (!Directory.Exists(dir)) return 0;
            long total = 0;
            var n = 0;
            foreach (var f in new DirectoryInfo(dir).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint, IgnoreInaccessible = true }))
            {
                total += f.Length;
                if (++n > 100_000) break;
            }
            return total;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>A project's volumes as the page and the API show them: the Docker volume (null for a host directory), whether it exists yet, its size.</summary>
    public sealed record VolumeView(string Name, string MountPath, string? HostPath, string? DockerVolume, bool Created, long? SizeBytes);

    public static async Task<List<VolumeView>> ListWithSizesAsync(Microsoft.Data.Sqlite.SqliteConnection c, DockerEngine engine, Projects.ProjectRow project, CancellationToken ct)
    {
        var rows = ProjectVolumes.ListVolumesOfProject(c, project.Id);
        var sizes = rows.Any(r => r.HostPath is null) ? await DockerVolumeSizesAsync(engine, null, ct) : [];
        var panel = PanelIdentity.Of(c);
        return rows.Select(r =>
        {
            if (r.HostPath is { } h) return new VolumeView(r.Name, r.MountPath, h, null, Directory.Exists(h), HostDirectorySize(h));
            var name = ProjectVolumes.DockerName(panel, project.Slug, r.Name);
            return new VolumeView(r.Name, r.MountPath, null, name, sizes.ContainsKey(name), sizes.TryGetValue(name, out var size) ? size : null);
        }).ToList();
    }

    public static string Human(long? bytes) => bytes switch
    {
        null => "unknown",
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{bytes / 1024.0:0.#} KiB",
        < 1024L * 1024 * 1024 => $"{bytes / (1024.0 * 1024):0.#} MiB",
        _ => $"{bytes / (1024.0 * 1024 * 1024):0.##} GiB",
    };
}

}

namespace VpsPanel.Features.Docker
{
    public sealed partial class DockerEngine
    {
        /// <summary>
        /// Size in bytes of every volume (GET /system/df?type=volume). API 1.41 sends "Volumes": [{"Name",
        /// "UsageData": {"Size"}}], the newest API "VolumesDiskUsage": {"Items": […]}; both shapes are read.
        /// </summary>
        public async Task<Dictionary<string, long>> VolumeSizesAsync(CancellationToken ct)
        {
            using var doc = await SystemDfAsync("?type=volume&verbose=1", ct);
            var sizes = new Dictionary<string, long>();
            var list = doc.RootElement.TryGetProperty("Volumes", out var v) && v.ValueKind == JsonValueKind.Array ? v
                : doc.RootElement.TryGetProperty("VolumesDiskUsage", out var u) && u.TryGetProperty("Items", out var items) ? items : default;
            if (list.ValueKind != JsonValueKind.Array) return sizes;
            foreach (var vol in list.EnumerateArray())
                if (vol.TryGetProperty("Name", out var name) && vol.TryGetProperty("UsageData", out var usage) && usage.ValueKind == JsonValueKind.Object
                    && usage.TryGetProperty("Size", out var size) && size.TryGetInt64(out var bytes) && bytes >= 0)
                    sizes[name.GetString()!] = bytes;
            return sizes;
        }
    }
}
