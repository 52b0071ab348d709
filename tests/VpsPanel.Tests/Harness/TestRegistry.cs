using System.Diagnostics;
using System.Net.Sockets;

namespace VpsPanel.Tests.Harness;

/// <summary>
/// Debian's docker-registry (the package a cluster's manager runs) on a test swarm's bridge address, with an htpasswd
/// user: the registry the panel pushes cluster images to and every node pulls from (the nodes trust it as an
/// insecure registry, see TestSwarm). Its storage is a temporary directory, removed with it.
/// </summary>
public sealed class TestRegistry : IAsyncDisposable
{
    public const string Binary = "/usr/bin/docker-registry";
    public required string Address { get; init; }
    public string User => "vpspanel";
    public required string Password { get; init; }
    required public string Dir { get; init; }
    Process? _process;

    public static async Task<TestRegistry> StartAsync(string host)
    {
        var dir = Paths.NewTempDir();
        var port = Paths.FreePort();
        var r = new TestRegistry { Address = $"{host}:{port}", Password = Guid.NewGuid().ToString("N"), Dir = dir };
        File.WriteAllText(Path.Combine(dir, "htpasswd"), $"{r.User}:{BCrypt.Net.BCrypt.HashPassword(r.Password, 5)}\n");
        File.WriteAllText(Path.Combine(dir, "config.yml"),
            $"""
            version: 0.1
            log:
              level: warn
            storage:
              filesystem:
                rootdirectory: {Path.Combine(dir, "data")}
            http:
              addr: {r.Address}
            auth:
              htpasswd:
                realm: vpspanel-test
                path: {Path.Combine(dir, "htpasswd")}

            """);
        var psi = new ProcessStartInfo(Binary) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("serve");
        psi.ArgumentList.Add(Path.Combine(dir, "config.yml"));
        r._process = Process.Start(psi)!;
        var log = Path.Combine(dir, "registry.log");
        r._process.OutputDataReceived += (_, e) => { if (e.Data is { } l) lock (r) File.AppendAllText(log, l + "\n"); };
        r._process.ErrorDataReceived += (_, e) => { if (e.Data is { } l) lock (r) File.AppendAllText(log, l + "\n"); };
        r._process.BeginOutputReadLine();
        r._process.BeginErrorReadLine();
        for (var i = 0; i < 100; i++)
        {
            if (r._process.HasExited) throw new InvalidOperationException($"docker-registry exited with {r._process.ExitCode}: {(File.Exists(log) ? File.ReadAllText(log) : "")}");
            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync(host, port);
                return r;
            }
            catch (SocketException) { await Task.Delay(100); }
        }
        throw new TimeoutException("docker-registry did not listen within 10 s");
    }

    /// <summary>The panel's settings that point it at this registry.</summary>
    public Dictionary<string, string> PanelSettings() => new()
    {
        ["Cluster__Registry"] = Address,
        ["Cluster__RegistryUser"] = User,
        ["Cluster__RegistryPassword"] = Password,
    };

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
        }
        _process?.Dispose();
        Paths.DeleteQuietly(Dir);
    }
}
