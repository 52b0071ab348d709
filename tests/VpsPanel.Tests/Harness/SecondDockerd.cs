using System.Diagnostics;

namespace VpsPanel.Tests.Harness;

/// <summary>
/// A second Docker engine of the test's own, for tests that kill an engine: its own socket, data root, exec root,
/// pidfile and bridge (made with `ip link`, removed on dispose), no iptables rules. It starts its own containerd under
/// its exec root, which dies with it. The system dockerd and docker0 are never touched.
/// </summary>
public sealed class SecondDockerd : IAsyncDisposable
{
    readonly Process _process;
    readonly string _bridge;

    public string Dir { get; }
    public string Socket => Path.Combine(Dir, "d.sock");
    public string LogFile => Path.Combine(Dir, "dockerd.log");

    SecondDockerd(Process p, string dir, string bridge)
    {
        _process = p;
        Dir = dir;
        _bridge = bridge;
    }

    public static async Task<SecondDockerd> StartAsync()
    {
        // Short: a unix socket path has at most 107 bytes.
        var id = Guid.NewGuid().ToString("N")[..8];
        var dir = Path.Combine("/tmp", "vpd-" + id);
        Directory.CreateDirectory(dir);
        var bridge = "vpt" + id;
        Cmd.Run("ip", "link", "add", "name", bridge, "type", "bridge");
        Cmd.Run("ip", "addr", "add", $"10.213.{Random.Shared.Next(1, 254)}.1/24", "dev", bridge);
        Cmd.Run("ip", "link", "set", bridge, "up");
        var psi = new ProcessStartInfo("dockerd") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[]
                 {
                     "--host", "unix://" + Path.Combine(dir, "d.sock"), "--data-root", Path.Combine(dir, "root"), "--exec-root", Path.Combine(dir, "exec"),
                     "--pidfile", Path.Combine(dir, "d.pid"), "--bridge", bridge, "--iptables=false", "--ip-masq=false", "--ip-forward=false",
                     "--containerd-namespace", "vpt" + id, "--containerd-plugins-namespace", "vptp" + id,
                 })
            psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        var engine = new SecondDockerd(p, dir, bridge);
        var log = new StreamWriter(engine.LogFile) { AutoFlush = true };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        using var docker = VpsPanel.Features.Docker.DockerClient.ForSocket(engine.Socket);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            try { if (await docker.PingAsync(CancellationToken.None)) return engine; }
            catch (VpsPanel.Features.Docker.DockerException) { }
            if (p.HasExited) break;
            await Task.Delay(300);
        }
        await engine.DisposeAsync();
        throw new InvalidOperationException("the second dockerd did not start");
    }

    /// <summary>kill -9, as when the engine crashes or is OOM-killed.</summary>
    public void KillHard()
    {
        if (_process.HasExited) return;
        Cmd.Run("kill", "-9", _process.Id.ToString());
        _process.WaitForExit(10_000);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Cmd.Run("kill", "-TERM", _process.Id.ToString());
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try { await _process.WaitForExitAsync(cts.Token); }
            catch (OperationCanceledException) { KillHard(); }
        }
        // What the killed engine left: its containerd's shims (they name the exec root on their command line), then
        // the overlay and other mounts below its dirs (lazily: a build step's process may still be ending).
        foreach (var proc in Directory.GetDirectories("/proc").Select(Path.GetFileName).Where(n => n!.All(char.IsDigit)))
        {
            string cmdline;
            try { cmdline = File.ReadAllText($"/proc/{proc}/cmdline").Replace('\0', ' '); }
            catch (IOException) { continue; }
            catch (UnauthorizedAccessException) { continue; }
            if (cmdline.Contains(Dir + "/", StringComparison.Ordinal) && int.Parse(proc!) != Environment.ProcessId)
                try { Process.GetProcessById(int.Parse(proc!)).Kill(); } catch (ArgumentException) { } catch (InvalidOperationException) { }
        }
        var mounts = File.ReadAllLines("/proc/mounts").Select(l => l.Split(' ')[1]).Where(m => m.StartsWith(Dir + "/", StringComparison.Ordinal))
            .OrderByDescending(m => m.Length).ToList();
        foreach (var m in mounts)
            try { Cmd.Run("umount", "-l", m); } catch (InvalidOperationException) { }
        try { Cmd.Run("ip", "link", "del", _bridge); } catch (InvalidOperationException) { }
        Paths.DeleteQuietly(Dir);
        _process.Dispose();
    }

}
