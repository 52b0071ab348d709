using System.Diagnostics;

namespace VpsPanel.Tests.Harness;

/// <summary>
/// A Debian 12 image made here, since nothing can be pulled: debootstrap (minbase) into a cached rootfs, then
/// `docker import`. Docker, Caddy, git, systemd (for `systemd-analyze verify`) and curl (the one-line install) are installed into it up front
/// because containers cannot reach an apt mirror; install.sh keeps packages that are already there.
/// Both the rootfs and the image are kept and reused: only the first run on a machine pays the ~1.5 minutes.
/// </summary>
public static class TestDebian
{
    // First: the fields below are initialised in order, and the cached rootfs and image are named after the package
    // list, so changing it builds them again.
    static readonly string PackagesKey = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Packages)))[..8].ToLowerInvariant();
    public static readonly string Image = $"vpspanel-test/debian:bookworm-{PackagesKey}";
    // Its own label key: a sweep of `vpspanel.test` containers/images must not throw away the cache.
    public const string CacheLabel = "vpspanel.test.cache";
    public const string CacheDir = "/var/cache/vpspanel-test";
    static readonly string RootFs = Path.Combine(CacheDir, $"bookworm-rootfs-{PackagesKey}");
    static readonly string RootFsComplete = RootFs + ".complete";
    const string Packages = "docker.io,caddy,git,openssh-client,systemd,ca-certificates,curl";
    static readonly SemaphoreSlim Gate = new(1, 1);

    public static async Task EnsureImageAsync()
    {
        await Gate.WaitAsync();
        try
        {
            if ((await RunAsync("docker", ["image", "inspect", Image])).ExitCode == 0) return;
            Directory.CreateDirectory(CacheDir);
            // Another test process (a second `dotnet test`) may build at the same time: one at a time via flock.
            using var machineLock = new FileStream(Path.Combine(CacheDir, ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            if ((await RunAsync("docker", ["image", "inspect", Image])).ExitCode == 0) return;
            if (!File.Exists(RootFsComplete))
            {
                if (Directory.Exists(RootFs)) Directory.Delete(RootFs, recursive: true);
                var boot = await RunAsync("debootstrap", ["--variant=minbase", $"--include={Packages}", "bookworm", RootFs, "http://deb.debian.org/debian"], timeout: TimeSpan.FromMinutes(15));
                if (boot.ExitCode != 0) throw new InvalidOperationException($"debootstrap failed ({boot.ExitCode}):\n{Tail(boot.Stdout)}\n{Tail(boot.Stderr)}");
                await File.WriteAllTextAsync(RootFsComplete, DateTime.UtcNow.ToString("O"));
            }
            // tar -C rootfs -c . | docker import - IMAGE
            var import = await RunAsync("bash", ["-c", "set -o pipefail; tar -C \"$1\" -c . | docker import --change \"LABEL $2=debian-bookworm\" - \"$3\"", "import", RootFs, CacheLabel, Image], timeout: TimeSpan.FromMinutes(5));
            if (import.ExitCode != 0) throw new InvalidOperationException($"docker import failed:\n{import.Stderr}");
        }
        finally { Gate.Release(); }
    }

    static string Tail(string s) => s.Length > 3000 ? s[^3000..] : s;

    public static async Task<ProcOutput> RunAsync(string file, IEnumerable<string> args, string? stdin = null, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["LC_ALL"] = "C";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (stdin is not null) await p.StandardInput.WriteAsync(stdin);
        p.StandardInput.Close();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(2));
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', psi.ArgumentList)} did not finish in time");
        }
        return new ProcOutput(p.ExitCode, await stdout, await stderr);
    }
}

public sealed record ProcOutput(int ExitCode, string Stdout, string Stderr)
{
    public string All => Stdout + Stderr;
}

/// <summary>
/// One throwaway container of the Debian image with no network, the checkout's install.sh and caddy/ mounted
/// read-only at /src and the binary under test at /opt/new/vpspanel (or, from <see cref="StartForEngineAsync"/>, one
/// with a network in which a Docker engine can start). Labelled vpspanel.test and removed on dispose.
/// </summary>
public sealed class DebianContainer : IAsyncDisposable
{
    public string Id { get; }
    public const string Binary = "/opt/new/vpspanel";

