using System.Net;
using System.Text.Json.Nodes;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Running;

/// <summary>
/// Issue 16, controls: Stop, Start and Restart on the project page (a browser, as a person uses them), the API and the
/// CLI, against the real engine and Caddy. What `docker inspect` says is the truth the page and the API must show.
/// </summary>
public sealed class ControlsTests
{
    static async Task<(bool Running, string StartedAt, string Status)> InspectAsync(string container)
    {
        var text = await TestDocker.CliAsync("inspect", "--format", "{{.State.Running}}|{{.State.StartedAt}}|{{.State.Status}}", container);
        var parts = text.Trim().Split('|');
        return (parts[0] == "true", parts[1], parts[2]);
    }


    [Fact]
    public async Task Stop_start_and_restart_change_what_docker_inspect_and_the_page_say_and_self_healing_leaves_a_stopped_app_stopped()
    {
        // A restart policy other than the default, so the page's limits row is seen to come from the container.
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string> { ["Deploy__ReconcileSeconds"] = "2", ["Apps__RestartPolicy"] = "always" });
        var (repo, project, domain, live) = await env.DeployV1Async();
        using var _ = repo;
        var slug = env.Name();
        var container = (await env.PanelContainersAsync()).Single().Name;
        Assert.True((await InspectAsync(container)).Running);

        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        await Browser.SignInAsync(page, env.Panel.Url, PanelSetup.AdminEmail, PanelSetup.AdminPassword);
        await Browser.WaitForUrlAsync(page, u => !u.Contains("/login"));
        await page.GotoAsync($"{env.Panel.Url}/projects/{project}");
        Assert.Equal("running", await page.Locator("#run-state").GetAttributeAsync("data-state"));
        Assert.Equal(container, await page.Locator("#run-container").TextContentAsync());
        Assert.Equal("always|3|10m", (await TestDocker.CliAsync("inspect", "--format", "{{.HostConfig.RestartPolicy.Name}}|{{index .HostConfig.LogConfig.Config \"max-file\"}}|{{index .HostConfig.LogConfig.Config \"max-size\"}}", container)).Trim());
        var limits = await page.Locator("#run-limits").TextContentAsync();
        Assert.Contains("restart always", limits);
        Assert.Contains("log 3 × 10m", limits);

        // Stop: the engine says it is stopped, the page says by whom, and Caddy has nothing to route to.
        await page.ClickAsync("#run-stop");
        await page.WaitForSelectorAsync("#run-state[data-state='stopped by user']");
        Assert.Contains($"stopped by {PanelSetup.AdminEmail}", await page.Locator("#run-description").TextContentAsync());
        Assert.False((await InspectAsync(container)).Running);
        // Several reconcile cycles (2 s) and the die event later, self-healing has left it stopped.
        await Task.Delay(TimeSpan.FromSeconds(8));
        Assert.False((await InspectAsync(container)).Running);
        Assert.NotEqual("v1", await env.ServedOrErrorAsync(domain));
        Assert.Null((await env.Client.GetAsync($"/projects/{project}")).Text("#live-down"));
        Assert.DoesNotContain("started again", await env.LogAsync(live));
        // The dashboard's row says stopped too (Dashboard/ProjectOverview reads the run state).
        Assert.Equal("stopped", (await env.Client.GetAsync("/")).Doc.QuerySelector($"#dashboard-projects tr[data-project='{slug}']")?.GetAttribute("data-status"));

        // Start: running again and answering through Caddy.
        await page.GotoAsync($"{env.Panel.Url}/projects/{project}");
        await page.ClickAsync("#run-start");
        await page.WaitForSelectorAsync("#run-state[data-state='running']");
        var afterStart = await InspectAsync(container);
        Assert.True(afterStart.Running);
        await TestDocker.WaitUntilAsync(async () => await env.ServedOrErrorAsync(domain) == "v1", TimeSpan.FromSeconds(30), "v1 through Caddy after start");

