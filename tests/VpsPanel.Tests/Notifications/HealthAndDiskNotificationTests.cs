using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Xunit.Abstractions;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Notifications;

/// <summary>
/// The events nothing raised before issue 17's leftovers, against the real engine and a real receiver on loopback:
/// app.unhealthy from the periodic probe of a live app (Running/HealthWatch) once per unhealthy period, and disk.low
/// from the metrics sampler's disk readings (Hygiene/DiskAlarm) once per low period.
/// </summary>
public sealed class HealthAndDiskNotificationTests(ITestOutputHelper output)
{
    const string Secret = "health-and-disk-webhook-secret";

    static JsonObject Hook(Receiver rx, string evt) => new()
    {
        ["type"] = "webhook", ["name"] = evt, ["settings"] = new JsonObject { ["url"] = rx.Url + "/hook", ["secret"] = Secret },
        ["events"] = new JsonArray(evt), ["projects"] = null, ["allowPrivateNetwork"] = true,
    };

    static void Exec(string container, params string[] args) => Cmd.Run("docker", ["exec", container, "/bin/busybox", .. args]);

    static async Task<JsonArray> EventsAsync(HttpClient api, string slug) => JsonNode.Parse(await api.GetStringAsync($"/api/projects/{slug}/events"))!.AsArray();

