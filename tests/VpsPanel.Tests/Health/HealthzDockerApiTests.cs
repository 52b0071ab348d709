using System.Text.Json.Nodes;
using VpsPanel.Features.Docker;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Health;

/// <summary>The Docker Engine API version is negotiated with the engine (never pinned) and shown where an admin looks.</summary>
public sealed class HealthzDockerApiTests
{
    [Fact]
    public async Task The_engines_API_version_is_negotiated_and_healthz_and_the_dashboard_show_the_version_in_use()
    {
        var (engineApi, inUse) = await TestDocker.ApiVersionsAsync();

        await using var caddy = await TestCaddy.StartAsync();
        await using var panel = await PanelProcess.StartAsync(caddy.PanelSettings());
        using var admin = await PanelSetup.SignedInAdminAsync(panel);

        var health = JsonNode.Parse(await admin.Http.GetStringAsync("/healthz"))!;
        Assert.True((bool)health["docker"]!["ok"]!, health.ToJsonString());
        var detail = (string)health["docker"]!["detail"]!;
        Assert.Contains($"API {inUse} in use", detail);
        Assert.Contains($"engine up to {engineApi}", detail);

        var dashboard = await admin.GetAsync("/");
        Assert.Contains($"API {inUse} in use", dashboard.Text("[data-check=docker]"));
    }
}
