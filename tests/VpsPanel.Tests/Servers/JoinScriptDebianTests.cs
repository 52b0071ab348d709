using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Harness;
using Xunit.Abstractions;

namespace VpsPanel.Tests.Servers;

/// <summary>
/// join.sh as a new server runs it: the command the panel shows, piped from the panel into bash as root on a plain
/// Debian 12 (the debootstrapped test image with docker.io, containerd, runc and tini purged). ServerTests runs the
/// script on this host where Docker is already present; here it has to install docker.io with apt from
/// deb.debian.org, start the engine itself (no systemd) and join.
///
/// The arrangement: the panel manages node 1 of a one-node TestSwarm (its engine in its own network namespace on the
/// test bridge 10.198.N.0/24). The new server is a container of the system dockerd (<see cref="DebianContainer.StartForEngineAsync"/>:
/// its own network namespace, so the engine it installs has its own docker0, docker_gwbridge and iptables chains and
/// touches none of the host's) on Docker's default bridge for apt, with a second interface on the test bridge
/// (<see cref="TestSwarm.AttachNamespace"/>) through which it reaches the manager at 10.198.N.2:2377 and the panel,
/// which listens on loopback and on the host's bridge address (its public URL, as an operator sets it to where new
/// servers reach it). No iptables rule is added: bridge to bridge is TestSwarm's one ACCEPT rule, the panel is
/// INPUT. Everything goes with the container (its processes, tmpfs data root, namespace and the veth pair) and
/// the swarm.
/// </summary>
public sealed class JoinScriptDebianTests(ITestOutputHelper output)
{
    [Fact]
    public async Task On_a_plain_Debian_12_join_sh_installs_Docker_starts_it_and_joins_and_an_expired_or_used_token_is_refused_before_anything_is_done()
    {
        var clock = Stopwatch.StartNew();
        await using var swarm = await TestSwarm.StartAsync(1, formSwarm: false);
        var n1 = swarm.Manager;
        var port = Paths.FreePort();
        var publicUrl = $"http://{swarm.HostAddress}:{port}";
        var hostname = $"vsw{swarm.Id}j";
        await using var server = await StartServerWithoutDockerAsync(hostname);
        var serverAddress = swarm.AttachNamespace(await server.PidAsync());
        await using var panel = await PanelProcess.StartAsync(new Dictionary<string, string>
        {
            ["Docker__Socket"] = n1.Socket,
            ["Docker__CgroupParent"] = n1.CgroupParent,
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port};{publicUrl}",
            ["Panel__PublicUrl"] = publicUrl,
            // The cluster's registry: join.sh makes the new server's engine trust it before it joins.
            ["Cluster__Registry"] = $"{swarm.HostAddress}:5999",
        }, port: port);
        using var page = await PanelSetup.SignedInAdminAsync(panel);
        using var admin = await TestApi.ForUserAsync(panel, PanelSetup.AdminEmail);
        var (status, init, _) = await admin.SendAsync(HttpMethod.Post, "/api/servers/init", new JsonObject { ["advertiseAddress"] = n1.Address }.ToJsonString());
        Assert.True(status == HttpStatusCode.OK, $"{status} {init}");
        output.WriteLine($"swarm, panel and a Debian without Docker ready: {clock.Elapsed.TotalSeconds:F1} s");

        // An expired token: refused with the panel's sentence before anything is installed.
        var expiredCommand = await NewJoinCommandAsync(admin, publicUrl);
        Assert.Equal(1, ServerTests.ExpireUnusedJoinTokens(panel));
        var expired = await RunAsync(server, expiredCommand);
        Assert.True(expired.ExitCode != 0, expired.All);
        Assert.Contains("join.sh: the panel refused the token (HTTP 403): This join token has expired", expired.Stderr);
        Assert.Equal($"==> checking the join token with {publicUrl}", expired.Stdout.Trim());
        Assert.Equal("", await DockerPackagesAsync(server));

        // A good token: docker.io from deb.debian.org, the engine started by the script, the swarm joined.
        var command = await NewJoinCommandAsync(admin, publicUrl);
        var install = Stopwatch.StartNew();
        var joined = await RunAsync(server, command);
        output.WriteLine($"join.sh (apt-get update + install docker.io + start dockerd + join): {install.Elapsed.TotalSeconds:F1} s");
        output.WriteLine(string.Join('\n', joined.Stdout.Split('\n').Where(l => l.StartsWith("==>", StringComparison.Ordinal))));
        Assert.True(joined.ExitCode == 0, $"join.sh failed ({joined.ExitCode}):\n{joined.All}\ndockerd.log:\n{(await server.ShAsync("tail -n 40 /var/log/dockerd.log")).All}");
        Assert.Contains("==> OS: debian 12 (supported)", joined.Stdout);
        Assert.Contains("==> installing Docker (docker.io)", joined.Stdout);
        Assert.Contains($"==> joining the swarm at {n1.Address}:2377", joined.Stdout);
        Assert.Contains("==> joined", joined.Stdout);
        Assert.Contains($"==> trusting the cluster's registry {swarm.HostAddress}:5999 (/etc/docker/daemon.json)", joined.Stdout);
        Assert.Contains($"\"{swarm.HostAddress}:5999\"", (await server.ShAsync("docker info --format '{{json .RegistryConfig.IndexConfigs}}'")).Stdout);
        Assert.Equal("containerd install ok installed\ndocker.io install ok installed\nrunc install ok installed", await DockerPackagesAsync(server));
        var state = await server.ShAsync("docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.NodeAddr}} {{.Name}}'");
        Assert.Equal($"active {serverAddress} {hostname}", state.Stdout.Trim());

