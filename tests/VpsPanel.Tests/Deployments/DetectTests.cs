using System.Globalization;
using VpsPanel.Features.Deployments;
using VpsPanel.Features.Git;
using VpsPanel.Features.Projects;
using VpsPanel.Tests.Harness;
using Xunit.Abstractions;

namespace VpsPanel.Tests.Deployments;

/// <summary>
/// Issue 14, findings 3, 4 and 6: branch, port and health check left empty are detected (the repository's default
/// branch, the image's EXPOSE and HEALTHCHECK), and an app that crashes is named as such within seconds, with its
/// output in the deploy log. Real git, real dockerd, real Caddy.
/// </summary>
public sealed class DetectTests(ITestOutputHelper output)
{
    static Dictionary<string, string> Fields(DeployEnv env, TestRepo repo, string domain, string suffix, string port = "", string healthPath = "")
    {
        var f = DeployEnv.ProjectFields(env.Name(suffix), repo.Bare, domain, branch: "");
        f["containerPort"] = port;
        f["healthPath"] = healthPath;
        return f;
    }

    static string Busybox(string label, string cmd, string extra = "") =>
        $"FROM scratch\nCOPY busybox /bin/busybox\nCOPY www /www\nLABEL vpspanel.test={label}\n{extra}CMD {cmd}\n";

    const string Httpd = "[\"/bin/busybox\", \"httpd\", \"-f\", \"-v\", \"-p\", \"8080\", \"-h\", \"/www\"]";

    /// <summary>The time of a deploy log line (each starts with its UTC timestamp) that contains <paramref name="text"/>.</summary>
    static DateTime TimeOf(string log, string text)
    {
        var line = log.Split('\n').First(l => l.Contains(text));
        return DateTime.Parse(line[..line.IndexOf(' ')], CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);
    }

    [Fact]
    public async Task Empty_branch_and_port_deploy_the_default_branch_trunk_on_the_port_the_image_exposes_and_the_app_gets_PORT()
    {
        await using var env = await DeployEnv.StartAsync();
        using var repo = TestRepo.WithBusyboxApp("on trunk", env.Label, branch: "trunk");
        // The bare repository's HEAD names trunk (its default branch); a main branch with other content exists too.
        TestRepo.Run(repo.Dir, "--git-dir", repo.Bare, "symbolic-ref", "HEAD", "refs/heads/trunk");
        TestDocker.WriteBusyboxApp(repo.Work, "on main", extraDockerfile: $"LABEL {TestDocker.TestLabel}={env.Label}\n");
        TestRepo.Run(repo.Work, "add", "-A");
        TestRepo.Run(repo.Work, "commit", "--quiet", "-m", "main differs");
        TestRepo.Run(repo.Work, "push", "--quiet", "origin", "HEAD:refs/heads/main");

        var domain = $"{env.Name()}.test";
        var project = await env.CreateProjectAsync(Fields(env, repo, domain, "app"));
        var show = await env.Client.GetAsync($"/projects/{project}");
        var html = System.Net.WebUtility.HtmlDecode(show.Html);
        Assert.Contains("the default branch", html);
        Assert.Contains("from the image's EXPOSE", html);

        var d = await env.DeployAsync(project);
        var status = await env.WaitForEndAsync(d);
        var log = await env.LogAsync(d);
        Assert.True(status == "live", log);
        Assert.Contains("branch: trunk, the repository's default branch", log);
        Assert.Contains("container port 8080: the image's lowest exposed TCP port", log);
        Assert.Equal("on trunk", await env.ServedAsync(domain));
        output.WriteLine(log.Split('\n').First(l => l.Contains("healthy after")));
        using var docker = TestDocker.Client();
        var container = (await env.PanelContainersAsync()).Single();
        Assert.Contains("PORT=8080", (await docker.Containers.InspectContainerAsync(container.Id)).Config.Env);
    }

