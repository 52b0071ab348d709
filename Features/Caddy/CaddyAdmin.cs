using System.Text;
using System.Text.Json.Nodes;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Caddy;

/// <summary>Caddy's admin API said no, or could not be reached; the message names the address.</summary>
public sealed class CaddyException(string message) : Exception(message);

/// <summary>
/// Talks to Caddy's admin API. The panel never edits Caddy's JSON piecemeal: it loads the main Caddyfile
/// (which imports the panel's sites directory) as a whole, so Caddy's own global options stay the operator's.
/// </summary>
public sealed class CaddyAdmin(string adminAddress)
{
    readonly HttpClient _http = new() { BaseAddress = new Uri(adminAddress.TrimEnd('/') + "/"), Timeout = TimeSpan.FromSeconds(30) };

    public string Address => adminAddress;

    public async Task PingAsync(CancellationToken ct)
    {
        try
        {
            using var res = await SendAsync(() => new(HttpMethod.Get, "config/"), ct);
            if (!res.IsSuccessStatusCode) throw new CaddyException($"Caddy's admin API at {adminAddress} answered {(int)res.StatusCode}");
        }
        catch (HttpRequestException e) { throw Unreachable(e); }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested) { throw new CaddyException($"Caddy's admin API at {adminAddress} did not answer in time"); }
    }

    /// <summary>
    /// Every upstream address (reverse_proxy dial, e.g. 127.0.0.1:20123) in Caddy's running config: what Caddy
    /// really routes to, which after a crash mid-switch can differ from both the database and the site files.
    /// </summary>
    public Task<HashSet<string>> RoutedUpstreamsAsync(CancellationToken ct) => ConfigValuesAsync("dial", ct);

    /// <summary>Every site root (the `root` directive, a plain static site's directory) in Caddy's running config; see <see cref="RoutedUpstreamsAsync"/>.</summary>
    public Task<HashSet<string>> RoutedStaticRootsAsync(CancellationToken ct) => ConfigValuesAsync("root", ct);

    /// <summary>Every string value of the key, anywhere in Caddy's running config.</summary>
    async Task<HashSet<string>> ConfigValuesAsync(string wanted, CancellationToken ct)
    {
        string text;
        try
        {
            using var res = await SendAsync(() => new(HttpMethod.Get, "config/"), ct);
            if (!res.IsSuccessStatusCode) throw new CaddyException($"Caddy's admin API at {adminAddress} answered {(int)res.StatusCode} to GET /config/");
            text = await res.Content.ReadAsStringAsync(ct);
        }
        catch (HttpRequestException e) { throw Unreachable(e); }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested) { throw new CaddyException($"Caddy's admin API at {adminAddress} did not answer in time"); }
        var found = new HashSet<string>();
        void Walk(JsonNode? n)
        {
            switch (n)
            {
                case JsonObject o:
                    foreach (var (key, value) in o)
                    {
                        if (key == wanted && value is JsonValue v && v.TryGetValue<string>(out var dial)) found.Add(dial);
                        else Walk(value);
                    }
                    break;
                case JsonArray a:
                    foreach (var item in a) Walk(item);
                    break;
            }
        }
        try { Walk(JsonNode.Parse(text.Length == 0 ? "null" : text)); }
        catch (System.Text.Json.JsonException e) { throw new CaddyException($"Caddy's admin API at {adminAddress} sent a config that is not JSON: {e.Message}"); }
        return found;
    }

    /// <summary>Turns a Caddyfile into JSON without applying it: the validation step before a reload.</summary>
    public Task<JsonNode> AdaptAsync(string caddyfile, CancellationToken ct) => PostCaddyfile("adapt", caddyfile, ct);

    /// <summary>Replaces Caddy's running config with this Caddyfile. Caddy keeps the old config if this fails.</summary>
    public Task LoadAsync(string caddyfile, CancellationToken ct) => PostCaddyfile("load", caddyfile, ct);

    async Task<JsonNode> PostCaddyfile(string endpoint, string caddyfile, CancellationToken ct)
    {
        try
        {
            using var res = await SendAsync(() => new(HttpMethod.Post, endpoint) { Content = new StringContent(caddyfile, Encoding.UTF8, "text/caddyfile") }, ct);
            var text = await res.Content.ReadAsStringAsync(ct);
            if (!res.IsSuccessStatusCode)
            {
                var message = text;
                try { message = JsonNode.Parse(text)?["error"]?.GetValue<string>() ?? text; } catch (System.Text.Json.JsonException) { }
                throw new CaddyException($"Caddy at {adminAddress} refused the config ({endpoint}): {message.Trim()}");
            }
            return text.Length == 0 ? new JsonObject() : JsonNode.Parse(text) ?? new JsonObject();
        }
        catch (HttpRequestException e) { throw Unreachable(e); }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested) { throw new CaddyException($"Caddy's admin API at {adminAddress} did not answer in time"); }
    }

    /// <summary>
    /// Sends the request, and once more when it failed on the connection itself (an IOException: "Broken pipe",
    /// "Connection reset"): a pooled keep-alive connection the other side closed while it sat idle fails the next
    /// request written on it. Seen in the full test run (a switch failed with "Broken pipe" after the panel had been
    /// idle, through a proxy in front of the admin API). Every call here is safe to send twice: reading the config,
    /// adapting a Caddyfile, and loading the whole Caddyfile again. A refused connection (Caddy down) is a
    /// SocketException, not retried.
    /// </summary>
    async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> request, CancellationToken ct)
    {
        using (var first = request())
        {
            try { return await _http.SendAsync(first, ct); }
            catch (HttpRequestException e) when (e.InnerException is IOException && !ct.IsCancellationRequested) { }
        }
        using var again = request();
        return await _http.SendAsync(again, ct);
    }

    CaddyException Unreachable(HttpRequestException e) =>
        new($"Caddy's admin API is not reachable at {adminAddress}: {e.InnerException?.Message ?? e.Message}");

    /// <summary>
    /// Caddy's admin API does not report its version, so this asks the local caddy binary, if there is one.
    /// Null when no caddy is on this machine's PATH (the admin API may still be a remote or containerised Caddy).
    /// The answer is kept until the binary on PATH changes (another path or mtime: an upgrade) or for a few minutes:
    /// /healthz and the dashboard ask on every request, and a process start per request cost 0.1-0.5 s on a loaded box
    /// (README "Performance"). Only the version is kept; whether Caddy is up is asked every time (PingAsync).
    /// </summary>
    public static async Task<string?> LocalVersionAsync(CancellationToken ct)
    {
        var path = FindOnPath("caddy");
        if (path is null) return null;
        var mtime = File.GetLastWriteTimeUtc(path);
        if (Fresh(_localVersion, path, mtime) is { } known) return known.Version;
        // One `caddy version` at a time: the requests that arrive meanwhile take its answer.
        await LocalVersionGate.WaitAsync(ct);
        try
        {
            if (Fresh(_localVersion, path, mtime) is { } raced) return raced.Version;
            var r = await Proc.RunAsync(path, ["version"], TimeSpan.FromSeconds(5), ct);
            var version = r.Ok ? r.Stdout.Trim().Split(' ')[0] : null;
            // A failed answer (a timeout on a busy box) is kept briefly, so a broken binary is not started on every request.
            _localVersion = new(path, mtime, DateTime.UtcNow + (version is null ? TimeSpan.FromSeconds(30) : LocalVersionKeptFor), version);
            return version;
        }
        finally { LocalVersionGate.Release(); }
    }

    static readonly TimeSpan LocalVersionKeptFor = TimeSpan.FromMinutes(5);
    static readonly SemaphoreSlim LocalVersionGate = new(1, 1);
    sealed record LocalVersion(string Path, DateTime Mtime, DateTime Until, string? Version);
    static LocalVersion? _localVersion;

    static LocalVersion? Fresh(LocalVersion? v, string path, DateTime mtime) =>
        v is not null && v.Path == path && v.Mtime == mtime && DateTime.UtcNow < v.Until ? v : null;

    /// <summary>The first executable file of that name on PATH, as a process start would find it; null when none.</summary>
    static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(f => File.Exists(f) && (File.GetUnixFileMode(f) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0);
}