    static async Task WaitForEventAsync(HttpClient api, string slug, string kind, int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        JsonArray events;
        while ((events = await EventsAsync(api, slug)).Count(e => (string?)e!["kind"] == kind) < count)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"no {count}× {kind} event within {timeout}: {events.ToJsonString()}");
            await Task.Delay(300);
        }
    }

    [Fact]
    public async Task A_live_app_whose_health_path_breaks_sends_one_message_per_unhealthy_period()
    {
        using var rx = new Receiver();
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string>
        {
            ["Health__ProbeSeconds"] = "1",
            ["Health__FailuresBeforeAlert"] = "3",
            ["Notifications__RetrySeconds"] = "1",
            ["Notifications__CollapseSeconds"] = "10",
            ["Logging__LogLevel__VpsPanel.Features.Running.HealthWatch"] = "Debug",
        });
        using var api = await NotifyKit.AdminApiAsync(env.Panel);
        await NotifyKit.CreateAsync(api, Hook(rx, "app.unhealthy"));
        using var repo = TestRepo.WithBusyboxApp("v1", env.Label);
        var slug = env.Name();
        var fields = DeployEnv.ProjectFields(slug, repo.Bare, $"{slug}.test", repo.Branch);
        fields["healthPath"] = "/index.html";
        var project = await env.CreateProjectAsync(fields);
        var deployment = await env.DeployAsync(project);
        await env.WaitForLiveAsync(deployment);
        var container = (await env.PanelContainersAsync()).Single().Name;

        // Healthy: several probes, no message.
        await Task.Delay(5000);
        Assert.Empty(rx.At("/hook"));

        // busybox httpd answers 404 once the health path's file is gone (the container keeps running).
        Exec(container, "mv", "/www/index.html", "/www/gone.html");
        var broken = System.Diagnostics.Stopwatch.StartNew();
        var first = (await rx.WaitForAsync("/hook", 1, TimeSpan.FromSeconds(60))).Single().Json;
        var latency = broken.Elapsed;
        Assert.Equal("app.unhealthy", (string?)first["event"]);
        Assert.Equal(slug, (string?)first["project"]);
        Assert.Equal(deployment, (long)first["deployment"]!);
        Assert.Equal($"{env.Panel.Url}/projects/{project}", (string?)first["url"]);
        var message = (string)first["message"]!;
        Assert.Contains("GET /index.html answered 404", message);
        Assert.Contains("3 checks in a row", message);
        await WaitForEventAsync(api, slug, "unhealthy", 1, TimeSpan.FromSeconds(10));
        // Still failing for many more probes: still one message.
        await Task.Delay(8000);
        Assert.Single(rx.At("/hook"));

        // Answers again: the period ends (a project event, no message); broken again: a second message.
        Exec(container, "mv", "/www/gone.html", "/www/index.html");
        await WaitForEventAsync(api, slug, "healthy", 1, TimeSpan.FromSeconds(30));
        Assert.Single(rx.At("/hook"));
        Exec(container, "mv", "/www/index.html", "/www/gone.html");
        var second = (await rx.WaitForAsync("/hook", 2, TimeSpan.FromSeconds(60)))[1].Json;
        Assert.Equal("app.unhealthy", (string?)second["event"]);
        Assert.Contains("answered 404", (string)second["message"]!);
        await Task.Delay(6000);
        Assert.Equal(2, rx.At("/hook").Count);
        await WaitForEventAsync(api, slug, "unhealthy", 2, TimeSpan.FromSeconds(10));
        Assert.Contains("answered 404", env.Panel.Log);
        // Measured, never asserted: how long a probe pass of one app takes, and breaking to message (3 probes 1 s apart + delivery).
        var passes = Regex.Matches(env.Panel.Log, @"health probe: 1 live apps probed in ([\d.]+) ms").Select(m => double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).Order().ToList();
        Assert.NotEmpty(passes);
        output.WriteLine($"probe passes of 1 app: {passes.Count}, median {passes[passes.Count / 2]:0.0} ms, max {passes[^1]:0.0} ms; broken to message {latency.TotalSeconds:0.0} s");
    }

    [Fact]
    public async Task An_image_with_its_own_healthcheck_and_no_health_path_is_judged_by_dockers_health_status()
    {
        using var rx = new Receiver();
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string>
        {
            ["Health__ProbeSeconds"] = "1",
            ["Health__FailuresBeforeAlert"] = "2",
            ["Notifications__RetrySeconds"] = "1",
        });
        using var api = await NotifyKit.AdminApiAsync(env.Panel);
        await NotifyKit.CreateAsync(api, Hook(rx, "app.unhealthy"));
        // Docker runs the check every second and calls the app unhealthy after two failures.
        using var repo = TestRepo.WithBusyboxApp("v1", env.Label,
            extraDockerfile: """HEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD ["/bin/busybox", "test", "-f", "/www/index.html"]""");
        var slug = env.Name();
        var fields = DeployEnv.ProjectFields(slug, repo.Bare, $"{slug}.test", repo.Branch);
        fields["healthPath"] = "";
        var project = await env.CreateProjectAsync(fields);
        var deployment = await env.DeployAsync(project);
        await env.WaitForLiveAsync(deployment);
        var container = (await env.PanelContainersAsync()).Single().Name;
        await Task.Delay(4000);
        Assert.Empty(rx.At("/hook"));

        // The project has no health path, so only the image's own check is asked.
        Exec(container, "mv", "/www/index.html", "/www/gone.html");
        var got = (await rx.WaitForAsync("/hook", 1, TimeSpan.FromSeconds(60))).Single().Json;
        Assert.Equal("app.unhealthy", (string?)got["event"]);
        Assert.Equal($"{env.Panel.Url}/projects/{project}", (string?)got["url"]);
        Assert.Contains("the image's HEALTHCHECK reports it unhealthy (last check: exit code 1", (string)got["message"]!);
        await Task.Delay(5000);
        Assert.Single(rx.At("/hook"));
    }

    [Fact]
    public async Task Free_space_below_the_threshold_sends_one_disk_low_message_naming_the_paths_and_numbers()
    {
        using var rx = new Receiver();
        var dataDir = Paths.NewTempDir("vpspanel-data-");
        try
        {
            // The channel must exist before the panel measures a low disk: it is made on a first start, and the
            // panel is started again with a threshold above this machine's free space (100 TiB).
            int port;
            await using (var panel = await PanelProcess.StartAsync(dataDir: dataDir))
            {
                (await PanelSetup.SignedInAdminAsync(panel)).Dispose();
                using var setup = await NotifyKit.AdminApiAsync(panel);
                await NotifyKit.CreateAsync(setup, Hook(rx, "disk.low"));
                port = panel.Port;
            }
            await using var low = await PanelProcess.StartAsync(new Dictionary<string, string>
            {
                ["Disk__MinFreeMb"] = "104857600",
                ["Metrics__IntervalSeconds"] = "1",
                ["Notifications__RetrySeconds"] = "1",
                ["Notifications__CollapseSeconds"] = "10",
            }, dataDir: dataDir, port: port);
            var got = (await rx.WaitForAsync("/hook", 1, TimeSpan.FromSeconds(60))).Single().Json;
            Assert.Equal("disk.low", (string?)got["event"]);
            Assert.Null(got["project"]);
            Assert.Equal($"{low.Url}/disk", (string?)got["url"]);
            var message = (string)got["message"]!;
            Assert.Contains($"the data dir {dataDir}", message);
            Assert.Contains("Disk:MinFreeMb (104857600 MiB)", message);
            Assert.Matches(new Regex(@"ha(s|ve) \d+(\.\d)? (GiB|MiB|KiB|B) free of \d+(\.\d)? (GiB|MiB|KiB|B)"), message);
            // The free space it names is this disk's (to within what other tests write meanwhile).
            var free = new DriveInfo(dataDir).AvailableFreeSpace / (1024.0 * 1024 * 1024);
            var named = double.Parse(Regex.Match(message, @"(\d+(\.\d)?) GiB free").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(named, free - 5, free + 5);
            // Many more ticks below the threshold: still one message.
            await Task.Delay(8000);
            Assert.Single(rx.At("/hook"));
        }
        finally { Paths.DeleteQuietly(dataDir); }
    }
}