    [Fact]
    public async Task A_crash_looping_app_fails_within_seconds_with_its_output_and_a_wrong_port_names_the_exposed_ports()
    {
        // A budget of 40 tries (~35 s of probing). The crash watch names the loop after three exits, a few seconds on
        // an idle machine; a full CI run at load 16 took 16 s once, so the bound is only "well before the budget".
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string> { ["Deploy__HealthRetries"] = "40" });
        using var crashing = TestRepo.WithBusyboxApp("x", env.Label);
        crashing.CommitDockerfile(Busybox(env.Label, "[\"/bin/busybox\", \"sh\", \"-c\", \"echo boom; exit 1\"]", "EXPOSE 8080\n"), "crash at start");
        using var wrongPort = TestRepo.WithBusyboxApp("x", env.Label);
        var crash = await env.CreateProjectAsync(Fields(env, crashing, $"{env.Name("crash")}.test", "crash"));
        var wrong = await env.CreateProjectAsync(Fields(env, wrongPort, $"{env.Name("wrong")}.test", "wrong", port: "3000", healthPath: "/"));

        var d1 = await env.DeployAsync(crash);
        var d2 = await env.DeployAsync(wrong);
        Assert.Equal("failed", await env.WaitForEndAsync(d1));
        var log = await env.LogAsync(d1);
        // The code is left out when the container happens to be running again at the instant it is named.
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(log, @"the app exited( with code 1)? (twice|three times|\d+ times) in \d+ s: it is crash-looping"), log);
        Assert.Contains("app | boom", log);
        // Running again between two crashes (Docker then says exit code 0, so none is shown), or between restarts.
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(log, @"status (running|(restarting|exited), exit code 1), restarted [1-9]\d* times"), log);
        var took = TimeOf(log, "FAILED at health checking") - TimeOf(log, "==> health checking");
        Assert.True(took < TimeSpan.FromSeconds(30), $"the crash loop was named after {took.TotalSeconds:0.0} s:\n{log}");
        output.WriteLine($"crash loop named {took.TotalSeconds:0.00} s after the health-checking step started: {log.Split('\n').First(l => l.Contains("crash-looping"))}");
        // The output was copied before the container was removed.
        Assert.True(log.IndexOf("app | boom", StringComparison.Ordinal) < log.IndexOf("removed container", StringComparison.Ordinal), log);

        Assert.Equal("failed", await env.WaitForEndAsync(d2));
        var wrongLog = await env.LogAsync(d2);
        Assert.Contains("did not answer GET / with 2xx/3xx after 40 tries", wrongLog);
        Assert.Contains("the app did not answer on 3000, the image exposes 8080/tcp", wrongLog);
        Assert.Contains("container port 3000 (set on the project); the image exposes 8080/tcp", wrongLog);
        Assert.Empty(await env.PanelContainersAsync());
    }

    [Fact]
    public async Task The_images_own_HEALTHCHECK_decides_when_no_health_path_is_set_and_the_panels_GET_when_one_is()
    {
        await using var env = await DeployEnv.StartAsync();
        using var passing = TestRepo.WithBusyboxApp("healthy", env.Label);
        passing.CommitDockerfile(Busybox(env.Label, Httpd,
            "EXPOSE 8080\nHEALTHCHECK --interval=1s --timeout=2s CMD [\"/bin/busybox\", \"wget\", \"-q\", \"-O\", \"/dev/null\", \"http://127.0.0.1:8080/\"]\n"), "healthcheck passes");
        // Serves / fine, but its own HEALTHCHECK always fails.
        const string Failing = "EXPOSE 8080\nHEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD [\"/bin/busybox\", \"sh\", \"-c\", \"echo not-ready-yet; exit 1\"]\n";
        using var failing = TestRepo.WithBusyboxApp("unhealthy", env.Label);
        failing.CommitDockerfile(Busybox(env.Label, Httpd, Failing), "healthcheck fails");
        using var explicitPath = TestRepo.WithBusyboxApp("explicit", env.Label);
        explicitPath.CommitDockerfile(Busybox(env.Label, Httpd, Failing), "healthcheck fails, path set");

        var (pDomain, fDomain, eDomain) = ($"{env.Name("pass")}.test", $"{env.Name("fail")}.test", $"{env.Name("path")}.test");
        var p = await env.CreateProjectAsync(Fields(env, passing, pDomain, "pass"));
        var f = await env.CreateProjectAsync(Fields(env, failing, fDomain, "fail"));
        var e = await env.CreateProjectAsync(Fields(env, explicitPath, eDomain, "path", healthPath: "/"));
        var (dp, df, de) = (await env.DeployAsync(p), await env.DeployAsync(f), await env.DeployAsync(e));

        await env.WaitForLiveAsync(dp);
        var passLog = await env.LogAsync(dp);
        Assert.Contains("the image's own HEALTHCHECK", passLog);
        Assert.Contains("docker health: healthy", passLog);
        Assert.DoesNotContain("GET /", passLog);
        Assert.Equal("healthy", await env.ServedAsync(pDomain));

        Assert.Equal("failed", await env.WaitForEndAsync(df));
        var failLog = await env.LogAsync(df);
        Assert.Contains("docker health: unhealthy", failLog);
        Assert.Contains("the image's HEALTHCHECK reported the app unhealthy", failLog);
        Assert.Contains("not-ready-yet", failLog);
        Assert.Contains("exit code 1", failLog);

        // A health path set on the project is the panel's GET, whatever the image's HEALTHCHECK says.
        await env.WaitForLiveAsync(de);
        Assert.Contains("GET / → 200, healthy", await env.LogAsync(de));
        Assert.Equal("explicit", await env.ServedAsync(eDomain));
    }
}

