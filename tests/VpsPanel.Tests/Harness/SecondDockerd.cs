using System.Diagnostics;
using Docker.DotNet;
using Docker.DotNet.Models;
using VpsPanel.Features.Docker;

namespace VpsPanel.Tests.Harness;

/// <summary>
/// A second, throw-away Docker engine for tests that kill one: its own unix socket, data root, exec root (and so its
/// own managed containerd), pidfile and bridge, with --iptables=false and --ip-masq=false so it never touches the
/// system daemon's iptables chains (ports published on 127.0.0.1 still work through docker-proxy). The system
/// dockerd and docker0 are never touched. Everything is removed on dispose: containers, images, daemon, mounts,
/// bridge, directories.
/// </summary>
public sealed class SecondDockerd : IAsyncDisposable
{
    // Short: the socket path must fit a sockaddr_un (108 bytes) and containerd puts its own under the exec root.
    public string Dir { get; } = Path.Combine("/tmp", "vpd-" + Guid.NewGuid().ToString("N")[..10]);
    public string Socket => Path.Combine(Dir, "docker.sock");
    public string Bridge { get; } = "vpb" + Guid.NewGuid().ToString("N")[..10];
    string PidFile => Path.Combine(Dir, "docker.pid");
    string LogFile => Path.Combine(Dir, "dockerd.log");
    Process? _process;
    bool _bridgeMade;

    public string Log => File.Exists(LogFile) ? File.ReadAllText(LogFile) : "";

    /// <summary>The library's client for this engine, unversioned (the engine answers at its own API); also before it is up.</summary>
    public DockerClient Client() => new DockerClientBuilder().WithEndpoint(new Uri("unix://" + Socket)).WithTimeout(TimeSpan.FromSeconds(100)).Build();

    /// <summary>The panel's way in to this engine (API version negotiated on the first call).</summary>
    public DockerEngine Engine() => new(Socket);

    public static async Task<SecondDockerd> StartAsync()
    {
        var d = new SecondDockerd();
        Directory.CreateDirectory(d.Dir);
        try
        {
            // A /24 in 10.199/16 that no other running engine of ours took (each test's bridge has its own).
            var subnet = Random.Shared.Next(1, 254);
            Run("ip", ["link", "add", "name", d.Bridge, "type", "bridge"]);
            d._bridgeMade = true;
            Run("ip", ["addr", "add", $"10.199.{subnet}.1/24", "dev", d.Bridge]);
            Run("ip", ["link", "set", d.Bridge, "up"]);
            await d.StartProcessAsync();
        }
        catch
        {
            await d.DisposeAsync();
            throw;
        }
        return d;
    }

    /// <summary>Starts dockerd on this engine's dirs (again after <see cref="KillHard"/>) and waits until it answers.</summary>
    public async Task StartProcessAsync()
    {
        var psi = new ProcessStartInfo("dockerd") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[]
                 {
                     "--host", "unix://" + Socket, "--data-root", Path.Combine(Dir, "data"), "--exec-root", Path.Combine(Dir, "exec"),
                     "--pidfile", PidFile, "--bridge", Bridge, "--iptables=false", "--ip-masq=false",
                 })
            psi.ArgumentList.Add(a);
        _process = Process.Start(psi)!;
        var log = File.AppendText(LogFile);
        log.AutoFlush = true;
        void Write(string? line) { if (line is null) return; lock (log) log.WriteLine(line); }
        _process.OutputDataReceived += (_, e) => Write(e.Data);
        _process.ErrorDataReceived += (_, e) => Write(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        using var client = Client();
        for (var i = 0; i < 600; i++)
        {
            if (_process.HasExited) throw new InvalidOperationException($"the second dockerd exited with {_process.ExitCode}:\n{Log}");
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await client.System.PingAsync(cts.Token);
                return;
            }
            catch (Exception e) when (DockerEngine.IsDockerError(e) || e is OperationCanceledException) { }
            await Task.Delay(100);
        }
        throw new TimeoutException("the second dockerd did not answer within 60 s:\n" + Log);
    }

    /// <summary>kill -9 of this dockerd only (its managed containerd and the app processes go with it, as in a crash).</summary>
    public void KillHard()
    {
        if (_process is not { HasExited: false } p) return;
        Process.Start("kill", ["-9", p.Id.ToString()])!.WaitForExit();
        p.WaitForExit(10_000);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_process is { HasExited: false })
            {
                using var client = Client();
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                try
                {
                    foreach (var c in await client.Containers.ListContainersAsync(new ContainersListParameters { All = true }, cts.Token))
                        await client.RemoveContainerIfExistsAsync(c.ID, cts.Token);
                }
                catch (Exception e) when (DockerEngine.IsDockerError(e) || e is OperationCanceledException) { }
                Process.Start("kill", ["-TERM", _process.Id.ToString()])!.WaitForExit();
                if (!_process.WaitForExit(30_000)) KillHard();
            }
            _process?.Dispose();
        }
        finally
        {
            // dockerd mounts its data root privately (and overlay2 mounts below it); unmount deepest first.
            foreach (var mount in File.ReadAllLines("/proc/self/mountinfo").Select(l => l.Split(' ')[4])
                         .Where(m => m.StartsWith(Dir + "/", StringComparison.Ordinal)).OrderByDescending(m => m.Length))
                Run("umount", ["-l", mount], quiet: true);
            Paths.DeleteQuietly(Dir);
            if (_bridgeMade) Run("ip", ["link", "del", Bridge], quiet: true);
        }
    }

    static void Run(string file, string[] args, bool quiet = false)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEnd();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0 && !quiet) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed: {err}");
    }
}
