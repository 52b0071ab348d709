using System.Diagnostics;
using VpsPanel.Features.Docker;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Deployments;

/// <summary>
/// Issue 12, finding 8: what a crash leaves in the engine is removed at the next start: the image of a deployment
/// the restart failed, and a build's intermediate container (which dockerd leaves when it dies mid-step).
/// </summary>
public sealed class CrashLeftoverTests
{
    static async Task<(DeployEnv Env, TestRepo Repo, long Project, long Live, string Domain)> LiveV1Async(IDictionary<string, string>? settings = null)
    {
        var env = await DeployEnv.StartAsync(settings);
        var repo = TestRepo.WithBusyboxApp("v1", env.Label);
        var domain = $"{env.Name()}.test";
        var project = await env.CreateProjectAsync(repo, domain);
        var live = await env.DeployAsync(project);
        await env.WaitForLiveAsync(live);
        return (env, repo, project, live, domain);
    }

    static async Task<List<string>> ImagesOfAsync(DeployEnv env, long deployment)
    {
        using var docker = TestDocker.Client();
        return await TestDocker.ImagesAsync(docker, env.PanelLabel, $"vpspanel.deployment={deployment}");
    }

    [Fact]
    public async Task Kill_9_during_the_health_check_then_restart_removes_the_failed_deploys_image_and_keeps_the_live_one()
    {
        var (env, repo, project, live, domain) = await LiveV1Async();
        await using var _ = env;
        using var __ = repo;
        // Built at once, then slow to listen: the deploy sits in health checking with its image built.
        repo.CommitDockerfile("FROM scratch\nCOPY busybox /bin/busybox\nCOPY www /www\n" +
            "CMD [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox sleep 120; exec /bin/busybox httpd -f -p 8080 -h /www\"]\n", "slow to start");
        var slow = await env.DeployAsync(project);
        await env.WaitForStatusAsync(slow, TimeSpan.FromSeconds(90), "health_checking");
        Assert.NotEmpty(await ImagesOfAsync(env, slow));

        await env.RestartHardAsync();

        Assert.Equal("failed", await env.WaitForEndAsync(slow));
        await TestDocker.WaitUntilAsync(async () => (await ImagesOfAsync(env, slow)).Count == 0, TimeSpan.FromSeconds(60), "the failed deploy's image to be removed");
        Assert.NotEmpty(await ImagesOfAsync(env, live));
        Assert.Equal("live", await env.StatusAsync(live));
        Assert.Equal("v1", await env.ServedAsync(domain));
    }

    [Fact]
    public async Task Build_containers_carry_the_panels_mark_and_recovery_removes_leftover_ones_of_this_panel_only()
    {
        // Intermediate containers are the classic builder's (BuildKit runs steps without containers:
        // BuildKitTests.Cancelling_a_BuildKit_build_mid_step_leaves_no_process_and_no_container).
        var (env, repo, project, live, _) = await LiveV1Async(new Dictionary<string, string> { ["Build__Builder"] = "classic" });
        await using var __ = env;
        using var ___ = repo;
        var sleep = Random.Shared.Next(3000, 9000).ToString();
        repo.CommitDockerfile($"FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"sleep\", \"{sleep}\"]\n", "slow build");
        var building = await env.DeployAsync(project);

        // The real intermediate container of the RUN step: no panel label, but the panel's build mark.
        string? step = null;
        await TestDocker.WaitUntilAsync(async () => (step = (await TestDocker.CliAsync("ps", "--no-trunc", "--format", "{{.ID}} {{.Command}}")).Split('\n')
            .FirstOrDefault(l => l.Contains($"sleep {sleep}"))?.Split(' ')[0]) is not null,
            TimeSpan.FromSeconds(90), "the build's RUN step to run");
        Assert.Contains(BuildContainers.MarkHost(env.PanelId), await TestDocker.CliAsync("inspect", "--format", "{{json .HostConfig.ExtraHosts}}", step!));
        Assert.DoesNotContain(PanelIdentity.Label, await TestDocker.CliAsync("inspect", "--format", "{{json .Config.Labels}}", step!));

        // What dockerd dying mid-step leaves: a stopped container like that one. Killing dockerd is not done here
        // (it is shared); containers created with the same host configuration stand in for the leftover, one of this
        // panel and one of another panel (another id), which must stay.
        var image = (await ImagesOfAsync(env, live)).First();
        var ours = (await TestDocker.CliAsync("create", "--add-host", BuildContainers.MarkHost(env.PanelId), "--label", $"{TestDocker.TestLabel}={env.Label}", image)).Trim();
        var theirs = (await TestDocker.CliAsync("create", "--add-host", BuildContainers.MarkHost("0123456789ab"), "--label", $"{TestDocker.TestLabel}={env.Label}", image)).Trim();

        await env.RestartHardAsync();

        Assert.Equal("failed", await env.WaitForEndAsync(building));
        await TestDocker.WaitUntilAsync(async () => (await TestDocker.CliAsync("ps", "-aq", "--no-trunc", "--filter", $"id={ours}")).Trim() == "", TimeSpan.FromSeconds(60),
            "the leftover build container to be removed");
        Assert.Equal(theirs, (await TestDocker.CliAsync("ps", "-aq", "--no-trunc", "--filter", $"id={theirs}")).Trim());
        Assert.Contains($"removed build container {ours}", env.Panel.Log);
        // (env's dispose removes `theirs` by the test label.)
    }


}
