using System.Diagnostics;
using System.Net;
using System.Text;
using VpsPanel.Features.Docker;
using VpsPanel.Tests.Harness;
using VpsPanel.Tests.Variables;

namespace VpsPanel.Tests.Deployments;

/// <summary>
/// Issue 14, finding 1: builds go through BuildKit (the docker CLI against the real engine), so Dockerfiles as they
/// are written today build: cache mounts, USER before WORKDIR, unused stages skipped, build targets, build secrets.
/// </summary>
public sealed class BuildKitTests
{
    const string Serve = """CMD ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]""";

    static async Task<(DeployEnv Env, TestRepo Repo, long Project, string Domain)> ProjectAsync(IDictionary<string, string>? settings = null)
    {
        var env = await DeployEnv.StartAsync(settings);
        var repo = TestRepo.WithBusyboxApp("v1", env.Label);
        var domain = $"{env.Name()}.test";
        var project = await env.CreateProjectAsync(repo, domain);
        return (env, repo, project, domain);
    }

    [Fact]
    public async Task Cache_mount_USER_before_WORKDIR_and_an_unused_stage_build_with_BuildKit_and_run()
    {
        var (env, repo, project, domain) = await ProjectAsync();
        await using var _ = env;
        using var __ = repo;
        var cache = "/cache-" + env.Label;
        repo.CommitDockerfile($$"""
            FROM scratch AS unused
            COPY busybox /bin/busybox
            RUN ["/bin/busybox", "echo", "UNUSED-STAGE-{{env.Label}}-RAN"]

            FROM scratch
            COPY busybox /bin/busybox
            COPY www /www
            LABEL vpspanel.test={{env.Label}}
            RUN --mount=type=cache,target={{cache}} ["/bin/busybox", "sh", "-c", "echo run >> {{cache}}/runs; echo cache-mount-lines=$(/bin/busybox wc -l < {{cache}}/runs)"]
            USER 1000:1000
            WORKDIR /app
            RUN ["/bin/busybox", "sh", "-c", "/bin/busybox touch /app/written && echo workdir-owner=$(/bin/busybox stat -c %u /app)"]
            {{Serve}}

            """, "modern Dockerfile");

        var id = await env.DeployAsync(project);
        var log = "";
        Assert.True(await env.WaitForEndAsync(id) == "live", log = await env.LogAsync(id));
        log = await env.LogAsync(id);
        Assert.Contains("builder: BuildKit (/usr/bin/docker)", log);
        Assert.Matches(@"cache-mount-lines=\d+", log);
        Assert.Contains("workdir-owner=1000", log);
        Assert.DoesNotContain($"UNUSED-STAGE-{env.Label}-RAN", log);
        Assert.Equal("v1", await env.ServedAsync(domain));

        // The build's labels are in the image's config, and no build step made them (finding 6).
        var image = (await TestDocker.CliAsync("ps", "--filter", $"name=vpspanel-{env.PanelId}-", "--format", "{{.Image}}")).Trim();
        Assert.Contains($"\"vpspanel.deployment\":\"{id}\"", await TestDocker.CliAsync("image", "inspect", "--format", "{{json .Config.Labels}}", image));
        Assert.DoesNotContain("vpspanel.deployment", await TestDocker.CliAsync("history", "--no-trunc", "--format", "{{.CreatedBy}}", image));
    }

