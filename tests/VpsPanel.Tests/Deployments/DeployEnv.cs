using System.Net;
using VpsPanel.Features.Data;
using VpsPanel.Features.Docker;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Deployments;

/// <summary>
/// One deploy-test world: a real Caddy, the real panel pointed at it and at the real dockerd, and a signed-in admin.
/// Everything the panel builds or starts for this world is removed on dispose (by the test label the repo's
/// Dockerfile sets, and by the panel's own per-data-dir label), so tests can run twice in a row.
/// </summary>
public sealed class DeployEnv : IAsyncDisposable
{
    public required TestCaddy Caddy { get; init; }
    public required PanelProcess Panel { get; set; }
    public required PanelClient Client { get; init; }
    public required Dictionary<string, string> Settings { get; init; }
    public string Label { get; } = "deploy-" + Guid.NewGuid().ToString("N")[..10];

    /// <summary>Starts the world; a test that must put something between the panel and Caddy starts Caddy itself (disposed with it).</summary>
    public static async Task<DeployEnv> StartAsync(IDictionary<string, string>? extra = null, TestCaddy? startedCaddy = null, string? dataDir = null)
    {
        var caddy = startedCaddy ?? await TestCaddy.StartAsync();
        var settings = caddy.PanelSettings();
        settings["Deploy__PortRange"] = "20000-29999";
        settings["Deploy__HealthRetries"] = "15";
        settings["Deploy__HealthTimeoutSeconds"] = "2";
        settings["Deploy__DrainSeconds"] = "1";
        if (extra is not null) foreach (var (k, v) in extra) settings[k] = v;
        var panel = await PanelProcess.StartAsync(settings, dataDir);
        var client = await PanelSetup.SignedInAdminAsync(panel);
        return new DeployEnv { Caddy = caddy, Panel = panel, Client = client, Settings = settings };
    }

    /// <summary>A unique project name (and so slug, container and image names) for this test.</summary>
    public string Name(string suffix = "app") => $"t-{Label[7..]}-{suffix}";

    public static Dictionary<string, string> ProjectFields(string name, string gitUrl, string domain, string branch = "main") => new()
    {
        ["name"] = name, ["gitUrl"] = gitUrl, ["branch"] = branch, ["dockerfilePath"] = "Dockerfile", ["contextDir"] = ".",
        ["containerPort"] = "8080", ["healthPath"] = "/", ["domains"] = domain, ["gitAuth"] = "none", ["gitToken"] = "",
    };

    public async Task<long> CreateProjectAsync(Dictionary<string, string> fields)
    {
        var page = await Client.SubmitAsync("/projects/new", fields);
        Assert.True(page.Status is HttpStatusCode.Redirect or HttpStatusCode.SeeOther, $"creating the project answered {page.Status}: {page.Text(".field-error")}");
        return long.Parse(page.Response.Headers.Location!.OriginalString.Split('/').Last());
    }

    public async Task<long> CreateProjectAsync(TestRepo repo, string domain, string? name = null) =>
        await CreateProjectAsync(ProjectFields(name ?? Name(), repo.Bare, domain, repo.Branch));

    /// <summary>A project from a fresh repo whose first commit serves "v1", deployed and live through Caddy.</summary>
    public async Task<(TestRepo Repo, long Project, string Domain, long Deployment)> DeployV1Async()
    {
        var repo = TestRepo.WithBusyboxApp("v1", Label);
        var domain = $"{Name()}.test";
        var project = await CreateProjectAsync(repo, domain);
        var first = await DeployAsync(project);
        Assert.Equal("live", await WaitForEndAsync(first));
        Assert.Equal("v1", await ServedAsync(domain));
        return (repo, project, domain, first);
    }

    /// <summary>Presses Deploy (optionally for one commit); returns the new deployment's id.</summary>
    public async Task<long> DeployAsync(long projectId, string? commit = null)
    {
        var fields = new Dictionary<string, string>();
        if (commit is not null) fields["commit"] = commit;
        var page = await Client.SubmitAsync($"/projects/{projectId}", fields, $"/projects/{projectId}?handler=Deploy");
        Assert.True(page.Status is HttpStatusCode.Redirect or HttpStatusCode.SeeOther, $"deploy answered {page.Status}: {page.Html}");
        return long.Parse(page.Response.Headers.Location!.OriginalString.Split('/').Last());
    }

    /// <summary>Posts one of the deployment page's actions (Cancel, Rollback, Redeploy); returns the redirect target.</summary>
    public async Task<string> DeploymentActionAsync(long deploymentId, string handler)
    {
        var page = await Client.SubmitAsync($"/deployments/{deploymentId}", new Dictionary<string, string>(), $"/deployments/{deploymentId}?handler={handler}");
        Assert.True(page.Status is HttpStatusCode.Redirect or HttpStatusCode.SeeOther, $"{handler} answered {page.Status}: {page.Html}");
        return page.Response.Headers.Location!.OriginalString;
    }