        // Restart (no rebuild): a new start time in the engine and on the page, same container, same image.
        await Task.Delay(1100);
        await page.ClickAsync("#run-restart");
        await TestDocker.WaitUntilAsync(async () => (await InspectAsync(container)).StartedAt != afterStart.StartedAt, TimeSpan.FromSeconds(30), "a new StartedAt");
        await page.WaitForSelectorAsync("#run-state[data-state='running']");
        var afterRestart = await InspectAsync(container);
        Assert.True(afterRestart.Running);
        Assert.Equal(container, (await env.PanelContainersAsync()).Single().Name);
        await page.GotoAsync($"{env.Panel.Url}/projects/{project}");
        Assert.Contains(VpsPanel.Features.Running.AppRunState.Short(afterRestart.StartedAt), await page.Locator("#run-started").TextContentAsync());
        await TestDocker.WaitUntilAsync(async () => await env.ServedOrErrorAsync(domain) == "v1", TimeSpan.FromSeconds(30), "v1 through Caddy after restart");
        // The events list on the page, newest first, with who did it.
        var kinds = await page.Locator("#events tbody tr").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.kind)");
        Assert.Equal(["restarted", "started", "stopped"], kinds.Take(3));
        Assert.Contains(PanelSetup.AdminEmail, await page.Locator("#events tbody tr").First.TextContentAsync());
        await page.ScreenshotAsync(new() { Path = Path.Combine(Path.GetTempPath(), "vpspanel-running-controls.png"), FullPage = true });

        // The API and the CLI: the same actions, the same state from the engine.
        using var api = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);
        var stopped = await api.SendAsync(HttpMethod.Post, $"/api/projects/{slug}/stop");
        Assert.Equal(HttpStatusCode.OK, stopped.Status);
        Assert.Equal("stopped by user", (string?)stopped.Body!["state"]);
        Assert.Equal(PanelSetup.AdminEmail, (string?)stopped.Body["stoppedBy"]);
        Assert.False((await InspectAsync(container)).Running);
        var cliEnv = new Dictionary<string, string> { ["VPSPANEL_URL"] = env.Panel.Url, ["VPSPANEL_TOKEN"] = api.Token };
        var started = await PanelCli.RunAsync(["projects", "start", slug], env: cliEnv);
        Assert.True(started.ExitCode == 0, started.Stderr);
        Assert.StartsWith($"{slug}: running", started.Stdout);
        Assert.True((await InspectAsync(container)).Running);
        var restarted = await PanelCli.RunAsync(["projects", "restart", slug], env: cliEnv);
        Assert.True(restarted.ExitCode == 0, restarted.Stderr);
        var state = await api.GetAsync($"/api/projects/{slug}/state");
        Assert.Equal("running", (string?)state["state"]);
        Assert.Equal(container, (string?)state["container"]);
        Assert.Equal((await InspectAsync(container)).StartedAt, (string?)state["startedAt"]);
        var cliState = await PanelCli.RunAsync(["projects", "state", slug], env: cliEnv);
        Assert.StartsWith("running\t", cliState.Stdout);

        var events = (await api.GetAsync($"/api/projects/{slug}/events")).AsArray();
        Assert.Equal(["restarted", "started", "stopped", "restarted", "started", "stopped"], events.Take(6).Select(e => (string)e!["kind"]!));
        Assert.All(events.Take(6), e => Assert.Equal(PanelSetup.AdminEmail, (string?)e!["actor"]));
        Assert.Single((await api.GetAsync($"/api/projects/{slug}/events?limit=1")).AsArray());
        TestApi.Problem(await api.SendAsync(HttpMethod.Get, $"/api/projects/{slug}/events?limit=0"), HttpStatusCode.UnprocessableEntity);
        var cliEvents = await PanelCli.RunAsync(["projects", "events", slug], env: cliEnv);
        Assert.Contains("\trestarted\t" + PanelSetup.AdminEmail, cliEvents.Stdout);

        // Audit rows for each action, by door.
        var audit = (await api.GetAsync("/api/audit?action=project.")).AsArray().Select(a => $"{a!["action"]} {a["via"]}").ToList();
        Assert.Contains("project.stop web", audit);
        Assert.Contains("project.start web", audit);
        Assert.Contains("project.restart web", audit);
        Assert.Contains("project.stop api", audit);
        Assert.Contains("project.restart api", audit);

        // A deploy while stopped: the new deployment runs, self-healing looks after it again.
        await api.SendAsync(HttpMethod.Post, $"/api/projects/{slug}/stop");
        repo.CommitApp("v2", env.Label, "v2");
        var v2 = await env.DeployAsync(project);
        await env.WaitForLiveAsync(v2);
        Assert.Equal("v2", await env.ServedAsync(domain));
        Assert.Equal("running", (string?)(await api.GetAsync($"/api/projects/{slug}/state"))["state"]);
    }

    [Fact]
    public async Task Restart_stop_and_start_of_a_project_never_deployed_are_refused_clearly_on_the_API_the_page_and_the_CLI()
    {
        await using var env = await DeployEnv.StartAsync();
        using var repo = TestRepo.WithBusyboxApp("v1", env.Label);
        var project = await env.CreateProjectAsync(repo, $"{env.Name()}.test");
        var slug = env.Name();
        using var api = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);

        foreach (var action in new[] { "restart", "stop", "start" })
        {
            var problem = TestApi.Problem(await api.SendAsync(HttpMethod.Post, $"/api/projects/{slug}/{action}"), HttpStatusCode.Conflict);
            Assert.Equal($"{slug} has never been deployed, so there is no app to {action}; deploy it first", (string?)problem["detail"]);
        }
        Assert.Equal("not deployed", (string?)(await api.GetAsync($"/api/projects/{slug}/state"))["state"]);

        // The page: the message next to the controls, nothing else changed.
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        await Browser.SignInAsync(page, env.Panel.Url, PanelSetup.AdminEmail, PanelSetup.AdminPassword);
        await Browser.WaitForUrlAsync(page, u => !u.Contains("/login"));
        await page.GotoAsync($"{env.Panel.Url}/projects/{project}");
        Assert.Equal("not deployed", await page.Locator("#run-state").GetAttributeAsync("data-state"));
        await page.ClickAsync("#run-restart");
        await page.WaitForSelectorAsync("#run-error");
        Assert.Equal($"{slug} has never been deployed, so there is no app to restart; deploy it first", (await page.Locator("#run-error").TextContentAsync())!.Trim());
        var form = await env.Client.SubmitAsync($"/projects/{project}", new() { ["action"] = "restart" }, $"/projects/{project}/running");
        Assert.Equal((HttpStatusCode)422, form.Status);

        // The CLI: non-zero, the panel's words on stderr.
        var cli = await PanelCli.RunAsync(["projects", "restart", slug, "--url", env.Panel.Url, "--token", api.Token]);
        Assert.Equal(1, cli.ExitCode);
        Assert.Contains($"vpspanel: {slug} has never been deployed, so there is no app to restart; deploy it first (HTTP 409", cli.Stderr);
        Assert.Equal("", cli.Stdout);
        var missing = await PanelCli.RunAsync(["projects", "restart", "no-such-project", "--url", env.Panel.Url, "--token", api.Token]);
        Assert.Equal(4, missing.ExitCode);

        Assert.Empty((await api.GetAsync($"/api/projects/{slug}/events")).AsArray());
        Assert.Empty(await env.PanelContainersAsync());
        Assert.DoesNotContain((await api.GetAsync("/api/audit?action=project.")).AsArray(), a => ((string)a!["action"]!).StartsWith("project.restart"));
    }
}
