using System.Diagnostics;
using VpsPanel.Features.Docker;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Deployments;

/// <summary>
/// Issue 14: the BuildKit build memory cap when the panel runs as a service user, as install.sh runs it (not root).
/// A second dockerd with a cgroup parent of its own (so the cap written here reaches no other build on this machine),
/// the panel as `nobody` with the docker group: without `vpspanel build-cgroup` the dashboard says builds are not
/// capped and why; after it (run as root, as the service's ExecStartPre=+ does) a build step allocating past the cap
/// is stopped by the kernel and the deploy fails naming the cap, while the live version keeps being served.
/// </summary>
public sealed class BuildMemoryCapServiceUserTests
{
    const uint Nobody = 65534;
    const string Serve = """CMD ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]""";

    static uint DockerGid() =>
        uint.Parse(File.ReadLines("/etc/group").Select(l => l.Split(':')).First(f => f[0] == "docker")[2]);

    static void GiveToNobody(string path)
    {
        using var p = Process.Start("chown", ["-R", $"{Nobody}:{Nobody}", path])!;
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
    }

    /// <summary>The cgroups runc made for the parent under every controller (v1) or the one tree (v2), deepest first; only the empty directories remain by then.</summary>
    static void RemoveCgroups(string parent)
    {
        var roots = Directory.Exists("/sys/fs/cgroup/memory") ? Directory.GetDirectories("/sys/fs/cgroup") : ["/sys/fs/cgroup"];
        foreach (var top in roots.Select(r => Path.Combine(r, parent)).Where(Directory.Exists))
            foreach (var dir in Directory.GetDirectories(top, "*", SearchOption.AllDirectories).Append(top).OrderByDescending(d => d.Length))
                try { Directory.Delete(dir, recursive: false); } catch (IOException) { }
    }

