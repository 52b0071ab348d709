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
            using var res = await _http.GetAsync("config/", ct);
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
            using var res = await _http.GetAsync("config/", ct);
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
            using var res = await _http.PostAsync(endpoint, new StringContent(caddyfile, Encoding.UTF8, "text/caddyfile"), ct);
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

    CaddyException Unreachable(HttpRequestException e) =>
        new($"Caddy's admin API is not reachable at {adminAddress}: {e.InnerException?.Message ?? e.Message}");

    /// <summary>
    /// Caddy's admin API does not report its version, so this asks the local caddy binary, if there is one.
    /// Null when no caddy is on this machine's PATH (the admin API may still be a remote or containerised Caddy).
    /// </summary>
    public static async Task<string?> LocalVersionAsync(CancellationToken ct)
    {
        var r = await Proc.RunAsync("caddy", ["version"], TimeSpan.FromSeconds(5), ct);
        return r.Ok ? r.Stdout.Trim().Split(' ')[0] : null;
    }
}