/// <summary>The detection rules on their own: no engine, no panel.</summary>
public sealed class DetectRuleTests
{
    [Fact]
    public void The_default_branch_is_read_from_ls_remote_symref_output()
    {
        Assert.Equal("trunk", GitCli.ParseSymrefHead("ref: refs/heads/trunk\tHEAD\n0123456789012345678901234567890123456789\tHEAD\n"));
        Assert.Equal("release/2", GitCli.ParseSymrefHead("ref: refs/heads/release/2\tHEAD\n"));
        // A detached HEAD (no symbolic ref) or an empty answer says nothing.
        Assert.Null(GitCli.ParseSymrefHead("0123456789012345678901234567890123456789\tHEAD\n"));
        Assert.Null(GitCli.ParseSymrefHead(""));
        Assert.Null(GitCli.ParseSymrefHead("ref: refs/tags/v1\tHEAD\n"));
    }

    [Fact]
    public void The_lowest_exposed_TCP_port_wins_then_the_framework_default_then_a_clear_question()
    {
        Assert.Equal(8080, ImageFacts.TcpPortOf("8080/tcp"));
        Assert.Equal(3000, ImageFacts.TcpPortOf("3000"));
        Assert.Null(ImageFacts.TcpPortOf("53/udp"));
        Assert.Null(ImageFacts.TcpPortOf("x/tcp"));
        var lines = new List<string>();
        var facts = new ImageFacts([3000, 8080], ["3000/tcp", "53/udp", "8080/tcp"], null);
        Assert.Equal(3000, facts.ContainerPort(0, fallbackPort: 5000, lines.Add));
        Assert.Contains("lowest exposed TCP port", lines[^1]);
        Assert.Equal(9000, facts.ContainerPort(9000, null, lines.Add));
        var none = new ImageFacts([], ["53/udp"], null);
        Assert.Equal(5000, none.ContainerPort(0, 5000, lines.Add));
        Assert.Contains("framework's default", lines[^1]);
        var ask = Assert.Throws<DeployFailure>(() => none.ContainerPort(0, null, lines.Add));
        Assert.Contains("enter the port the app listens on", ask.Message);
        Assert.Contains("53/udp", ask.Message);
    }

    [Fact]
    public void Branch_port_and_health_path_may_be_left_empty_but_not_be_wrong()
    {
        var form = ProjectForm.Empty with { Name = "Shop", GitUrl = "https://example.com/shop.git", Domains = "shop.test" };
        Assert.Empty(ProjectStore.Validate(form, creating: true, isAdmin: true, hasStoredToken: false));
        var bad = ProjectStore.Validate(form with { Branch = "-x", ContainerPort = "70000", HealthPath = "health" }, creating: true, isAdmin: true, hasStoredToken: false);
        Assert.Equal(["branch", "containerPort", "healthPath"], bad.Keys.Order().ToArray());
    }

    [Fact]
    public void The_app_gets_PORT_unless_its_variables_set_one()
    {
        Assert.Contains("PORT=8080", DeployDetect.WithPort(["A=1"], 8080, _ => { }));
        var own = DeployDetect.WithPort(["PORT=9999"], 8080, _ => { });
        Assert.Equal(["PORT=9999"], own);
    }
}
