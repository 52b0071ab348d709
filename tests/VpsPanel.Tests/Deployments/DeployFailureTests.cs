using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Deployments;

/// <summary>Deploys that fail, are cancelled, superseded or interrupted: the live version keeps serving throughout.</summary>
public sealed class DeployFailureTests
{
    const string SlowBuild = "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"sleep\", \"{0}\"]\nCMD [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n";

    static async Task<(DeployEnv Env, TestRepo Repo, long Project, string Domain)> LiveV1Async(IDictionary<string, string>? settings = null)
    {
        var env = await DeployEnv.StartAsync(settings);
        var (repo, project, domain, _) = await env.DeployV1Async();
        return (env, repo, project, domain);
    }

    [Fact]
    public async Task A_broken_Dockerfile_fails_at_building_with_Dockers_error_and_v1_keeps_serving()
    {
        var (env, repo, project, domain) = await LiveV1Async();
        await using var _ = env;
        using var __ = repo;
        repo.CommitDockerfile("FROM scratch\nCOPY does-not-exist /x\n", "broken");
        var d = await env.DeployAsync(project);
        Assert.Equal("failed", await env.WaitForEndAsync(d));
        var page = await env.Client.GetAsync($"/deployments/{d}");
        Assert.Contains("Failed at building", page.Text("#deploy-error"));
        var log = await env.LogAsync(d);
        Assert.Contains("does-not-exist", log);
        Assert.Contains("FAILED at building", log);
        Assert.Equal("v1", await env.ServedAsync(domain));
        Assert.Single(await env.PanelContainersAsync());
    }

    [Fact]
    public async Task An_app_that_never_becomes_healthy_fails_at_health_checking_its_container_is_removed_and_v1_keeps_serving()
    {
        var (env, repo, project, domain) = await LiveV1Async(new Dictionary<string, string> { ["Deploy__HealthRetries"] = "3" });
        await using var _ = env;
        using var __ = repo;
        // Starts and stays up, but never listens on the port.
        repo.CommitDockerfile("FROM scratch\nCOPY busybox /bin/busybox\nCMD [\"/bin/busybox\", \"sleep\", \"600\"]\n", "never healthy");
        var d = await env.DeployAsync(project);
        Assert.Equal("failed", await env.WaitForEndAsync(d));
        var page = await env.Client.GetAsync($"/deployments/{d}");
        Assert.Contains("Failed at health checking", page.Text("#deploy-error"));
        Assert.Contains("did not answer GET / with 2xx/3xx after 3 tries", await env.LogAsync(d));
        Assert.Equal("v1", await env.ServedAsync(domain));
        var containers = await env.PanelContainersAsync();
        Assert.DoesNotContain(containers, c => c.Name.EndsWith($"-{d}"));
        Assert.Single(containers);
    }

    [Fact]
    public async Task Cancel_a_queued_deploy_and_a_running_build_and_an_older_queued_deploy_is_superseded()
    {
        var (env, repo, project, domain) = await LiveV1Async();
        await using var _ = env;
        using var __ = repo;
        var sleep = Random.Shared.Next(3000, 9000).ToString();
        repo.CommitDockerfile(string.Format(SlowBuild, sleep), "slow build");
        var running = await env.DeployAsync(project);
        await env.WaitForStatusAsync(running, TimeSpan.FromSeconds(60), "building");
        var older = await env.DeployAsync(project);
        var newer = await env.DeployAsync(project);
        Assert.Equal("superseded", await env.StatusAsync(older));
        Assert.Equal("queued", await env.StatusAsync(newer));

        await env.DeploymentActionAsync(newer, "Cancel");
        Assert.Equal("cancelled", await env.StatusAsync(newer));

        // Wait until the build's RUN step is really running (BuildKit logs the step as it starts it), then cancel it.
        await TestDocker.WaitUntilAsync(async () => (await env.LogAsync(running)).Contains($"RUN [\"/bin/busybox\", \"sleep\", \"{sleep}\"]"), TimeSpan.FromSeconds(30));
        await env.DeploymentActionAsync(running, "Cancel");
        Assert.Equal("cancelled", await env.WaitForEndAsync(running, TimeSpan.FromSeconds(60)));
        Assert.Contains("cancelled during building", await env.LogAsync(running));
        // The engine stops the build when the CLI's session closes: no process keeps running the RUN step.
        await TestDocker.WaitUntilAsync(() => Task.FromResult(!SleepRuns(sleep)), TimeSpan.FromSeconds(30));
        Assert.Equal("v1", await env.ServedAsync(domain));
        Assert.Single(await env.PanelContainersAsync());
    }

    [Fact]
    public async Task Kill_9_during_a_build_fails_it_as_interrupted_runs_the_queued_deploy_and_v1_never_stops_serving()
    {
        var (env, repo, project, domain) = await LiveV1Async();
        await using var _ = env;
        using var __ = repo;
        repo.CommitDockerfile(string.Format(SlowBuild, Random.Shared.Next(3000, 9000)), "slow build");
        var building = await env.DeployAsync(project);
        await env.WaitForStatusAsync(building, TimeSpan.FromSeconds(60), "building");
        repo.CommitApp("v3", env.Label, "v3");
        var queued = await env.DeployAsync(project);
        Assert.Equal("queued", await env.StatusAsync(queued));

        env.Panel.KillHard();
        Assert.Equal("v1", await env.ServedAsync(domain));
        await env.RestartHardAsync();

        Assert.Equal("failed", await env.StatusAsync(building));
        var page = await env.Client.GetAsync($"/deployments/{building}");
        Assert.Contains("interrupted by panel restart", page.Text("#deploy-error"));
        await env.WaitForLiveAsync(queued);
        Assert.Equal("v3", await env.ServedAsync(domain));
        Assert.Equal("retired", await env.StatusAsync(building - 1));
    }

