using System.Diagnostics;
using System.Text;

namespace VpsPanel.Tests.Harness;

/// <summary>
/// The real panel: the published binary started as a process on a free loopback port with its own data dir.
/// Settings are passed as environment variables (Section__Key), exactly as an operator would.
/// </summary>
public sealed class PanelProcess : IAsyncDisposable
{
    readonly Process _process;
    readonly StringBuilder _log = new();
    readonly bool _ownsDataDir;

    public string DataDir { get; }
    public int Port { get; }
    public string Url => $"http://127.0.0.1:{Port}";
    public string Log { get { lock (_log) return _log.ToString(); } }
    public bool HasExited => _process.HasExited;
    public int Pid => _process.Id;

    PanelProcess(Process p, string dataDir, int port, bool ownsDataDir)
    {
        _process = p;
        DataDir = dataDir;
        Port = port;
        _ownsDataDir = ownsDataDir;
    }

    /// <summary>
    /// Starts the panel and waits for /healthz. Docker and Caddy default to settings that point nowhere
    /// (a socket path that does not exist, an admin port nobody listens on) unless the test passes real ones.
    /// </summary>
    /// <summary>A user to run the panel as (setpriv), as install.sh's service does: uid, gid and supplementary groups.</summary>
    public sealed record RunAs(uint Uid, uint Gid, uint[] Groups);

    public static async Task<PanelProcess> StartAsync(IDictionary<string, string>? settings = null, string? dataDir = null, string? binary = null, int? port = null,
        RunAs? user = null)
    {
        var ownsDataDir = dataDir is null;
        dataDir ??= Paths.NewTempDir("vpspanel-data-");
        // A restart passes the old port so a client's base address stays valid.
        port ??= Paths.FreePort();
        var env = new Dictionary<string, string>
        {
            ["Panel__DataDir"] = dataDir,
            ["Caddy__AdminAddress"] = $"http://127.0.0.1:{Paths.FreePort()}",
            ["Caddy__Caddyfile"] = Path.Combine(dataDir, "Caddyfile"),
            ["Caddy__AutomaticHttps"] = "false",
            ["Docker__Socket"] = "/var/run/docker.sock",
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            // As an operator sets it: the address users and Git hosts reach the panel at (webhook URLs are built from it).
            ["Panel__PublicUrl"] = $"http://127.0.0.1:{port}",
        };
        if (settings is not null) foreach (var (k, v) in settings) env[k] = v;

        Process p;
        if (user is null) p = StartProcess(binary ?? Paths.Binary, [], env);
        else
        {
            // Its home (and so the single-file bundle's native libraries) in the data dir, which the test gave the user.
            env["HOME"] = dataDir;
            env["DOTNET_BUNDLE_EXTRACT_BASE_DIR"] = Path.Combine(dataDir, ".bundle");
            p = StartProcess("setpriv", ["--reuid", user.Uid.ToString(), "--regid", user.Gid.ToString(), "--groups", string.Join(',', user.Groups), "--", binary ?? Paths.Binary], env);
        }
        var panel = new PanelProcess(p, dataDir, port.Value, ownsDataDir);
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (panel._log) panel._log.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (panel._log) panel._log.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        // Generous: with several test runs sharing two cores a cold start has taken over 30 s. A panel that never
        // became healthy is stopped, not left running after the test.
        try { await panel.WaitHealthyAsync(TimeSpan.FromSeconds(90)); }
        catch (TimeoutException)
        {
            panel.KillHard();
            throw;
        }
        return panel;
    }

    static Process StartProcess(string file, IEnumerable<string> args, IDictionary<string, string> env)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        return Process.Start(psi)!;
    }

    public async Task WaitHealthyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"the panel exited with code {_process.ExitCode} before it was healthy:\n{Log}");
            try
            {
                using var res = await http.GetAsync(Url + "/healthz");
                if (res.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(100);
        }
        throw new TimeoutException($"the panel did not become healthy within {timeout}:\n{Log}");
    }

    /// <summary>The one-time token the panel wrote for /setup.</summary>
    public string SetupToken => File.ReadAllText(Path.Combine(DataDir, "setup-token")).Trim();

    /// <summary>kill -9: no shutdown hooks run, as in a crash.</summary>
    public void KillHard()
    {
        if (_process.HasExited) return;
        Process.Start("kill", ["-9", _process.Id.ToString()])!.WaitForExit();
        _process.WaitForExit(10_000);
    }

    /// <summary>A graceful stop (SIGTERM), as systemd would.</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited) return;
        Process.Start("kill", ["-TERM", _process.Id.ToString()])!.WaitForExit();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try { await _process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { KillHard(); }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process.Dispose();
        if (_ownsDataDir) Paths.DeleteQuietly(DataDir);
    }
}
