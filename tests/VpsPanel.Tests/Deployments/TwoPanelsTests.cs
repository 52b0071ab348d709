using System.Net;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Deployments;

/// <summary>
/// Issue 11, finding 3: two panels (separate data dirs, each with its own Caddy) on the one system Docker engine,
/// each with a project of the same slug, never touch each other's containers or images.
/// </summary>
public sealed class TwoPanelsTests
{
    [Fact]
    public async Task Two_panels_deploy_the_same_slug_on_one_engine_both_stay_live_and_deleting_one_leaves_the_other()
    {
        await using var a = await DeployEnv.StartAsync();
        await using var b = await DeployEnv.StartAsync();
        Assert.NotEqual(a.PanelId, b.PanelId);
        using var repoA = TestRepo.WithBusyboxApp("panel A", a.Label);
        using var repoB = TestRepo.WithBusyboxApp("panel B", b.Label);
        // The same name, so the same slug, in both; both panels are fresh, so both first deployments are number 1.
        var name = "t-twin-" + Guid.NewGuid().ToString("N")[..8];
        var domain = $"{name}.test";
        var projectA = await a.CreateProjectAsync(repoA, domain, name);
        var projectB = await b.CreateProjectAsync(repoB, domain, name);
        var dA = await a.DeployAsync(projectA);
        await a.WaitForLiveAsync(dA);
        var dB = await b.DeployAsync(projectB);
        await b.WaitForLiveAsync(dB);
        Assert.Equal(dA, dB);

        Assert.Equal("panel A", await a.ServedAsync(domain));
        Assert.Equal("panel B", await b.ServedAsync(domain));
        var containerA = Assert.Single(await a.PanelContainersAsync());
        var containerB = Assert.Single(await b.PanelContainersAsync());
        Assert.Equal($"vpspanel-{a.PanelId}-{name}-{dA}", containerA.Name);
        Assert.Equal($"vpspanel-{b.PanelId}-{name}-{dB}", containerB.Name);
        Assert.Equal($"vpspanel/{a.PanelId}-{name}:{dA}", containerA.Image);

        // A redeploy in A retires A's old container, not B's.
        var dA2 = await a.DeployAsync(projectA);
        await a.WaitForLiveAsync(dA2);
        Assert.Equal("panel B", await b.ServedAsync(domain));

        // Deleting the project in A takes A's containers and images, and leaves B's running and serving.
        var deleted = await a.Client.SubmitAsync($"/projects/{projectA}/edit", new() { ["confirm"] = name }, $"/projects/{projectA}/edit?handler=Delete");
        Assert.Equal(HttpStatusCode.SeeOther, deleted.Status);
        Assert.Empty(await a.PanelContainersAsync());
        using var docker = TestDocker.Client();
        Assert.Empty(await TestDocker.ImagesAsync(docker, a.PanelLabel, $"vpspanel.project={name}"));
        var stillB = Assert.Single(await b.PanelContainersAsync());
        Assert.Equal(containerB.Id, stillB.Id);
        Assert.Equal("running", stillB.State);
        Assert.Contains($"vpspanel/{b.PanelId}-{name}:{dB}", await TestDocker.ImagesAsync(docker, b.PanelLabel, $"vpspanel.project={name}"));
        Assert.Equal("panel B", await b.ServedAsync(domain));

        // B restarting reconciles only its own: its live container stays.
        await b.RestartHardAsync();
        await Task.Delay(2000);
        Assert.Equal(containerB.Id, Assert.Single(await b.PanelContainersAsync()).Id);
        Assert.Equal("panel B", await b.ServedAsync(domain));
    }
}
