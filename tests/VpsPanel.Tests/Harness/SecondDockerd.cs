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

    string[] _extraArgs = [];

    /// <summary>
    /// The engine's own pool for the networks the panel makes on it (project networks), outside the 172.16/12 and
    /// 192.168/16 pools the system engine uses: with Docker's defaults both engines handed out the same subnets, two
    /// bridges then claimed one route, and the system engine's isolation could be bypassed for the test's lifetime.
    /// </summary>
    readonly string _addressPool = $"base=10.{200 + Random.Shared.Next(50)}.0.0/16,size=24";

    /// <summary>
    /// The pool goes to the first start only. dockerd 20.10, starting with --default-address-pool over a data root that
    /// already holds its default "bridge" network (a restart after <see cref="KillHard"/>), deletes the host's link named
    /// docker0, whatever --bridge says (moby daemon_unix.go, "Clear stale bridge network" → removeDefaultBridgeInterface):
    /// a CI run lost the system engine's docker0 that way and every later container start failed. Networks made before
    /// the restart keep their subnets; the few made after it come from Docker's defaults.
    /// </summary>
    bool _startedOnce;

    /// <summary>Starts the engine; <paramref name="extraArgs"/> go to dockerd as they are (e.g. --cgroup-parent).</summary>
    public static async Task<SecondDockerd> StartAsync(params string[] extraArgs)
    {
        var d = new SecondDockerd { _extraArgs = extraArgs };
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
        var hostHadDocker0 = Directory.Exists("/sys/class/net/docker0");
        var psi = new ProcessStartInfo("dockerd") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[]
                 {
                     "--host", "unix://" + Socket, "--data-root", Path.Combine(Dir, "data"), "--exec-root", Path.Combine(Dir, "exec"),
                     "--pidfile", PidFile, "--bridge", Bridge, "--iptables=false", "--ip-masq=false",
                 }.Concat(_startedOnce ? Array.Empty<string>() : new[] { "--default-address-pool", _addressPool }).Concat(_extraArgs))
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
                _startedOnce = true;
                // The promise above ("docker0 is never touched"), checked: say so here rather than as every later test's
                // mysterious "could not find bridge docker0".
                if (hostHadDocker0 && !Directory.Exists("/sys/class/net/docker0"))
                    throw new InvalidOperationException("starting the second dockerd removed the system engine's docker0 bridge:\n" + Log);
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
        // The host links of this engine's own networks. dockerd leaves a network's bridge (br-<id>) and its route behind
        // when it stops; left over, a 172.17.0.0/16 one from an engine with Docker's default pools shadowed the system
        // engine's docker0 route until the next reboot, and system containers stopped answering.
        var bridges = new List<string>();
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
                    foreach (var n in await client.Networks.ListNetworksAsync(cancellationToken: cts.Token))
                    {
                        if (n.Driver != "bridge" || n.Name == "bridge") continue;
                        bridges.Add(n.Options is { } o && o.TryGetValue("com.docker.network.bridge.name", out var named) ? named : "br-" + n.ID[..12]);
                        try { await client.Networks.DeleteNetworkAsync(n.ID, cts.Token); }
                        catch (Exception e) when (DockerEngine.IsDockerError(e)) { }
                    }
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
            // Deleted through the API above already, unless the engine refused; only this engine's names, never others'.
            foreach (var b in bridges)
                if (Directory.Exists("/sys/class/net/" + b)) Run("ip", ["link", "del", b], quiet: true);
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
