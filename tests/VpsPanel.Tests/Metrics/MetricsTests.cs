using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;
using Xunit.Abstractions;

namespace VpsPanel.Tests.Metrics;

/// <summary>
/// Metrics for real: a deployed busybox app that fills 48 MiB of its /dev/shm (memory the cgroup charges and the
/// kernel cannot drop) and spins a CPU loop, sampled by the panel every 2 s for about a minute; the stored series
/// against `docker stats --no-stream`; the endpoints with bad input and a member without access; the charts in Chromium.
/// </summary>
public sealed class MetricsTests(ITestOutputHelper output)
{
    const int FillMiB = 48;

    [Fact]
    public async Task A_busy_container_is_sampled_as_docker_stats_sees_it_served_by_the_endpoints_and_charted_on_the_pages()
    {
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string>
        {
            ["Metrics__IntervalSeconds"] = "2",
            // A quarter of a CPU: the loop shows as ~25 % without taking a core of the shared test machine.
            ["Apps__Cpus"] = "0.25",
        });
        using var repo = TestRepo.WithBusyboxApp("busy app", env.Label);
        repo.CommitDockerfile($$"""
            FROM scratch
            COPY busybox /bin/busybox
            COPY www /www
            LABEL vpspanel.test={{env.Label}}
            CMD ["/bin/busybox", "sh", "-c", "/bin/busybox dd if=/dev/zero of=/dev/shm/fill bs=1M count={{FillMiB}} 2>/dev/null; (while :; do :; done) & exec /bin/busybox httpd -f -p 8080 -h /www"]

            """, "a busy app");
        var slug = env.Name();
        var project = await env.CreateProjectAsync(repo, $"{slug}.test");
        var deployment = await env.DeployAsync(project);
        await env.WaitForLiveAsync(deployment);
        var container = (await env.PanelContainersAsync()).Single().Name;
        var liveAt = DateTime.UtcNow;