    public async Task<string> StatusAsync(long deploymentId) =>
        (await Client.GetAsync($"/deployments/{deploymentId}")).Text("#deploy-status")!.Replace(' ', '_');

    /// <summary>Waits until the deployment reaches one of the statuses (as stored: health_checking, live, …).</summary>
    public async Task<string> WaitForStatusAsync(long deploymentId, TimeSpan timeout, params string[] statuses)
    {
        var deadline = DateTime.UtcNow + timeout;
        var status = "";
        while (DateTime.UtcNow < deadline)
        {
            status = await StatusAsync(deploymentId);
            if (statuses.Contains(status)) return status;
            await Task.Delay(200);
        }
        throw new TimeoutException($"deployment {deploymentId} is {status}, not {string.Join("/", statuses)}, after {timeout}. Log:\n{await LogAsync(deploymentId)}\nPanel:\n{Panel.Log}");
    }

    public async Task<string> WaitForEndAsync(long deploymentId, TimeSpan? timeout = null) =>
        await WaitForStatusAsync(deploymentId, timeout ?? TimeSpan.FromSeconds(120), "live", "failed", "cancelled", "superseded");

    /// <summary>Waits for the deployment to end and fails with its log when it did not go live: a CI run shows why.</summary>
    public async Task<string> WaitForLiveAsync(long deploymentId, TimeSpan? timeout = null)
    {
        var status = await WaitForEndAsync(deploymentId, timeout);
        if (status != "live") Assert.Fail($"deployment {deploymentId} ended {status}, not live. Log:\n{await LogAsync(deploymentId)}");
        return status;
    }

    public async Task<string> LogAsync(long deploymentId) => await Client.Http.GetStringAsync($"/deployments/{deploymentId}/log");

    /// <summary>The body Caddy serves for this host, or the status code when it is not 200.</summary>
    public async Task<string> ServedAsync(string host)
    {
        using var res = await Caddy.GetAsync(host);
        return res.StatusCode == HttpStatusCode.OK ? (await res.Content.ReadAsStringAsync()).Trim() : $"HTTP {(int)res.StatusCode}";
    }

    /// <summary>As <see cref="ServedAsync"/>, but a failed connection or a 20 s timeout is an answer too (its type), for loops that watch an app go down and come back.</summary>
    public async Task<string> ServedOrErrorAsync(string host)
    {
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
            using var res = await Caddy.GetAsync(host, client: http);
            return res.StatusCode == HttpStatusCode.OK ? (await res.Content.ReadAsStringAsync()).Trim() : $"HTTP {(int)res.StatusCode}";
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return e.GetType().Name; }
    }

    /// <summary>kill -9 the panel and start it again on the same data dir (same key ring: the session cookie stays valid).</summary>
    public async Task RestartHardAsync()
    {
        Panel.KillHard();
        Panel = await PanelProcess.StartAsync(Settings, dataDir: Panel.DataDir, port: Panel.Port);
    }

    string? _panelId;

    /// <summary>The panel id this panel keeps in its database (see Features/Docker/PanelIdentity).</summary>
    public string PanelId => _panelId ??= ReadPanelId(Panel.DataDir);

    /// <summary>The label the panel puts on everything it creates (see Features/Docker/PanelIdentity).</summary>
    public string PanelLabel => $"{PanelIdentity.Label}={PanelId}";

    /// <summary>Read-only and never checkpointing on close, so the test cannot disturb the running panel's WAL.</summary>
    public static string ReadPanelId(string dataDir)
    {
        using var c = Db.OpenFile(Path.Combine(dataDir, "vpspanel.db"), neverCheckpointOnClose: true, Microsoft.Data.Sqlite.SqliteOpenMode.ReadOnly);
        return PanelIdentity.FindPanelId(c) ?? throw new InvalidOperationException($"the database in {dataDir} has no panel id");
    }

    /// <summary>What tests read of a container of this panel (docker ps).</summary>
    public sealed record PanelContainer(string Id, string Name, string Image, string State, IDictionary<string, string> Labels);

    public async Task<List<PanelContainer>> PanelContainersAsync()
    {
        using var docker = TestDocker.Client();
        return (await TestDocker.ContainersAsync(docker, PanelLabel))
            .Select(c => new PanelContainer(c.ID, c.Names.First().TrimStart('/'), c.Image, c.State, c.Labels)).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        var dataDir = Panel.DataDir;
        var panelLabel = PanelLabel;
        await Panel.DisposeAsync();
        using (var docker = TestDocker.Client())
        {
            foreach (var c in await TestDocker.ContainersAsync(docker, panelLabel))
                await docker.RemoveContainerIfExistsAsync(c.ID, CancellationToken.None);
            await TestDocker.RemoveLabelledAsync(docker, Label);
            foreach (var i in await TestDocker.ImagesAsync(docker, panelLabel))
                await docker.RemoveImageIfUnusedAsync(i, CancellationToken.None);
            await TestDocker.RemoveNetworksAsync(docker, panelLabel);
        }
        Client.Dispose();
        await Caddy.DisposeAsync();
        Paths.DeleteQuietly(dataDir);
    }
}