    DebianContainer(string id) => Id = id;

    /// <summary>
    /// A container of the test image with install.sh, caddy/ and the binary mounted. With <paramref name="systemd"/>,
    /// systemd boots as PID 1 (it needs CAP_SYS_ADMIN and the cgroup tree) and the host's Docker socket is mounted,
    /// because a Docker engine cannot start inside this container: install.sh then finds an engine already running.
    /// </summary>
    public static async Task<DebianContainer> StartAsync(string testName, bool systemd = false)
    {
        await TestDebian.EnsureImageAsync();
        var name = $"vpspanel-test-{testName}-{Guid.NewGuid().ToString("N")[..8]}";
        var args = new List<string>
        {
            "run", "-d", "--name", name, "--label", $"{TestDocker.TestLabel}={testName}", "--network", "none",
            "-v", $"{Path.Combine(Paths.RepoRoot, "install.sh")}:/src/install.sh:ro",
            "-v", $"{Path.Combine(Paths.RepoRoot, "caddy")}:/src/caddy:ro",
            "-v", $"{Paths.Binary}:{Binary}:ro",
        };
        if (systemd)
            args.AddRange(["--cap-add", "SYS_ADMIN", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:ro", "--tmpfs", "/run", "--tmpfs", "/run/lock",
                "-v", $"{TestDocker.Socket}:/var/run/docker.sock", TestDebian.Image, "/lib/systemd/systemd"]);
        else
            args.AddRange([TestDebian.Image, "sleep", "infinity"]);
        var r = await TestDebian.RunAsync("docker", args);
        if (r.ExitCode != 0) throw new InvalidOperationException($"docker run failed: {r.Stderr}");
        var c = new DebianContainer(r.Stdout.Trim());
        if (systemd)
        {
            // "degraded" is fine: some units of a full system cannot start in a container; systemd itself is up.
            for (var i = 0; i < 60; i++)
            {
                var state = (await c.ShAsync("systemctl is-system-running")).Stdout.Trim();
                if (state is "running" or "degraded") return c;
                await Task.Delay(250);
            }
            throw new InvalidOperationException("systemd did not come up in the test container");
        }
        return c;
    }

    /// <summary>
    /// A container of the test image in which a Docker engine of its own can start (for join.sh, which installs and
    /// starts one). Docker's --privileged cannot start a container on this machine (its capability bounding set lacks
    /// CAP_SYS_RESOURCE: "unable to apply caps"), so: every other capability, no seccomp or AppArmor profile, and a
    /// writable /proc/sys (dockerd sets its network namespace's sysctls; /sys and the cgroup tree stay read-only, which
    /// an engine that runs no containers does not need). The engine's data root is a tmpfs: overlay2 works on tmpfs,
    /// not on the container's own overlay root, and it goes with the container. On Docker's default bridge, so apt
    /// reaches deb.debian.org; the engine's docker0, docker_gwbridge and iptables chains are in the container's own
    /// network namespace. Nothing else of this checkout is mounted.
    /// </summary>
    public static async Task<DebianContainer> StartForEngineAsync(string testName, string hostname)
    {
        await TestDebian.EnsureImageAsync();
        var name = $"vpspanel-test-{testName}-{Guid.NewGuid().ToString("N")[..8]}";
        var r = await TestDebian.RunAsync("docker",
        [
            "run", "-d", "--name", name, "--label", $"{TestDocker.TestLabel}={testName}", "--hostname", hostname,
            "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE", "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
            "--security-opt", "systempaths=unconfined", "--tmpfs", "/var/lib/docker", TestDebian.Image, "sleep", "infinity",
        ]);
        if (r.ExitCode != 0) throw new InvalidOperationException($"docker run failed: {r.Stderr}");
        return new DebianContainer(r.Stdout.Trim());
    }