    [Fact]
    public async Task A_build_target_builds_that_stage_only_and_a_missing_stage_is_named()
    {
        var (env, repo, project, domain) = await ProjectAsync();
        await using var _ = env;
        using var __ = repo;
        repo.CommitDockerfile($$"""
            FROM scratch AS web
            COPY busybox /bin/busybox
            COPY www /www
            LABEL vpspanel.test={{env.Label}}
            {{Serve}}

            FROM web AS broken
            RUN ["/bin/busybox", "false"]

            """, "two targets");
        Dictionary<string, string> Form(string target) => new(DeployEnv.ProjectFields(env.Name(), repo.Bare, domain, repo.Branch)) { ["buildTarget"] = target };
        var edit = await env.Client.SubmitAsync($"/projects/{project}/edit", Form("web"));
        Assert.True(edit.Status is HttpStatusCode.Redirect or HttpStatusCode.SeeOther, $"saving the target answered {edit.Status}: {edit.Text(".field-error")}");
        Assert.Equal("web", (await env.Client.GetAsync($"/projects/{project}/edit")).Doc.QuerySelector("#buildTarget")?.GetAttribute("value"));

        var id = await env.DeployAsync(project);
        Assert.True(await env.WaitForEndAsync(id) == "live", await env.LogAsync(id));
        Assert.Contains("target stage web", await env.LogAsync(id));

        // A bad name is refused by the form; a good name that is no stage fails the build, saying so.
        var bad = await env.Client.SubmitAsync($"/projects/{project}/edit", Form("Web Stage"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.Status);
        Assert.Contains("stage of the Dockerfile", bad.Text(".field-error"));
        using var api = await VariableTestKit.ApiAsync(env.Panel);
        using (var patched = await api.PatchAsync($"/api/projects/{env.Name()}", new StringContent("{\"buildTarget\":\"nope\"}", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
            Assert.Contains("\"buildTarget\":\"nope\"", await patched.Content.ReadAsStringAsync());
        }
        var missing = await env.DeployAsync(project);
        Assert.Equal("failed", await env.WaitForEndAsync(missing));
        Assert.Contains("the build target \"nope\" (project setting) does not exist: the Dockerfile has no stage named \"nope\"", await env.LogAsync(missing));
        Assert.Equal("v1", await env.ServedAsync(domain));
    }

    [Fact]
    public async Task A_secret_variable_reaches_RUN_mount_type_secret_and_is_neither_in_the_image_nor_in_the_log()
    {
        var (env, repo, project, _) = await ProjectAsync();
        await using var __ = env;
        using var ___ = repo;
        var secret = "bk-" + Guid.NewGuid().ToString("N");
        repo.CommitDockerfile($$"""
            FROM scratch
            COPY busybox /bin/busybox
            COPY www /www
            LABEL vpspanel.test={{env.Label}}
            # The test's label in the command: BuildKit's cache key ignores LABEL and the secret, so an earlier run's step would be reused without output.
            RUN --mount=type=secret,id=API_TOKEN ["/bin/busybox", "sh", "-c", ": {{env.Label}}; echo the build read $(/bin/busybox cat /run/secrets/API_TOKEN); /bin/busybox wc -c < /run/secrets/API_TOKEN > /www/length.txt"]
            {{Serve}}

            """, "secret mount");
        using var api = await VariableTestKit.ApiAsync(env.Panel);
        // A run-time secret, not a build argument: only the secret mount can give it to the build.
        await VariableTestKit.PutOkAsync(api, env.Name(), $$"""[{"key":"API_TOKEN","value":"{{secret}}","secret":true,"buildTime":false,"runtime":true}]""");

        var id = await env.DeployAsync(project);
        Assert.True(await env.WaitForEndAsync(id) == "live", await env.LogAsync(id));
        var log = await env.LogAsync(id);
        Assert.Contains("the build read ********", log);
        Assert.Contains("build secrets: API_TOKEN", log);
        Assert.DoesNotContain(secret, log);
        using (var served = await env.Caddy.GetAsync($"{env.Name()}.test", "/length.txt"))
            Assert.Equal(secret.Length.ToString(), (await served.Content.ReadAsStringAsync()).Trim());

        var image = (await TestDocker.CliAsync("ps", "--filter", $"name=vpspanel-{env.PanelId}-", "--format", "{{.Image}}")).Trim();
        Assert.DoesNotContain(secret, await TestDocker.CliAsync("history", "--no-trunc", image));
        Assert.DoesNotContain(secret, await TestDocker.CliAsync("image", "inspect", image));
        Assert.DoesNotContain(secret, env.Panel.Log);
        Assert.Empty(VariableTestKit.FilesContaining(env.Panel.DataDir, secret));
    }

    [Fact]
    public async Task A_build_step_allocating_past_the_build_memory_cap_fails_naming_the_cap_and_everything_keeps_running()
    {
        var (env, repo, project, domain) = await ProjectAsync(new Dictionary<string, string> { ["Deploy__BuildMemoryMb"] = "64" });
        await using var _ = env;
        using var __ = repo;
        var v1 = await env.DeployAsync(project);
        await env.WaitForLiveAsync(v1);
        var host = BuildMemoryCap.Support("docker");
        Assert.True(host.CanCap, $"this test machine runs the panel as root on cgroups with a memory controller: {host.Describe}");
        Assert.Contains("Builds: BuildKit build steps are capped at Deploy:BuildMemoryMb", (await env.Client.GetAsync("/")).Text("#build-memory-cap"));

        // 300 MB of anonymous memory in a shell variable, under a 64 MiB cap.
        repo.CommitDockerfile($$"""
            FROM scratch
            COPY busybox /bin/busybox
            COPY www /www
            LABEL vpspanel.test={{env.Label}}
            RUN ["/bin/busybox", "sh", "-c", "x=$(/bin/busybox head -c 300000000 /dev/zero | /bin/busybox tr '\\0' a); echo allocated ${#x}"]
            {{Serve}}

            """, "greedy build");
        var greedy = await env.DeployAsync(project);
        Assert.Equal("failed", await env.WaitForEndAsync(greedy, TimeSpan.FromMinutes(3)));
        var log = await env.LogAsync(greedy);
        Assert.Contains("ran out of memory: it was stopped at the build memory cap of 64 MiB (setting Deploy:BuildMemoryMb)", log);
        Assert.DoesNotContain("allocated 300000000", log);
        Assert.Equal("v1", await env.ServedAsync(domain));
        using var health = await env.Client.Http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task A_third_party_frontend_and_a_heredoc_the_panel_cannot_translate_fail_with_errors_that_say_why()
    {
        var (env, repo, project, domain) = await ProjectAsync();
        await using var _ = env;
        using var __ = repo;
        var v1 = await env.DeployAsync(project);
        await env.WaitForLiveAsync(v1);

        // Only the official docker/dockerfile frontend falls back to the built-in one (DockerfileCompat); any other stays an error.
        repo.CommitDockerfile($"# syntax=example.invalid/frontend:1\nFROM scratch\nCOPY busybox /bin/busybox\nCOPY www /www\n{Serve}\n", "syntax line");
        var syntax = await env.DeployAsync(project);
        Assert.Equal("failed", await env.WaitForEndAsync(syntax, TimeSpan.FromMinutes(3)));
        Assert.Contains("the Dockerfile asks for the frontend example.invalid/frontend:1 (# syntax= line 1); this server cannot pull it", await env.LogAsync(syntax));

        // The engine's built-in frontend (20.10) has no heredocs; a script with #! (BuildKit runs it as a file) is not translated.
        repo.CommitDockerfile($"FROM scratch\nCOPY busybox /bin/busybox\nRUN <<EOF\n#!/bin/busybox sh\n/bin/busybox echo hi\nEOF\n{Serve}\n", "heredoc");
        var heredoc = await env.DeployAsync(project);
        Assert.Equal("failed", await env.WaitForEndAsync(heredoc));
        var log = await env.LogAsync(heredoc);
        Assert.Contains("the panel cannot translate line 3: a heredoc script with #!", log);
        Assert.Contains("dockerfile parse error line 5", log); // line 4, #!…, reads as a comment
        Assert.Contains("does not support heredocs", log);

        // The official frontend with such a heredoc: both reasons in one error.
        repo.CommitDockerfile($"# syntax=docker/dockerfile:1\nFROM scratch\nCOPY busybox /bin/busybox\nADD <<EOF /x\nhi\nEOF\n{Serve}\n", "official frontend, ADD heredoc");
        var both = await env.DeployAsync(project);
        Assert.Equal("failed", await env.WaitForEndAsync(both, TimeSpan.FromMinutes(3)));
        Assert.Contains("asks for the frontend docker/dockerfile:1 (# syntax= line 1), which this server cannot pull; the panel builds such Dockerfiles with the engine's built-in Dockerfile frontend, but cannot translate line 4: ADD with a heredoc", await env.LogAsync(both));
        Assert.Equal("v1", await env.ServedAsync(domain));
    }

    [Fact]
    public async Task The_classic_builder_is_still_there_behind_Build_Builder_classic()
    {
        var (env, repo, project, domain) = await ProjectAsync(new Dictionary<string, string> { ["Build__Builder"] = "classic" });
        await using var _ = env;
        using var __ = repo;
        var id = await env.DeployAsync(project);
        Assert.True(await env.WaitForEndAsync(id) == "live", await env.LogAsync(id));
        Assert.Contains("builder: classic (Build:Builder=classic)", await env.LogAsync(id));
        Assert.Equal("v1", await env.ServedAsync(domain));
        Assert.Null((await env.Client.GetAsync("/")).Text("#build-memory-cap"));
    }

    [Fact]
    public async Task A_missing_docker_CLI_fails_the_build_naming_the_setting()
    {
        var (env, repo, project, _) = await ProjectAsync(new Dictionary<string, string> { ["Build__DockerCli"] = "/nonexistent/docker" });
        await using var __ = env;
        using var ___ = repo;
        var id = await env.DeployAsync(project);
        Assert.Equal("failed", await env.WaitForEndAsync(id));
        Assert.Contains("the docker CLI /nonexistent/docker (setting Build:DockerCli) does not exist", await env.LogAsync(id));
    }

    [Fact]
    public async Task Cancelling_a_BuildKit_build_mid_step_leaves_no_process_and_no_container()
    {
        var (env, repo, project, _) = await ProjectAsync();
        await using var __ = env;
        using var ___ = repo;
        var sleep = Random.Shared.Next(3000, 9000).ToString();
        repo.CommitDockerfile($"FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"sleep\", \"{sleep}\"]\n", "slow build");
        var id = await env.DeployAsync(project);
        await TestDocker.WaitUntilAsync(() => Task.FromResult(StepProcesses(sleep).Count > 0), TimeSpan.FromSeconds(90), "the RUN step to run");
        await env.DeploymentActionAsync(id, "Cancel");
        Assert.Equal("cancelled", await env.WaitForEndAsync(id));
        await TestDocker.WaitUntilAsync(() => Task.FromResult(StepProcesses(sleep).Count == 0), TimeSpan.FromSeconds(30), "the RUN step to be gone");
        Assert.DoesNotContain($"sleep {sleep}", await TestDocker.CliAsync("ps", "-a", "--no-trunc", "--format", "{{.Command}}"));
        Assert.Empty(StepProcesses($"--tag vpspanel/{env.PanelId}-"));
    }

    /// <summary>Processes whose command line contains the text (the RUN step under dockerd, or the panel's docker CLI).</summary>
    static List<int> StepProcesses(string text)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var cmd = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (cmd.Contains(text) && !cmd.Contains("dotnet")) found.Add(pid);
            }
            catch (IOException) { }
        }
        return found;
    }


}

public sealed class BuildTargetBrowserTests
{
    [Fact]
    public async Task Set_a_build_target_on_the_project_form_a_bad_name_is_explained_and_the_project_page_shows_it()
    {
        await using var env = await DeployEnv.StartAsync();
        using var repo = TestRepo.WithBusyboxApp("v1", env.Label);
        var project = await env.CreateProjectAsync(repo, $"{env.Name()}.test");
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        await page.GotoAsync(env.Panel.Url + "/login");
        await page.FillAsync("#email", PanelSetup.AdminEmail);
        await page.FillAsync("#password", PanelSetup.AdminPassword);
        await page.ClickAsync("button[type=submit]");
        await Browser.WaitForUrlAsync(page, u => !u.Contains("/login"));

        await page.GotoAsync($"{env.Panel.Url}/projects/{project}/edit");
        await page.FillAsync("#buildTarget", "Web Stage");
        await page.ClickAsync("button:has-text('Save')");
        await page.WaitForSelectorAsync(".field-error:has-text('stage of the Dockerfile')");
        Assert.Equal("Web Stage", await page.InputValueAsync("#buildTarget"));

        await page.FillAsync("#buildTarget", "web");
        await page.ClickAsync("button:has-text('Save')");
        await page.WaitForSelectorAsync("#build-target:has-text('target stage web')");
        Assert.Matches($@"/projects/{project}(\?saved=1)?$", page.Url);
    }
}