        using var admin = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);
        // About a minute of samples (every 2 s: 25 or more points).
        JsonNode series = null!;
        await TestDocker.WaitUntilAsync(async () =>
        {
            series = await admin.GetAsync($"/api/projects/{slug}/metrics?range=1h");
            return DateTime.UtcNow - liveAt > TimeSpan.FromSeconds(60) && series["t"]!.AsArray().Count >= 20;
        }, TimeSpan.FromSeconds(180), "a minute of metrics points");

        // What docker stats says now, against the newest stored points (the memory is the filled shm, steady).
        var stats = (await TestDocker.CliAsync("stats", "--no-stream", "--format", "{{.MemUsage}}", container)).Trim();
        var dockerMemory = Bytes(stats.Split('/')[0].Trim());
        series = await admin.GetAsync($"/api/projects/{slug}/metrics?range=1h");
        Assert.Equal([container], series["containers"]!.AsArray().Select(c => (string)c!));
        var memory = series["memoryBytes"]!.AsArray().Select(m => (long)m!).ToList();
        var cpu = series["cpuPercent"]!.AsArray().Select(c => (double)c!).ToList();
        var times = series["t"]!.AsArray().Select(t => (long)t!).ToList();
        output.WriteLine($"docker stats: {stats} = {dockerMemory} B; stored: {memory.Count} points, newest memory {string.Join(", ", memory.TakeLast(5))}, cpu {string.Join(", ", cpu.TakeLast(5))}");
        Assert.True(memory.Count == times.Count && cpu.Count == times.Count, "one value per time in every column");
        Assert.True(dockerMemory > FillMiB * 1024L * 1024, $"docker stats shows the filled memory: {stats}");
        foreach (var m in memory.TakeLast(5))
            Assert.True(Math.Abs(m - dockerMemory) <= dockerMemory * 0.10, $"stored memory {m} is not within 10% of docker stats' {dockerMemory} ({stats})");
        Assert.Equal(1024L * 1024 * 1024, (long)series["memoryLimitBytes"]!.AsArray().Last()!);
        // The loop under a quarter of a CPU: the median point shows it busy (around 25 %), never above the quota by much.
        var median = cpu.Order().ElementAt(cpu.Count / 2);
        Assert.True(median is > 10 and < 40, $"median CPU {median} %, expected about 25 % (points: {string.Join(", ", cpu)})");
        Assert.True(times.Zip(times.Skip(1)).All(p => p.Second > p.First), "times ascend");

        // Stored in the panel's database (the endpoint reads it): raw points of this container, and already minute averages.
        using (var c = VpsPanel.Features.Data.Db.OpenFile(Path.Combine(env.Panel.DataDir, "vpspanel.db"), neverCheckpointOnClose: true, Microsoft.Data.Sqlite.SqliteOpenMode.ReadOnly))
        {
            Assert.True(Dapper.SqlMapper.ExecuteScalar<long>(c, "SELECT COUNT(*) FROM container_metrics WHERE tier = 0 AND container = @container", new { container }) >= 20);
            Assert.True(Dapper.SqlMapper.ExecuteScalar<long>(c, "SELECT COUNT(*) FROM container_metrics WHERE tier = 1 AND container = @container AND project_id = @project", new { container, project }) >= 1);
        }
        // The longer ranges: minute (and, in progress, hour) averages of the same container.
        var day = await admin.GetAsync($"/api/projects/{slug}/metrics?range=24h");
        Assert.NotEmpty(day["t"]!.AsArray());
        Assert.True(Math.Abs((long)day["memoryBytes"]!.AsArray().Last()! - dockerMemory) <= dockerMemory * 0.10, $"24h: {day["memoryBytes"]!.ToJsonString()}");
        Assert.NotEmpty((await admin.GetAsync($"/api/projects/{slug}/metrics?range=7d"))["t"]!.AsArray());

        // Bad input: 422 naming the range; an unknown project 404.
        foreach (var bad in new[] { "2h", "1H", "x", "%20" })
        {
            var answer = TestApi.Problem(await admin.SendAsync(HttpMethod.Get, $"/api/projects/{slug}/metrics?range={bad}"), HttpStatusCode.UnprocessableEntity);
            Assert.Contains("1h, 24h or 7d", (string)answer["errors"]!["range"]![0]!);
        }
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await env.Client.Http.GetAsync($"/projects/{project}/metrics?range=1y")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.SendAsync(HttpMethod.Get, "/api/projects/no-such-project/metrics")).Status);

        // The host, for admins: CPU, memory, the data dir's and Docker root's file systems.
        var host = await admin.GetAsync("/api/system/metrics?range=1h");
        Assert.True(host["t"]!.AsArray().Count >= 20);
        Assert.True((long)host["memoryTotalBytes"]!.AsArray().Last()! > 0);
        Assert.True((long)host["memoryUsedBytes"]!.AsArray().Last()! > 0);
        Assert.True((long)host["dataTotalBytes"]!.AsArray().Last()! > 0);
        Assert.True((long)host["dockerTotalBytes"]!.AsArray().Last()! > 0);
        // Docker's disk use is asked once at start (then every 5 minutes): one point carries it, the images among it.
        Assert.Contains(host["dockerImagesBytes"]!.AsArray(), v => v is not null && (long)v > 0);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await admin.SendAsync(HttpMethod.Get, "/api/system/metrics?range=30d")).Status);

        // A member who does not own the project: 404 for its metrics (API and page route), 403 for the host's.
        const string member = "metrics-member@example.com";
        var added = await PanelCli.RunAsync(["user", "add", "--email", member, "--data-dir", env.Panel.DataDir], stdin: "member password 12\n");
        Assert.True(added.ExitCode == 0, added.Stderr);
        using (var m = await TestApi.ForUserAsync(env.Panel, member))
        {
            var hidden = await m.SendAsync(HttpMethod.Get, $"/api/projects/{slug}/metrics?range=1h");
            Assert.Equal(HttpStatusCode.NotFound, hidden.Status);
            Assert.DoesNotContain(container, hidden.Body?.ToJsonString() ?? "");
            Assert.Equal(HttpStatusCode.Forbidden, (await m.SendAsync(HttpMethod.Get, "/api/system/metrics")).Status);
        }
        using (var memberPages = new PanelClient(env.Panel))
        {
            await memberPages.LoginAsync(member, "member password 12");
            Assert.Equal(HttpStatusCode.NotFound, (await memberPages.Http.GetAsync($"/projects/{project}/metrics")).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await memberPages.Http.GetAsync("/metrics/host")).StatusCode);
        }

        // The charts in the browser: uPlot canvases of real size on the project page, the range switch, and the host's
        // on the dashboard; the Content-Security-Policy refused nothing.
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        var cspErrors = new List<string>();
        page.Console += (_, msg) => { if (msg.Text.Contains("Content Security Policy")) lock (cspErrors) cspErrors.Add(msg.Text); };
        await Browser.SignInAsync(page, env.Panel.Url, PanelSetup.AdminEmail, PanelSetup.AdminPassword);
        await Browser.WaitForUrlAsync(page, u => !u.Contains("/login"));
        await page.WaitForSelectorAsync("#host-metrics .uplot canvas");
        await AssertDrawnAsync(page, "#host-metrics");
        // The project's row on the dashboard: CPU and memory sparklines of the last hour, the last value in their titles.
        await page.WaitForSelectorAsync("#dashboard-projects .sparkline[data-spark=memory] canvas");
        await page.WaitForSelectorAsync("#dashboard-projects .sparkline[data-spark=cpu] canvas");
        Assert.Contains("MiB (last hour)", await page.GetAttributeAsync("#dashboard-projects .sparkline[data-spark=memory]", "title"));
        await page.GotoAsync($"{env.Panel.Url}/projects/{project}");
        await page.WaitForSelectorAsync("#metrics .uplot canvas");
        await AssertDrawnAsync(page, "#metrics");
        Assert.Equal(4, await page.Locator("#metrics .uplot").CountAsync());
        // Values on hover: uPlot's legend shows the memory at the cursor (MiB, from the stored series).
        var memoryChart = page.Locator("#metrics [data-chart=memory] .u-over");
        await memoryChart.EvaluateAsync("e => e.scrollIntoView({ block: 'center' })");
        var box = (await memoryChart.BoundingBoxAsync())!;
        await page.Mouse.MoveAsync(box.X + box.Width / 2, box.Y + box.Height / 2);
        await page.Mouse.MoveAsync(box.X + box.Width - 5, box.Y + box.Height / 2, new MouseMoveOptions { Steps = 3 });
        var legend = "#metrics [data-chart=memory] .u-legend .u-series:nth-child(2) .u-value";
        try { await page.WaitForFunctionAsync($"() => /MiB/.test(document.querySelector('{legend}')?.textContent ?? '')", null, new PageWaitForFunctionOptions { Timeout = 20000 }); }
        catch (TimeoutException)
        {
            Assert.Fail($"no memory value under the cursor at {box.X + box.Width - 5},{box.Y + box.Height / 2} ({box.Width}x{box.Height}); legend: " +
                await page.InnerHTMLAsync("#metrics [data-chart=memory] .u-legend"));
        }
        var shot = Path.Combine(Path.GetTempPath(), $"vpspanel-metrics-{env.Label}.png");
        await page.Locator("#metrics").ScreenshotAsync(new LocatorScreenshotOptions { Path = shot });
        output.WriteLine($"screenshot of the project's charts: {shot}");
        Console.WriteLine($"screenshot of the project's charts: {shot}");
        await page.ClickAsync("#metrics [data-range='24h']");
        await page.WaitForSelectorAsync("#metrics[data-range='24h'] .uplot canvas");
        Assert.Equal("true", await page.GetAttributeAsync("#metrics [data-range='24h']", "aria-pressed"));
        await AssertDrawnAsync(page, "#metrics");
        lock (cspErrors) Assert.True(cspErrors.Count == 0, "CSP errors: " + string.Join("\n", cspErrors));
    }

    static async Task AssertDrawnAsync(IPage page, string section)
    {
        var canvas = page.Locator($"{section} .uplot canvas").First;
        var size = await canvas.EvaluateAsync<int[]>("c => [c.width, c.height, c.getBoundingClientRect().width | 0, c.getBoundingClientRect().height | 0]");
        Assert.True(size.All(v => v > 0), $"{section}: canvas size {string.Join("x", size)}");
        // Something was drawn: not every pixel of the canvas is transparent.
        Assert.True(await canvas.EvaluateAsync<bool>("c => c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some(v => v !== 0)"), $"{section}: the canvas is empty");
    }

    /// <summary>docker stats' sizes: "49.3MiB", "1GiB", "812KiB", "0B".</summary>
    static long Bytes(string s)
    {
        var units = new[] { ("GiB", 1024d * 1024 * 1024), ("MiB", 1024d * 1024), ("KiB", 1024d), ("kB", 1000d), ("MB", 1e6), ("GB", 1e9), ("B", 1d) };
        foreach (var (unit, factor) in units)
            if (s.EndsWith(unit, StringComparison.Ordinal)) return (long)(double.Parse(s[..^unit.Length], CultureInfo.InvariantCulture) * factor);
        throw new FormatException($"not a docker stats size: {s}");
    }
}