    [Fact]
    public async Task As_the_service_user_builds_are_capped_once_build_cgroup_hands_over_the_step_cgroup_and_a_greedy_step_fails_naming_the_cap()
    {
        var parent = "vpspanel-test-" + Guid.NewGuid().ToString("N")[..10];
        var engine = await SecondDockerd.StartAsync("--cgroup-parent", parent);
        TestCaddy? caddy = null;
        var dataDir = Paths.NewTempDir("vpspanel-data-");
        DeployEnv? env = null;
        try
        {
            caddy = await TestCaddy.StartAsync();
            GiveToNobody(dataDir);
            GiveToNobody(caddy.Dir);
            var settings = caddy.PanelSettings();
            settings["Docker__Socket"] = engine.Socket;
            settings["Docker__CgroupParent"] = parent;
            settings["Deploy__BuildMemoryMb"] = "64";
            settings["Deploy__PortRange"] = "20000-29999";
            settings["Deploy__HealthRetries"] = "15";
            settings["Deploy__HealthTimeoutSeconds"] = "2";
            settings["Deploy__DrainSeconds"] = "1";
            var nobody = new PanelProcess.RunAs(Nobody, Nobody, [DockerGid()]);
            // Not handed over yet: the dashboard says so, and says what to run.
            var panel = await PanelProcess.StartAsync(settings, dataDir, user: nobody);
            using (var client = await PanelSetup.SignedInAdminAsync(panel))
            {
                var before = (await client.GetAsync("/")).Text("#build-memory-cap")!;
                Assert.Contains("Not capped", before);
                Assert.Contains("cannot be applied to BuildKit builds on this host", before);
                Assert.Contains($"vpspanel build-cgroup", before);
            }
            await panel.StopAsync();

            // Only root may hand it over; then as root, as the unit's ExecStartPre=+ runs it.
            var cliEnv = new Dictionary<string, string> { ["Docker__Socket"] = engine.Socket, ["Docker__CgroupParent"] = parent, ["Panel__DataDir"] = dataDir };
            var refused = await PanelCli.RunAsync(["--reuid", $"{Nobody}", "--regid", $"{Nobody}", "--clear-groups", "--", Paths.Binary, "build-cgroup", "nobody"],
                env: new Dictionary<string, string>(cliEnv) { ["HOME"] = dataDir, ["DOTNET_BUNDLE_EXTRACT_BASE_DIR"] = Path.Combine(dataDir, ".bundle") }, binary: "/usr/bin/setpriv");
            Assert.Equal(1, refused.ExitCode);
            Assert.Contains("build-cgroup: must run as root", refused.Stderr);
            var unknown = await PanelCli.RunAsync(["build-cgroup", "no-such-user-" + parent[^6..]], env: cliEnv);
            Assert.Equal(2, unknown.ExitCode);
            Assert.Contains("build-cgroup: there is no user", unknown.Stderr);
            var handed = await PanelCli.RunAsync(["build-cgroup", "nobody"], env: cliEnv);
            Assert.True(handed.ExitCode == 0, handed.Stderr);
            var (version, steps) = BuildMemoryCap.Layout(parent)!.Value;
            Assert.Contains($"build-cgroup: {steps} (cgroup v{version}) now belongs to nobody", handed.Stdout);

            var restarted = await PanelProcess.StartAsync(settings, dataDir, user: nobody);
            var admin = new PanelClient(restarted);
            await admin.LoginAsync(PanelSetup.AdminEmail, PanelSetup.AdminPassword);
            env = new DeployEnv { Caddy = caddy, Panel = restarted, Client = admin, Settings = settings };
            var shown = (await env.Client.GetAsync("/")).Text("#build-memory-cap")!;
            Assert.StartsWith("OK", shown);
            Assert.Contains("BuildKit build steps are capped at Deploy:BuildMemoryMb, the builds running at the same time together", shown);

            // Both commits first: then the bare repository is given to nobody, whose git refuses another user's
            // repository ("dubious ownership"), and root could no longer push to it.
            using var repo = TestRepo.WithBusyboxApp("v1", env.Label);
            var v1Sha = TestRepo.Run(repo.Work, "rev-parse", "HEAD").Trim();
            // 300 MB of anonymous memory in a shell variable, under a 64 MiB cap.
            var greedySha = repo.CommitDockerfile($$"""
                FROM scratch
                COPY busybox /bin/busybox
                COPY www /www
                RUN ["/bin/busybox", "sh", "-c", ": {{env.Label}}; x=$(/bin/busybox head -c 300000000 /dev/zero | /bin/busybox tr '\\0' a); echo allocated ${#x}"]
                {{Serve}}

                """, "greedy build");
            GiveToNobody(repo.Bare);
            var domain = $"{env.Name()}.test";
            var project = await env.CreateProjectAsync(repo, domain);
            var v1 = await env.DeployAsync(project, v1Sha);
            Assert.True(await env.WaitForEndAsync(v1) == "live", await env.LogAsync(v1));
            Assert.Contains("build memory cap: 64 MiB (Deploy:BuildMemoryMb), shared by the builds running at the same time", await env.LogAsync(v1));
            Assert.Equal((64L << 20).ToString(), File.ReadAllText(Path.Combine(steps, BuildMemoryCap.LimitFile(version))).Trim());

            var greedy = await env.DeployAsync(project, greedySha);
            Assert.Equal("failed", await env.WaitForEndAsync(greedy, TimeSpan.FromMinutes(3)));
            var log = await env.LogAsync(greedy);
            Assert.Contains("ran out of memory: it was stopped at the build memory cap of 64 MiB (setting Deploy:BuildMemoryMb)", log);
            Assert.DoesNotContain("allocated 300000000", log);
            Assert.Equal("v1", await env.ServedAsync(domain));
            Assert.False(env.Panel.HasExited);
        }
        finally
        {
            if (env is not null) await env.DisposeAsync();
            else
            {
                if (caddy is not null) await caddy.DisposeAsync();
                Paths.DeleteQuietly(dataDir);
            }
            await engine.DisposeAsync();
            RemoveCgroups(parent);
        }
    }
}