        // Ready on the manager and in the panel's list, as a worker at its address on the bridge.
        await swarm.WaitForReadyNodesAsync(2, TimeSpan.FromSeconds(60));
        JsonArray nodes = [];
        await TestDocker.WaitUntilAsync(async () =>
        {
            nodes = (await admin.GetAsync("/api/servers")).AsArray();
            return nodes.Count == 2 && nodes.All(n => (string?)n!["state"] == "ready");
        }, TimeSpan.FromSeconds(60), "two ready servers");
        var w = nodes.Single(n => (string?)n!["hostname"] == hostname)!;
        Assert.Equal((serverAddress, "worker", "active"), ((string?)w["address"], (string?)w["role"], (string?)w["availability"]));
        output.WriteLine($"listed ready: {clock.Elapsed.TotalSeconds:F1} s");

        // The same token again: refused at the first step, the engine and its packages as they were.
        var dpkgLog = await server.ReadAsync("/var/log/dpkg.log");
        var reused = await RunAsync(server, command);
        output.WriteLine("join.sh with the used token: " + reused.Stderr.Trim());
        Assert.True(reused.ExitCode != 0, reused.All);
        Assert.Contains("join.sh: the panel refused the token (HTTP 403): This join token was already used", reused.Stderr);
        Assert.Equal($"==> checking the join token with {publicUrl}", reused.Stdout.Trim());
        Assert.Equal(dpkgLog, await server.ReadAsync("/var/log/dpkg.log"));
        Assert.Equal($"active {serverAddress} {hostname}", (await server.ShAsync("docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.NodeAddr}} {{.Name}}'")).Stdout.Trim());
        Assert.Equal(2, (await admin.GetAsync("/api/servers")).AsArray().Count);
        output.WriteLine($"whole test before cleanup: {clock.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>
    /// The test image with Docker's packages purged and apt's cache of them emptied, so join.sh has to fetch them:
    /// a Debian 12 as a new VPS has it (curl and ca-certificates, which the page's command needs, stay).
    /// </summary>
    static async Task<DebianContainer> StartServerWithoutDockerAsync(string hostname)
    {
        var c = await DebianContainer.StartForEngineAsync("join-debian", hostname);
        try
        {
            var purge = await c.ShAsync("dpkg --purge docker.io containerd runc tini && rm -f /var/cache/apt/archives/*.deb && ! command -v docker && ! command -v dockerd");
            if (purge.ExitCode != 0) throw new InvalidOperationException($"could not remove Docker from the test container:\n{purge.All}");
            return c;
        }
        catch
        {
            await c.DisposeAsync();
            throw;
        }
    }

    /// <summary>A new one-time token and the command the panel shows for it, checked against the public URL.</summary>
    static async Task<string> NewJoinCommandAsync(TestApi admin, string publicUrl)
    {
        var (status, body, _) = await admin.SendAsync(HttpMethod.Post, "/api/servers/join-token");
        Assert.True(status == HttpStatusCode.OK, $"{status} {body}");
        var command = (string)body!["command"]!;
        Assert.Equal($"curl -fsSL {publicUrl}/join.sh | sudo bash -s -- {(string?)body["token"]}", command);
        return command;
    }

    /// <summary>The command as the page shows it, as root (the image has no sudo, and needs none), with bash's pipefail so
    /// a failed curl is seen too.</summary>
    static Task<ProcOutput> RunAsync(DebianContainer server, string command) =>
        server.ShAsync("set -o pipefail; " + command.Replace("| sudo bash", "| bash", StringComparison.Ordinal), timeout: TimeSpan.FromMinutes(6));

    /// <summary>"package status" lines of Docker's packages that dpkg knows as installed; empty when none is.</summary>
    static async Task<string> DockerPackagesAsync(DebianContainer server) =>
        (await server.ShAsync("dpkg-query -W -f '${Package} ${Status}\\n' docker.io containerd runc 2>/dev/null | grep ' installed$' | sort || true")).Stdout.Trim();
}
