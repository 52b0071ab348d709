using System.Globalization;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Upgrades;

/// <summary>A release that cannot be read or trusted; the message says which file and why. Nothing was changed.</summary>
public sealed class ReleaseException(string message) : Exception(message);

/// <summary>
/// Where releases come from and how they are laid out, shared by `vpspanel upgrade` and the dashboard's check. The
/// layout is install.sh's (issue 19): per release the files vpspanel-linux-x64, vpspanel-linux-arm64, SHA256SUMS
/// (sha256sum format), install.sh and VERSION (the bare version, e.g. 1.2.3); the newest at
/// &lt;base&gt;/latest/download/&lt;file&gt;, a version at &lt;base&gt;/download/v&lt;X&gt;/&lt;file&gt;, where base is
/// https://github.com/&lt;Release:Repository&gt;/releases unless Release:BaseUrl names a mirror. VERSION is a plain
/// file rather than GitHub's API so that a mirror (or an air-gapped server's web directory) serves it as it is.
/// </summary>
public static partial class Release
{
    public const string DefaultRepository = "vpspanel/vpspanel";
    public const string SumsFile = "SHA256SUMS";
    public const string VersionFile = "VERSION";

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}\z")]
    private static partial Regex RepositoryPattern();

    // 1.2.3, 1.2, 1.2.3.4, each optionally with a pre-release part (1.3.0-rc.1); never a path or a URL piece.
    [GeneratedRegex(@"^[0-9]{1,9}(\.[0-9]{1,9}){1,3}(-[0-9A-Za-z][0-9A-Za-z.-]{0,40})?\z")]
    private static partial Regex VersionPattern();

    static bool BaseUrl(string v) => v == "" || (Uri.TryCreate(v, UriKind.Absolute, out var u) && u.Scheme is "http" or "https" && u.Query == "" && u.Fragment == "");

    public static IEnumerable<Setting> Settings =>
    [
        new("Release:Repository", DefaultRepository, "a GitHub repository as owner/name (where releases are published; the same default as install.sh's VPSPANEL_REPO)", v => RepositoryPattern().IsMatch(v)),
        new("Release:BaseUrl", "", "empty (means https://github.com/<Release:Repository>/releases) or an http(s) URL of a mirror with the same layout: <it>/latest/download/<file> and <it>/download/v<version>/<file>", BaseUrl),
        new("Upgrade:RestartCommand", "systemctl restart vpspanel", "a program and its arguments separated by spaces, no shell (how `vpspanel upgrade` restarts the panel after swapping the binary; it must return once the old process has stopped)",
            v => v.Trim() != "" && !v.Contains('\n')),
        new("Upgrade:HealthTimeoutSeconds", "60", "a whole number of seconds from 5 to 3600 (how long `vpspanel upgrade` waits for the new version's /healthz before it rolls back)",
            v => int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 5 and <= 3600),
    ];

    /// <summary>The release base URL from the validated settings values, without a trailing slash.</summary>
    public static string BaseFrom(IReadOnlyDictionary<string, string> values) =>
        values["Release:BaseUrl"] is { Length: > 0 } b ? b.TrimEnd('/') : $"https://github.com/{values["Release:Repository"]}/releases";

    /// <summary>"1.2.3" from "1.2.3" or "v1.2.3"; null when it is not a version.</summary>
    public static string? ParseVersion(string? v)
    {
        v = v?.Trim();
        if (v is null) return null;
        if (v.StartsWith('v') || v.StartsWith('V')) v = v[1..];
        return VersionPattern().IsMatch(v) ? v : null;
    }

    /// <summary>Orders versions: numbers by value, and a pre-release before its release (1.3.0-rc.1 &lt; 1.3.0).</summary>
    public static int Compare(string a, string b)
    {
        var (na, pa) = Split(a);
        var (nb, pb) = Split(b);
        for (var i = 0; i < Math.Max(na.Length, nb.Length); i++)
        {
            var c = (i < na.Length ? na[i] : 0).CompareTo(i < nb.Length ? nb[i] : 0);
            if (c != 0) return c;
        }
        if (pa == pb) return 0;
        if (pa == "") return 1;
        if (pb == "") return -1;
        return string.CompareOrdinal(pa, pb);
    }

    static (long[] Numbers, string Pre) Split(string v)
    {
        var dash = v.IndexOf('-');
        var (nums, pre) = dash < 0 ? (v, "") : (v[..dash], v[(dash + 1)..]);
        return (nums.Split('.').Select(n => long.Parse(n, CultureInfo.InvariantCulture)).ToArray(), pre);
    }

    /// <summary>The binary's file name for this machine, as the release names it.</summary>
    public static string AssetForThisMachine() => RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => "vpspanel-linux-x64",
        Architecture.Arm64 => "vpspanel-linux-arm64",
        var other => throw new ReleaseException($"there is no release binary for this machine's architecture ({other}); releases are built for x64 and arm64"),
    };

    public static string LatestUrl(string baseUrl, string file) => $"{baseUrl}/latest/download/{file}";
    public static string VersionUrl(string baseUrl, string version, string file) => $"{baseUrl}/download/v{version}/{file}";

    /// <summary>Follows redirects (GitHub sends downloads to its object store), and says who asks.</summary>
    public static HttpClient NewClient(TimeSpan timeout)
    {
        var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = true, MaxAutomaticRedirections = 10 }) { Timeout = timeout };
        http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("vpspanel", Cli.CliApp.Version));
        return http;
    }

    /// <summary>The newest release's version, from &lt;base&gt;/latest/download/VERSION.</summary>
    public static async Task<string> LatestVersionAsync(HttpClient http, string baseUrl, CancellationToken ct)
    {
        var url = LatestUrl(baseUrl, VersionFile);
        var text = await GetTextAsync(http, url, 200, ct);
        return ParseVersion(text) ?? throw new ReleaseException($"{url} does not hold a version (it says \"{Short(text)}\"); expected e.g. 1.2.3");
    }

    /// <summary>The SHA-256 (lower-case hex) SHA256SUMS gives for <paramref name="file"/>; a release without one is refused.</summary>
    public static async Task<string> ExpectedSumAsync(HttpClient http, string sumsUrl, string file, CancellationToken ct)
    {
        var text = await GetTextAsync(http, sumsUrl, 64 * 1024, ct);
        foreach (var line in text.Split('\n'))
        {
            // sha256sum writes "<hex>  <name>", or "<hex> *<name>" in binary mode; a "./" prefix is the same file.
            var parts = line.Trim().Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 2) continue;
            var name = parts[1].TrimStart('*');
            if (name.StartsWith("./", StringComparison.Ordinal)) name = name[2..];
            if (name == file && parts[0].Length == 64 && parts[0].All(Uri.IsHexDigit)) return parts[0].ToLowerInvariant();
        }
        throw new ReleaseException($"{sumsUrl} has no SHA-256 for {file}; refusing a binary that cannot be verified");
    }

    static async Task<string> GetTextAsync(HttpClient http, string url, int maxBytes, CancellationToken ct)
    {
        try
        {
            using var res = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, ct);
            if (!res.IsSuccessStatusCode) throw new ReleaseException($"{url} answered HTTP {(int)res.StatusCode}");
            var bytes = await res.Content.ReadAsByteArrayAsync(ct);
            if (bytes.Length > maxBytes) throw new ReleaseException($"{url} is {bytes.Length} bytes, more than such a file ever is ({maxBytes})");
            return System.Text.Encoding.UTF8.GetString(bytes);
        }
        catch (HttpRequestException e) { throw new ReleaseException($"cannot download {url}: {e.Message}"); }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested) { throw new ReleaseException($"{url} did not answer within {http.Timeout.TotalSeconds:0} seconds"); }
    }

    static string Short(string s) => (s.Length > 40 ? s[..40] + "…" : s).Trim().ReplaceLineEndings(" ");
}
