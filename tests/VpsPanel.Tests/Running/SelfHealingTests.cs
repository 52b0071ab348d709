using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Running;

/// <summary>
/// Issue 16, self-healing against the real engine and Caddy: a killed live container runs again, a removed one is
/// recreated on the port Caddy routes to, orphans with this panel's id go after the grace period (nothing else is
/// touched), a drifted site file is regenerated, and an app that runs out of memory is marked crash looping.
/// </summary>
public sealed class SelfHealingTests
{

    static async Task<string> InspectAsync(string container, string format) => (await TestDocker.CliAsync("inspect", "--format", format, container)).Trim();

    static async Task<List<string>> EventKindsAsync(TestApi api, string slug) =>
        (await api.GetAsync($"/api/projects/{slug}/events")).AsArray().Select(e => (string)e!["kind"]!).ToList();

    [Fact]
    public async Task Docker_kill_runs_again_within_one_cycle_and_docker_rm_is_recreated_on_the_same_port_and_both_answer_through_Caddy()
    {
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string> { ["Deploy__ReconcileSeconds"] = "30" });
        var (repo, project, domain, live) = await env.DeployV1Async();
        using var _ = repo;
        var slug = env.Name();
        using var api = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);
        var container = (await env.PanelContainersAsync()).Single().Name;
        var port = await InspectAsync(container, "{{(index (index .HostConfig.PortBindings \"8080/tcp\") 0).HostPort}}");

        // docker kill: no restart policy brings a killed container back; the reconciler does, woken by the event.
        var killed = Stopwatch.StartNew();
        await TestDocker.CliAsync("kill", container);
        await TestDocker.WaitUntilAsync(async () => await InspectAsync(container, "{{.State.Running}}") == "true", TimeSpan.FromSeconds(35), "the killed container running again");
        killed.Stop();
        Assert.Equal("v1", await env.ServedAsync(domain));
        Console.WriteLine($"docker kill → running again after {killed.Elapsed.TotalSeconds:0.0} s (Deploy:ReconcileSeconds 30)");
        await TestDocker.WaitUntilAsync(async () => (await EventKindsAsync(api, slug)).Contains("restarted"), TimeSpan.FromSeconds(10), "a restarted event");
        var restartedEvent = (await api.GetAsync($"/api/projects/{slug}/events")).AsArray().First(e => (string)e!["kind"]! == "restarted")!;
        Assert.Contains("started again by self-healing", (string)restartedEvent["message"]!);
        Assert.Null((string?)restartedEvent["actor"]);

        // docker rm -f: recreated from the live image with the same name, port, limits and labels.
        var oldId = await InspectAsync(container, "{{.Id}}");
        var memory = await InspectAsync(container, "{{.HostConfig.Memory}}");
        var removed = Stopwatch.StartNew();
        await TestDocker.CliAsync("rm", "-f", container);
        // The destroy event wakes the reconciler; a first start may meet the container still being removed, and the
        // retry 5 s later makes it again: well within one cycle (30 s).
        await TestDocker.WaitUntilAsync(async () => (await env.PanelContainersAsync()).Any(c => c.Name == container && c.State == "running"), TimeSpan.FromSeconds(30),
            "the removed container recreated");
        removed.Stop();
        Console.WriteLine($"docker rm -f → recreated and running after {removed.Elapsed.TotalSeconds:0.0} s");
        Assert.NotEqual(oldId, await InspectAsync(container, "{{.Id}}"));
        Assert.Equal(port, await InspectAsync(container, "{{(index (index .HostConfig.PortBindings \"8080/tcp\") 0).HostPort}}"));
        Assert.Equal(memory, await InspectAsync(container, "{{.HostConfig.Memory}}"));
        Assert.Equal(live.ToString(), await InspectAsync(container, "{{index .Config.Labels \"vpspanel.deployment\"}}"));
        await TestDocker.WaitUntilAsync(async () => await env.ServedOrErrorAsync(domain) == "v1", TimeSpan.FromSeconds(30), "v1 through Caddy after the recreate");
        Assert.Contains("recreated", await EventKindsAsync(api, slug));
        Assert.Equal("running", (string?)(await api.GetAsync($"/api/projects/{slug}/state"))["state"]);
        Assert.Contains("recreated container", await env.LogAsync(live));
        // The page lists what happened.
        var page = await env.Client.GetAsync($"/projects/{project}");
        Assert.NotNull(page.Doc.QuerySelector("#events tr[data-kind=recreated]"));
        Assert.NotNull(page.Doc.QuerySelector("#events tr[data-kind=restarted]"));
        Assert.Equal("running", page.Doc.QuerySelector("#run-state")!.GetAttribute("data-state"));
    }

    [Fact]
    public async Task An_orphan_with_this_panels_id_is_removed_after_the_grace_period_others_are_untouched_and_a_drifted_site_is_regenerated()
    {
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string>
        {
            ["Deploy__ReconcileSeconds"] = "2",
            // Long enough that the "still there before the grace period" look below cannot come late on a loaded box.
            ["Running__OrphanGraceSeconds"] = "20",
        });
        var (repo, _, domain, live) = await env.DeployV1Async();
        using var __ = repo;
        var slug = env.Name();
        using var api = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);

        // An image without any panel label (a deployed image carries the panel's labels, and containers inherit them).
        var dir = Directory.CreateTempSubdirectory("vpspanel-orphan-");
        try
        {
            File.Copy(TestDocker.BusyboxPath, Path.Combine(dir.FullName, "busybox"));
            File.WriteAllText(Path.Combine(dir.FullName, "Dockerfile"),
                $"FROM scratch\nCOPY busybox /bin/busybox\nLABEL {TestDocker.TestLabel}={env.Label}\nCMD [\"/bin/busybox\", \"sleep\", \"3600\"]\n");
            await TestDocker.CliAsync("build", "-q", "-t", $"vpspanel-test-{env.Label}:sleeper", dir.FullName);
        }
        finally { dir.Delete(recursive: true); }
        var image = $"vpspanel-test-{env.Label}:sleeper";
        string Name(string what) => $"{env.Label}-{what}";
        var created = Stopwatch.StartNew();
        await TestDocker.CliAsync("run", "-d", "--name", Name("orphan"), "--label", env.PanelLabel, "--label", "vpspanel.deployment=999999",
            "--label", $"vpspanel.project={slug}", image);
        // Several reconcile cycles (2 s) into its life, well inside the grace period: still there.
        await Task.Delay(5000);
        Assert.Equal("true", await InspectAsync(Name("orphan"), "{{.State.Running}}"));
        Assert.True(created.Elapsed < TimeSpan.FromSeconds(20), $"the look at the orphan came {created.Elapsed} after it was made, past the grace period");
        await TestDocker.CliAsync("run", "-d", "--name", Name("foreign"), "--label", "vpspanel.deployment=999999", image);
        await TestDocker.CliAsync("run", "-d", "--name", Name("other-panel"), "--label", "vpspanel.panel=0123456789ab", "--label", "vpspanel.deployment=999999", image);
        // They carry the image's test label, so the world's dispose removes them whatever happens here.
        await TestDocker.WaitUntilAsync(async () => (await TestDocker.CliAsync("ps", "-a", "-q", "--filter", $"name=^{Name("orphan")}$")).Trim() == "",
            TimeSpan.FromSeconds(60), "the orphan removed");
        created.Stop();
        Console.WriteLine($"orphan removed {created.Elapsed.TotalSeconds:0.0} s after it was made (grace 20 s, cycle 2 s)");
        Assert.True(created.Elapsed >= TimeSpan.FromSeconds(20), $"removed after {created.Elapsed}, before the grace period");
        Assert.Equal("true", await InspectAsync(Name("foreign"), "{{.State.Running}}"));
        Assert.Equal("true", await InspectAsync(Name("other-panel"), "{{.State.Running}}"));
        // The live app is not an orphan.
        Assert.Equal("v1", await env.ServedAsync(domain));
        var orphanEvent = (await api.GetAsync($"/api/projects/{slug}/events")).AsArray().Single(e => (string)e!["kind"]! == "orphan_removed")!;
        Assert.Contains(Name("orphan"), (string)orphanEvent["message"]!);

        // A site file edited by hand: the database's text comes back and Caddy routes as before.
        var site = Path.Combine(env.Caddy.SitesDir, slug + ".caddy");
        var good = await File.ReadAllTextAsync(site);
        await File.WriteAllTextAsync(site, good.Replace("reverse_proxy", "# edited by hand\n\treverse_proxy"));
        await TestDocker.WaitUntilAsync(async () => await File.ReadAllTextAsync(site) == good, TimeSpan.FromSeconds(30), "the site file regenerated");
        File.Delete(site);
        await TestDocker.WaitUntilAsync(async () => File.Exists(site) && await File.ReadAllTextAsync(site) == good, TimeSpan.FromSeconds(30), "the deleted site file regenerated");
        Assert.Equal("v1", await env.ServedAsync(domain));
        Assert.Equal(2, (await EventKindsAsync(api, slug)).Count(k => k == "site_regenerated"));
        Assert.Equal("live", await env.StatusAsync(live));
    }

    [Fact]
    public async Task An_app_that_allocates_past_its_memory_limit_is_killed_restarted_and_marked_crash_looping_with_its_last_log_lines()
    {
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string> { ["Deploy__ReconcileSeconds"] = "2" });
        var repo = TestRepo.WithBusyboxApp("v1", env.Label);
        using var _ = repo;
        // Serves until /oom exists, then grows a shell variable (in PID 1) past the limit. The file is in the
        // container's own layer, so after each restart the app runs out of memory again at once: a crash loop.
        repo.CommitDockerfile(
            $"""
            FROM scratch
            COPY busybox /bin/busybox
            COPY www /www
            LABEL {TestDocker.TestLabel}={env.Label}
            EXPOSE 8080
            CMD ["/bin/busybox", "sh", "-c", "/bin/busybox httpd -f -p 8080 -h /www & while [ ! -f /oom ]; do /bin/busybox sleep 1; done; echo allocating past the memory limit; x=0123456789abcdef; while :; do x=$x$x; done"]

            """, "oom app");
        var domain = $"{env.Name()}.test";
        var project = await env.CreateProjectAsync(repo, domain);
        var slug = env.Name();
        using var api = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);
        Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(HttpMethod.Patch, $"/api/projects/{slug}", """{"memoryMb":16}""")).Status);
        var live = await env.DeployAsync(project);
        await env.WaitForLiveAsync(live);
        Assert.Equal("v1", await env.ServedAsync(domain));
        var container = (await env.PanelContainersAsync()).Single().Name;
        Assert.Equal((16 * 1024 * 1024).ToString(), await InspectAsync(container, "{{.HostConfig.Memory}}"));

        await TestDocker.CliAsync("exec", container, "/bin/busybox", "touch", "/oom");
        JsonNode state = null!;
        await TestDocker.WaitUntilAsync(async () => (bool?)(state = await api.GetAsync($"/api/projects/{slug}/state"))["crashLooping"] == true,
            TimeSpan.FromSeconds(120), "the project marked crash looping");
        Console.WriteLine($"crash looping after restart count {state["restartCount"]}: {state["description"]}");
        // Killed by the kernel for memory (not an exit of its own), and started again, more than once.
        Assert.Equal("true", await InspectAsync(container, "{{.State.OOMKilled}}"));
        // Each line with Docker's timestamp, as on the container logs page.
        Assert.Contains(state["lastLogLines"]!.AsArray().Select(l => (string)l!), l => l.EndsWith(" allocating past the memory limit"));
        var events = (await api.GetAsync($"/api/projects/{slug}/events")).AsArray();
        var loop = events.First(e => (string)e!["kind"]! == "crash_looping")!;
        Assert.Contains("out of memory", (string)loop["message"]!);
        // Counted from Docker's restart count and finish times. Docker's count itself is no measure here: a start that
        // fails (runc killed at a 16 MB limit under load) leaves the container exited, the reconciler's start sets it to 0.
        var exits = int.Parse(System.Text.RegularExpressions.Regex.Match((string)loop["message"]!, @"exited (\d+) times").Groups[1].Value);
        Assert.True(exits >= 3, (string)loop["message"]!);
        Assert.Contains(events, e => (string)e!["kind"]! == "exited" && ((string)e["message"]!).Contains("started it again"));

        // The page says so, with the log lines, where the owner looks.
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        await Browser.SignInAsync(page, env.Panel.Url, PanelSetup.AdminEmail, PanelSetup.AdminPassword);
        await Browser.WaitForUrlAsync(page, u => !u.Contains("/login"));
        await page.GotoAsync($"{env.Panel.Url}/projects/{project}");
        Assert.True(await page.Locator("#crash-looping").IsVisibleAsync());
        Assert.Contains("allocating past the memory limit", await page.Locator("#crash-log").TextContentAsync());
        Assert.Equal(1, await page.Locator("#events tr[data-kind=crash_looping]").CountAsync());
        await page.ScreenshotAsync(new() { Path = Path.Combine(Path.GetTempPath(), "vpspanel-crash-looping.png"), FullPage = true });
        // The dashboard puts it first among failures, as crash looping.
        await page.GotoAsync($"{env.Panel.Url}/");
        Assert.Equal("crash looping", await page.Locator($"#dashboard-projects tr[data-project='{slug}']").GetAttributeAsync("data-status"));

        // A user's stop ends it: stopped stays stopped, and no longer crash looping.
        Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(HttpMethod.Post, $"/api/projects/{slug}/stop")).Status);
        await Task.Delay(5000);
        Assert.Equal("false", await InspectAsync(container, "{{.State.Running}}"));
        var after = await api.GetAsync($"/api/projects/{slug}/state");
        Assert.Equal("stopped by user", (string?)after["state"]);
    }
}