    [Fact]
    public async Task A_repository_or_branch_that_does_not_exist_fails_at_cloning_with_a_clear_error()
    {
        await using var env = await DeployEnv.StartAsync();
        using var repo = TestRepo.WithBusyboxApp("v1", env.Label);
        var missingRepo = await env.CreateProjectAsync(DeployEnv.ProjectFields(env.Name("norepo"), repo.Dir + "/nope.git", $"{env.Name("norepo")}.test"));
        var d1 = await env.DeployAsync(missingRepo);
        Assert.Equal("failed", await env.WaitForEndAsync(d1));
        Assert.Contains("git fetch from", (await env.Client.GetAsync($"/deployments/{d1}")).Text("#deploy-error"));

        var missingBranch = await env.CreateProjectAsync(DeployEnv.ProjectFields(env.Name("nobranch"), repo.Bare, $"{env.Name("nobranch")}.test", "release"));
        var d2 = await env.DeployAsync(missingBranch);
        Assert.Equal("failed", await env.WaitForEndAsync(d2));
        Assert.Contains("the branch \"release\" does not exist", (await env.Client.GetAsync($"/deployments/{d2}")).Text("#deploy-error"));
        Assert.Empty(await env.PanelContainersAsync());
    }

    [Fact]
    public async Task A_build_that_prints_50_MB_is_kept_to_the_log_limit_and_the_panel_stays_responsive()
    {
        // The classic builder passes all 50 MB on; BuildKit clips a step's output at 1 MiB itself, so the panel's
        // own limit is tested with the classic builder.
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string> { ["Build__Builder"] = "classic" });
        using var repo = TestRepo.WithBusyboxApp("v1", env.Label,
            extraDockerfile: "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox yes 0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz | /bin/busybox head -c 52428800\"]");
        var project = await env.CreateProjectAsync(repo, $"{env.Name()}.test");
        var d = await env.DeployAsync(project);
        await env.WaitForLiveAsync(d, TimeSpan.FromSeconds(300));
        // Named <id>-<random key>.log (DeployLog): the one file of this deployment.
        var size = new FileInfo(Assert.Single(Directory.GetFiles(Path.Combine(env.Panel.DataDir, "logs"), $"{d}-*.log"))).Length;
        Assert.InRange(size, 1, 9L * 1024 * 1024);
        var log = await env.LogAsync(d);
        Assert.Contains("log limit of 8 MiB reached", log);
        Assert.Contains("==> live", log);
        // The page shows only the tail, so it stays small.
        var page = await env.Client.GetAsync($"/deployments/{d}");
        Assert.True(page.Html.Length < 200_000, $"the page is {page.Html.Length} characters");
        var earlier = page.Doc.QuerySelector("#load-earlier")!;
        // "Load earlier lines" fetches the 256 KiB before what is shown, and so on back to the start.
        var before = long.Parse(earlier.GetAttribute("data-before")!);
        Assert.True(before > 0);
        var chunk = System.Text.Json.Nodes.JsonNode.Parse(await env.Client.Http.GetStringAsync($"{earlier.GetAttribute("data-log-earlier")}?before={before}"))!;
        var text = (string)chunk["text"]!;
        Assert.InRange(text.Length, 1, 256 * 1024);
        Assert.Contains("0123456789abcdefghijklmnopqrstuvwxyz", text);
        Assert.True((long)chunk["start"]! < before);
    }

    [Fact]
    public async Task A_build_that_never_ends_is_stopped_at_the_build_timeout()
    {
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string> { ["Deploy__BuildTimeoutMinutes"] = "1" });
        var sleep = Random.Shared.Next(3000, 9000).ToString();
        using var repo = TestRepo.WithBusyboxApp("v1", env.Label, extraDockerfile: $"RUN [\"/bin/busybox\", \"sleep\", \"{sleep}\"]");
        var project = await env.CreateProjectAsync(repo, $"{env.Name()}.test");
        var d = await env.DeployAsync(project);
        Assert.Equal("failed", await env.WaitForEndAsync(d, TimeSpan.FromSeconds(150)));
        Assert.Contains("longer than 1 minutes", (await env.Client.GetAsync($"/deployments/{d}")).Text("#deploy-error"));
        await TestDocker.WaitUntilAsync(() => Task.FromResult(!SleepRuns(sleep)), TimeSpan.FromSeconds(30));
        Assert.Empty(await env.PanelContainersAsync());
    }

    /// <summary>Whether a process runs `busybox sleep N` (a BuildKit RUN step runs under dockerd, not in a container).</summary>
    static bool SleepRuns(string seconds) => Directory.EnumerateDirectories("/proc").Any(d =>
    {
        try { return int.TryParse(Path.GetFileName(d), out _) && File.ReadAllText(Path.Combine(d, "cmdline")).Replace('\0', ' ').Contains($"sleep {seconds}"); }
        catch (IOException) { return false; }
    });

}
