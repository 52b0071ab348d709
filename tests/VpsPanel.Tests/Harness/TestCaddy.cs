using System.Diagnostics;
using System.Text;

namespace VpsPanel.Tests.Harness;

/// <summary>
/// A real Caddy (Debian's caddy) on loopback ports, with its own config dir, admin API and HTTP port.
/// The main Caddyfile it is started with imports a sites directory, like the installed panel's.
/// </summary>
public sealed class TestCaddy : IAsyncDisposable
{
    Process? _process;
    readonly StringBuilder _log = new();

    public string Dir { get; } = Paths.NewTempDir("vpspanel-caddy-");
    public int AdminPort { get; } = Paths.FreePort();
    public int HttpPort { get; } = Paths.FreePort();
    public int HttpsPort { get; } = Paths.FreePort();
    public string AdminAddress => $"http://127.0.0.1:{AdminPort}";
    public string SitesDir => Path.Combine(Dir, "sites");
    public string CaddyfilePath => Path.Combine(Dir, "Caddyfile");
    public string Log { get { lock (_log) return _log.ToString(); } }

    /// <summary>The main Caddyfile: global options on loopback ports, then the panel's sites.</summary>
    public string MainCaddyfile =>
        $$"""
        {
            admin 127.0.0.1:{{AdminPort}}
            http_port {{HttpPort}}
            https_port {{HttpsPort}}
            auto_https disable_redirects
            storage file_system {{Path.Combine(Dir, "storage")}}
            grace_period 5s
            skip_install_trust
        }
        import {{SitesDir}}/*

        """;

    public static async Task<TestCaddy> StartAsync()
    {
        var c = new TestCaddy();
        Directory.CreateDirectory(c.SitesDir);
        await File.WriteAllTextAsync(c.CaddyfilePath, c.MainCaddyfile);
        await c.StartProcessAsync();
        return c;
    }

    /// <summary>(Re)starts the caddy process with the main Caddyfile on disk, as a service restart would.</summary>
    public async Task StartProcessAsync()
    {
        var psi = new ProcessStartInfo("caddy") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "run", "--config", CaddyfilePath, "--adapter", "caddyfile" }) psi.ArgumentList.Add(a);
        psi.Environment["HOME"] = Dir;
        psi.Environment["XDG_DATA_HOME"] = Path.Combine(Dir, "data");
        psi.Environment["XDG_CONFIG_HOME"] = Path.Combine(Dir, "config");
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        for (var i = 0; i < 100; i++)
        {
            if (_process.HasExited) throw new InvalidOperationException("caddy exited at start:\n" + Log);
            try { (await http.GetAsync(AdminAddress + "/config/")).EnsureSuccessStatusCode(); return; }
            catch (HttpRequestException) { } catch (TaskCanceledException) { }
            await Task.Delay(100);
        }
        throw new TimeoutException("caddy's admin API did not come up:\n" + Log);
    }

    public void Kill()
    {
        if (_process is { HasExited: false }) { _process.Kill(entireProcessTree: true); _process.WaitForExit(10_000); }
    }

    /// <summary>The settings that point a panel at this Caddy.</summary>
    public Dictionary<string, string> PanelSettings() => new()
    {
        ["Caddy__AdminAddress"] = AdminAddress,
        ["Caddy__Caddyfile"] = CaddyfilePath,
        ["Caddy__SitesDir"] = SitesDir,
        ["Caddy__AutomaticHttps"] = "false",
    };

    /// <summary>An HTTP request through Caddy for a given Host header.</summary>
    public async Task<HttpResponseMessage> GetAsync(string host, string path = "/", HttpClient? client = null)
    {
        var http = client ?? SharedClient;
        using var req = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{HttpPort}{path}");
        req.Headers.Host = host;
        return await http.SendAsync(req);
    }

    static readonly HttpClient SharedClient = new(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(10) };

    public ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        Paths.DeleteQuietly(Dir);
        return ValueTask.CompletedTask;
    }
}
