namespace VpsPanel.Features.Docker;

/// <summary>
/// POST /build/prune, which Docker.DotNet.Enhanced does not have (it prunes containers, images, networks and
/// volumes only), and GET /system/df's LayersSize, which its models (generated for API 1.52+, where the answer took
/// another shape) do not carry; both over the same small raw client as the container logs (ContainerLogReader.cs).
/// </summary>
public sealed partial class DockerEngine
{
    /// <summary>
    /// Removes BuildKit cache records nobody used for <paramref name="unusedFor"/> (a Go duration such as "168h":
    /// API 1.41's `until` filter takes only that), in-use ones never; `all` includes records that are still
    /// referenced by other cache, which the age alone then decides. Returns the engine's JSON answer
    /// ({"CachesDeleted": [...], "SpaceReclaimed": bytes}).
    /// </summary>
    public async Task<string> PruneBuildCacheAsync(string unusedFor, CancellationToken ct)
    {
        await ClientAsync(ct);
        var filters = Uri.EscapeDataString($"{{\"until\":[\"{unusedFor}\"]}}");
        HttpResponseMessage res;
        try { res = await Raw.PostAsync($"v{ApiVersion}/build/prune?all=1&filters={filters}", null, ct); }
        catch (HttpRequestException e) { throw new DockerException($"the Docker engine is not reachable at {SocketPath}: {e.InnerException?.Message ?? e.Message}", e); }
        using (res)
        {
            var body = await res.Content.ReadAsStringAsync(ct);
            if (!res.IsSuccessStatusCode) throw new DockerException($"the Docker engine refused to prune the build cache (HTTP {(int)res.StatusCode}): {body.Trim()}");
            return body;
        }
    }

    /// <summary>
    /// GET /system/df (with <paramref name="query"/>, e.g. "?type=volume&amp;verbose=1"), parsed. Over the raw client:
    /// the library models the newest API's answer (ImagesDiskUsage …), which engines before API 1.52 (Debian's 20.10
    /// speaks 1.41) do not send. The engine runs one disk-usage walk at a time and refuses a second ("a disk usage
    /// operation is already running"); the volumes page, the metrics sampler and disk hygiene all ask, so a refusal
    /// waits for the other walk (up to 10 s) rather than failing its caller.
    /// </summary>
    public async Task<System.Text.Json.JsonDocument> SystemDfAsync(string query, CancellationToken ct)
    {
        await ClientAsync(ct);
        for (var attempt = 1; ; attempt++)
        {
            HttpResponseMessage res;
            try { res = await Raw.GetAsync($"v{ApiVersion}/system/df{query}", ct); }
            catch (HttpRequestException e) { throw new DockerException($"the Docker engine is not reachable at {SocketPath}: {e.InnerException?.Message ?? e.Message}", e); }
            using (res)
            {
                var text = await res.Content.ReadAsStringAsync(ct);
                if (res.IsSuccessStatusCode) return System.Text.Json.JsonDocument.Parse(text);
                if (attempt < 20 && text.Contains("disk usage operation is already running", StringComparison.Ordinal))
                {
                    await Task.Delay(500, ct);
                    continue;
                }
                throw new DockerException($"Docker GET /system/df failed ({(int)res.StatusCode}): {text.Trim()}");
            }
        }
    }

    /// <summary>Bytes of all image layers on the engine (GET /system/df LayersSize), or null when the answer has none.</summary>
    public async Task<long?> LayersSizeAsync(CancellationToken ct)
    {
        using var doc = await SystemDfAsync("", ct);
        return doc.RootElement.TryGetProperty("LayersSize", out var n) && n.TryGetInt64(out var bytes) ? bytes : null;
    }
}
