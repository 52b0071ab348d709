using System.Diagnostics;
using System.Security.Cryptography;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Upgrade;

/// <summary>
/// One installed panel for `vpspanel upgrade` to work on, with real parts only: a copy of a real binary in its own
/// bin directory (the upgrade replaces that file, never the binary under test), a data dir, a release directory in
/// install.sh's layout served by a real HTTP server on loopback (python3 -m http.server), and restart.sh, the
/// stand-in for `systemctl restart vpspanel` that Upgrade:RestartCommand names: it stops the panel it started last,
/// and starts bin/vpspanel again with the environment it was given.
/// </summary>
public sealed class UpgradeRig : IAsyncDisposable
{
    public string Root { get; } = Paths.NewTempDir("vpspanel-upgrade-");
    public string BinDir => Path.Combine(Root, "bin");
    public string Binary => Path.Combine(BinDir, "vpspanel");
    public string DataDir => Path.Combine(Root, "data");
    public string ReleaseDir => Path.Combine(Root, "release");
    public int Port { get; } = Paths.FreePort();
    public string Url => $"http://127.0.0.1:{Port}";
    public string PanelLog => File.Exists(Path.Combine(BinDir, "panel.log")) ? File.ReadAllText(Path.Combine(BinDir, "panel.log")) : "";
    public Dictionary<string, string> Env { get; }

    readonly int _releasePort = Paths.FreePort();
    Process? _server;

    const string RestartScript = """
        #!/bin/sh
        # The tests' `systemctl restart vpspanel`: stop the panel started last (wait until it is gone, a zombie counts
        # as gone), then start bin/vpspanel again in its own session, its output in panel.log.
        dir=$(dirname "$0")
        if [ -f "$dir/panel.pid" ]; then
          pid=$(cat "$dir/panel.pid")
          if kill -TERM "$pid" 2>/dev/null; then
            i=0
            while [ -e "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null && [ "$i" -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
            kill -KILL "$pid" 2>/dev/null || true
          fi
        fi
        setsid "$dir/vpspanel" >>"$dir/panel.log" 2>&1 </dev/null &
        echo $! >"$dir/panel.pid"
        """;

    public UpgradeRig(string binary, int healthTimeoutSeconds = 60)
    {
        Directory.CreateDirectory(BinDir);
        Directory.CreateDirectory(DataDir);
        Directory.CreateDirectory(ReleaseDir);
        File.Copy(binary, Binary);
        File.SetUnixFileMode(Binary, (UnixFileMode)0b111_101_101);
        var restart = Path.Combine(BinDir, "restart.sh");
        File.WriteAllText(restart, RestartScript.ReplaceLineEndings("\n") + "\n");
        File.SetUnixFileMode(restart, (UnixFileMode)0b111_101_101);
        Env = new Dictionary<string, string>
        {
            ["Panel__DataDir"] = DataDir,
            ["Caddy__AdminAddress"] = $"http://127.0.0.1:{Paths.FreePort()}",
            ["Caddy__Caddyfile"] = Path.Combine(DataDir, "Caddyfile"),
            ["Caddy__AutomaticHttps"] = "false",
            ["Docker__Socket"] = "/var/run/docker.sock",
            ["ASPNETCORE_URLS"] = Url,
            ["Panel__PublicUrl"] = Url,
            ["Release__BaseUrl"] = $"http://127.0.0.1:{_releasePort}",
            ["Upgrade__RestartCommand"] = restart,
            ["Upgrade__HealthTimeoutSeconds"] = healthTimeoutSeconds.ToString(),
            ["Backup__Schedule"] = "",
        };
    }

    /// <summary>
    /// A release <paramref name="version"/> holding <paramref name="binary"/> as this machine's file, under both the
    /// latest and the versioned path. <paramref name="sums"/> rewrites SHA256SUMS (to tamper with it).
    /// </summary>
    public void PublishRelease(string version, string binary, Func<string, string>? sums = null)
    {
        var asset = System.Runtime.InteropServices.RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.Arm64
            ? "vpspanel-linux-arm64" : "vpspanel-linux-x64";
        string text;
        using (var f = File.OpenRead(binary)) text = $"{Convert.ToHexStringLower(SHA256.HashData(f))}  {asset}\n";
        text = sums?.Invoke(text) ?? text;
        foreach (var dir in new[] { Path.Combine(ReleaseDir, "latest", "download"), Path.Combine(ReleaseDir, "download", "v" + version) })
        {
            Directory.CreateDirectory(dir);
            File.Copy(binary, Path.Combine(dir, asset), overwrite: true);
            File.WriteAllText(Path.Combine(dir, "SHA256SUMS"), text);
            File.WriteAllText(Path.Combine(dir, "VERSION"), version + "\n");
        }
    }