    /// <summary>The host pid of the container's first process: a way into its namespaces (nsenter, ip link set netns).</summary>
    public async Task<int> PidAsync()
    {
        var r = await TestDebian.RunAsync("docker", ["inspect", "--format", "{{.State.Pid}}", Id]);
        if (r.ExitCode != 0) throw new InvalidOperationException($"docker inspect failed: {r.Stderr}");
        return int.Parse(r.Stdout.Trim());
    }

    /// <summary>Runs a bash script in the container (as root unless a user is given).</summary>
    public Task<ProcOutput> ShAsync(string script, string? user = null, TimeSpan? timeout = null)
    {
        var args = new List<string> { "exec", "-i" };
        if (user is not null) args.AddRange(["--user", user]);
        args.AddRange([Id, "bash", "-c", script]);
        return TestDebian.RunAsync("docker", args, timeout: timeout);
    }

    /// <summary>Starts a bash script in the background (docker exec -d), e.g. the panel as install.sh says to start it.</summary>
    public async Task StartDetachedAsync(string script)
    {
        var r = await TestDebian.RunAsync("docker", ["exec", "-d", Id, "bash", "-c", script]);
        if (r.ExitCode != 0) throw new InvalidOperationException($"docker exec -d failed: {r.Stderr}");
    }

    /// <summary>GET a path of a server on the container's loopback (the container has no other network), via bash's /dev/tcp.</summary>
    public async Task<string?> HttpGetAsync(int port, string path, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var r = await ShAsync($"exec 3<>/dev/tcp/127.0.0.1/{port} && printf 'GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3 && cat <&3");
            if (r.ExitCode == 0 && (r.Stdout.StartsWith("HTTP/1.1 200", StringComparison.Ordinal) || r.Stdout.StartsWith("HTTP/1.0 200", StringComparison.Ordinal))) return r.Stdout;
            await Task.Delay(250);
        }
        return null;
    }

    /// <summary>Runs /src/install.sh with these arguments (and environment variables), as root unless a user is given.</summary>
    public Task<ProcOutput> InstallAsync(IEnumerable<string> args, IDictionary<string, string>? env = null, string? user = null)
    {
        var argv = new List<string> { "exec" };
        if (user is not null) argv.AddRange(["--user", user]);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) argv.AddRange(["-e", $"{k}={v}"]);
        argv.AddRange([Id, "/src/install.sh", .. args]);
        return TestDebian.RunAsync("docker", argv, timeout: TimeSpan.FromMinutes(5));
    }

    public async Task<string> ReadAsync(string path)
    {
        var r = await ShAsync($"cat {Quote(path)}");
        if (r.ExitCode != 0) throw new InvalidOperationException($"cannot read {path} in the container: {r.Stderr}");
        return r.Stdout;
    }

    public async Task<bool> ExistsAsync(string path) => (await ShAsync($"test -e {Quote(path)}")).ExitCode == 0;

    /// <summary>`stat -c '%a %U:%G'`, e.g. "700 vpspanel:vpspanel".</summary>
    public async Task<string> ModeAndOwnerAsync(string path) => (await ShAsync($"stat -c '%a %U:%G' {Quote(path)}")).Stdout.Trim();

    /// <summary>Every path on the root file system with size, mtime, mode and owner: compare two to prove nothing changed.</summary>
    public async Task<string> SnapshotAsync()
    {
        var r = await ShAsync("find / -xdev \\( -path /proc -o -path /sys -o -path /dev \\) -prune -o -printf '%p %s %T@ %m %u:%g\\n' | sort");
        return r.Stdout;
    }

    /// <summary>Copies a file out of the container to a host path.</summary>
    public async Task CopyOutAsync(string path, string hostPath)
    {
        var r = await TestDebian.RunAsync("docker", ["cp", $"{Id}:{path}", hostPath]);
        if (r.ExitCode != 0) throw new InvalidOperationException($"docker cp {path} failed: {r.Stderr}");
    }

    public static string Quote(string s) => "'" + s.Replace("'", "'\\''") + "'";

    public async ValueTask DisposeAsync() => await TestDebian.RunAsync("docker", ["rm", "-f", Id]);
}
