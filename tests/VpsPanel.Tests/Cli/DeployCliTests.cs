using Dapper;
using VpsPanel.Features.Data;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Cli;

/// <summary>`projects list`, `deploy` and `logs` run as real processes of the published binary against a real panel.</summary>
public sealed class DeployCliTests
{
    [Fact]
    public async Task Projects_list_deploy_follow_and_logs_happy_paths_and_a_failed_deploy_exits_non_zero()
    {
        await using var env = await DeployEnv.StartAsync();
        using var repo = TestRepo.WithBusyboxApp("from the cli", env.Label);
        var name = env.Name();
        var domain = $"{name}.test";
        await env.CreateProjectAsync(repo, domain);
        using var api = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);
        var viaEnv = new Dictionary<string, string> { ["VPSPANEL_URL"] = env.Panel.Url, ["VPSPANEL_TOKEN"] = api.Token };

        var list = await PanelCli.RunAsync(["projects", "list", "--data-dir", env.Panel.DataDir]);
        Assert.Equal(0, list.ExitCode);
        Assert.Equal($"{name}\t{name}\t{PanelSetup.AdminEmail}\tnever deployed\t{domain}", list.Stdout.Trim());

        // deploy --follow streams the log and exits 0 once live (URL and token as options).
        var deploy = await PanelCli.RunAsync(["deploy", name, "--follow", "--url", env.Panel.Url, "--token", api.Token]);
        Assert.True(deploy.ExitCode == 0, deploy.Stderr + deploy.Stdout);
        Assert.Contains("==> building", deploy.Stdout);
        Assert.Contains("==> live", deploy.Stdout);
        Assert.Equal("from the cli", await env.ServedAsync(domain));
        Assert.Contains($"{name}\t{name}\t{PanelSetup.AdminEmail}\tlive\t", (await PanelCli.RunAsync(["projects", "list", "--data-dir", env.Panel.DataDir])).Stdout);

        // deploy without --follow prints the id alone; logs --follow follows it to the end (URL and token from the environment).
        repo.CommitApp("second", env.Label, "second");
        var queued = await PanelCli.RunAsync(["deploy", name], env: viaEnv);
        Assert.Equal(0, queued.ExitCode);
        var id = long.Parse(queued.Stdout.Trim());
        var follow = await PanelCli.RunAsync(["logs", id.ToString(), "--follow"], env: viaEnv);
        Assert.True(follow.ExitCode == 0, follow.Stderr);
        Assert.Contains("==> live", follow.Stdout);
        var logs = await PanelCli.RunAsync(["logs", id.ToString()], env: viaEnv);
        Assert.Equal(0, logs.ExitCode);
        Assert.Contains($"deployment {id} of {name} (manual by {PanelSetup.AdminEmail})", logs.Stdout);
        Assert.Equal("api", (string)(await api.GetAsync($"/api/deployments/{id}"))["requestedVia"]!);
        Assert.Equal("second", await env.ServedAsync(domain));

        // A deploy that fails while followed: non-zero, and stderr says where and why; the live app stays.
        repo.CommitDockerfile("FROM scratch\nRUN /bin/false\n", "broken");
        var failed = await PanelCli.RunAsync(["deploy", name, "-f"], env: viaEnv);
        Assert.Equal(1, failed.ExitCode);
        Assert.Matches(@"vpspanel: deployment \d+ ended failed at building", failed.Stderr);
        Assert.Equal("second", await env.ServedAsync(domain));
    }

    [Fact]
    public async Task Each_failure_exits_non_zero_with_a_message_on_stderr()
    {
        await using var panel = await PanelProcess.StartAsync();
        (await PanelSetup.SignedInAdminAsync(panel)).Dispose();
        using var api = await TestApi.ForUserAsync(panel, PanelSetup.AdminEmail);
        await api.CreateProjectAsync("known", "/srv/repos/nope.git", "known.test");
        var env = new Dictionary<string, string> { ["VPSPANEL_URL"] = panel.Url, ["VPSPANEL_TOKEN"] = api.Token };
        var noToken = new Dictionary<string, string> { ["VPSPANEL_URL"] = panel.Url };
        var deadPort = Paths.FreePort();

        (string[] Args, Dictionary<string, string> Env, int Code, string Message)[] cases =
        [
            (["deploy", "known"], noToken, 2, "no API token: pass --token or set VPSPANEL_TOKEN"),
            (["logs", "1"], noToken, 2, "no API token"),
            (["deploy", "known", "--url", $"http://127.0.0.1:{deadPort}"], env, 3, $"cannot reach the panel at http://127.0.0.1:{deadPort}"),
            (["logs", "1", "--url", $"http://127.0.0.1:{deadPort}"], env, 3, $"cannot reach the panel at http://127.0.0.1:{deadPort}"),
            (["deploy", "--url", "ftp://x", "known"], env, 2, "is not an http(s) URL"),
            (["deploy", "unknown"], env, 4, "The project \"unknown\" does not exist, or you do not have access to it."),
            (["deploy", "known", "--token", "vpp_forged"], env, 1, "The API token is not valid"),
            (["deploy", "known", "--commit", "HEAD"], env, 1, "commit: Enter the full 40-character commit SHA"),
            (["logs", "9999"], env, 4, "Deployment 9999 does not exist"),
            (["logs", "not-a-number"], env, 1, "not-a-number"),
            (["deploy"], env, 1, "Required argument missing"),
        ];
        foreach (var (args, e, code, message) in cases)
        {
            var r = await PanelCli.RunAsync(args, env: e);
            Assert.True(r.ExitCode == code && r.Stderr.Contains(message), $"{string.Join(' ', args)}: exit {r.ExitCode}, stderr: {r.Stderr}");
        }
        Assert.Empty(await api.DeploymentsAsync("known"));

        // projects list on a database written by a newer panel: refused, exit 3, the data dir untouched.
        var dir = Paths.NewTempDir();
        try
        {
            using (var c = Db.OpenFile(Path.Combine(dir, "vpspanel.db"))) c.Execute("PRAGMA user_version = 999;");
            var newer = await PanelCli.RunAsync(["projects", "list", "--data-dir", dir]);
            Assert.Equal(3, newer.ExitCode);
            Assert.Contains("schema version 999", newer.Stderr);
        }
        finally { Paths.DeleteQuietly(dir); }

        var fresh = Paths.NewTempDir();
        var empty = await PanelCli.RunAsync(["projects", "list", "--data-dir", fresh]);
        Paths.DeleteQuietly(fresh);
        Assert.Equal((0, "", "no projects yet"), (empty.ExitCode, empty.Stdout, empty.Stderr.Trim()));

        foreach (var help in new[] { new[] { "projects", "--help" }, ["projects", "list", "--help"], ["deploy", "--help"], ["logs", "--help"] })
        {
            var r = await PanelCli.RunAsync(help);
            Assert.Equal(0, r.ExitCode);
            Assert.Contains("Usage:", r.Stdout);
        }
    }
}