    /// <summary>Only the newest release's VERSION file (enough for `upgrade --check`).</summary>
    public void PublishVersionFile(string content)
    {
        var dir = Directory.CreateDirectory(Path.Combine(ReleaseDir, "latest", "download")).FullName;
        File.WriteAllText(Path.Combine(dir, "VERSION"), content);
    }

    public async Task ServeReleasesAsync()
    {
        var psi = new ProcessStartInfo("python3") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-m", "http.server", _releasePort.ToString(), "--bind", "127.0.0.1", "--directory", ReleaseDir }) psi.ArgumentList.Add(a);
        _server = Process.Start(psi)!;
        _server.OutputDataReceived += (_, _) => { };
        _server.ErrorDataReceived += (_, _) => { };
        _server.BeginOutputReadLine();
        _server.BeginErrorReadLine();
        // python3 takes seconds to start on the loaded test box; 60 s is generous, and a dead server ends the wait.
        // Ready means python's own HTTP answer (its Server header), not just an open port: once, under the full suite,
        // the port answered the TCP probe and the CLI's first download then failed.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        while (DateTime.UtcNow < deadline && !_server.HasExited)
        {
            try
            {
                using var res = await http.GetAsync($"http://127.0.0.1:{_releasePort}/");
                if (res.IsSuccessStatusCode && res.Headers.Server.ToString().StartsWith("SimpleHTTP", StringComparison.Ordinal)) return;
                throw new InvalidOperationException($"port {_releasePort} answers, but not as python3 -m http.server (HTTP {(int)res.StatusCode}, Server: {res.Headers.Server})");
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { await Task.Delay(100); }
        }
        throw new InvalidOperationException($"the release server (python3 -m http.server {_releasePort}) did not start within 60 s");
    }

    /// <summary>Starts the panel the way the upgrade restarts it (restart.sh), and waits for /healthz.</summary>
    public async Task StartPanelAsync()
    {
        var r = await RunAsync(Path.Combine(BinDir, "restart.sh"), [], TimeSpan.FromMinutes(1));
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.True(await AnswersHealthzAsync(TimeSpan.FromSeconds(120)), $"the panel did not answer /healthz:\n{PanelLog}");
    }

    public async Task<bool> AnswersHealthzAsync(TimeSpan within)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + within;
        do
        {
            try
            {
                using var res = await http.GetAsync(Url + "/healthz");
                if (res.IsSuccessStatusCode) return true;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(200);
        } while (DateTime.UtcNow < deadline);
        return false;
    }

    /// <summary>bin/vpspanel with the rig's settings, as root on the server would run it.</summary>
    public Task<CliResult> VpspanelAsync(params string[] args) => RunAsync(Binary, args, TimeSpan.FromMinutes(8));

    public async Task<CliResult> RunAsync(string file, string[] args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Root };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in Env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        await p.WaitForExitAsync(cts.Token);
        return new CliResult(p.ExitCode, await stdout, await stderr);
    }

    public static string Sha256(string file)
    {
        using var f = File.OpenRead(file);
        return Convert.ToHexStringLower(SHA256.HashData(f));
    }

    public async ValueTask DisposeAsync()
    {
        var pidFile = Path.Combine(BinDir, "panel.pid");
        if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), out var pid))
        {
            // Not this process's child (restart.sh started it), so it is not ours to reap: gone or a zombie is stopped.
            try { Process.GetProcessById(pid).Kill(); }
            catch (ArgumentException) { }
            catch (InvalidOperationException) { }
            for (var i = 0; i < 100 && File.Exists($"/proc/{pid}/status") && !File.ReadAllText($"/proc/{pid}/status").Contains("State:\tZ"); i++)
                await Task.Delay(100);
        }
        if (_server is { HasExited: false })
        {
            _server.Kill();
            await _server.WaitForExitAsync();
        }
        _server?.Dispose();
        Paths.DeleteQuietly(Root);
    }
}
