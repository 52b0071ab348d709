using System.Net;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Deployments;

/// <summary>
/// Issue 11, findings 1, 2 and 12: committed symbolic links may not take the build context or the Dockerfile out of
/// the checkout; the CLI run beside a panel never removes the database's -wal/-shm; the data files are owner-only.
/// Real repositories with committed links, deployed through the real panel on the real engine.
/// </summary>
public sealed class SymlinkContextTests
{
    static void Link(string target, string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.CreateSymbolicLink(path, target);
    }

    static Dictionary<string, string> Fields(DeployEnv env, TestRepo repo, string suffix, string contextDir, string dockerfile)
    {
        var f = DeployEnv.ProjectFields(env.Name(suffix), repo.Bare, $"{env.Name(suffix)}.test", repo.Branch);
        f["contextDir"] = contextDir;
        f["dockerfilePath"] = dockerfile;
        return f;
    }

    [Fact]
    public async Task Committed_links_out_of_the_checkout_fail_the_deploy_with_a_clear_reason_and_nothing_outside_is_read_and_the_CLI_keeps_the_WAL()
    {
        await using var env = await DeployEnv.StartAsync();
        using var repo = TestRepo.WithBusyboxApp("v1", env.Label);
        var canary = "CANARY" + Guid.NewGuid().ToString("N");
        // A canary in the data dir (what ../.. from a build dir reaches) and a host directory with a Dockerfile that
        // would copy everything, reached by an absolute link.
        File.WriteAllText(Path.Combine(env.Panel.DataDir, "canary.txt"), canary + " in the data dir\n");
        var host = Paths.NewTempDir("vpspanel-canary-");
        try
        {
            File.WriteAllText(Path.Combine(host, "secret.txt"), canary + " first word of a host file\n");
            File.Copy(TestDocker.BusyboxPath, Path.Combine(host, "busybox"));
            File.WriteAllText(Path.Combine(host, "Dockerfile"),
                $"FROM scratch\nCOPY . /www\nCOPY busybox /bin/busybox\nLABEL {TestDocker.TestLabel}={env.Label}\nCMD [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n");
            // The first deployment of this fresh panel is number 1, so its checkout is <DataDir>/builds/1; with the
            // context at ../.. (the data dir) its own Dockerfile is at builds/1/Dockerfile inside that context.
            Link("../..", Path.Combine(repo.Work, "up"));
            Link(host, Path.Combine(repo.Work, "abs"));
            Link(host, Path.Combine(repo.Work, "docker"));
            repo.CommitAll("links out of the checkout");

            var cases = new (string Suffix, string Context, string Dockerfile, string Reason)[]
            {
                ("rel", "up", "up/builds/1/Dockerfile", "the build context directory \"up\" leads outside the repository"),
                ("abs", "abs", "abs/Dockerfile", "the build context directory \"abs\" leads outside the repository"),
                ("df", ".", "docker/secret.txt", "the Dockerfile \"docker/secret.txt\" leads outside the repository"),
            };
            var first = true;
            foreach (var (suffix, context, dockerfile, reason) in cases)
            {
                var project = await env.CreateProjectAsync(Fields(env, repo, suffix, context, dockerfile));
                var d = await env.DeployAsync(project);
                if (first) Assert.Equal(1, d);
                first = false;
                Assert.Equal("failed", await env.WaitForEndAsync(d));
                var error = (await env.Client.GetAsync($"/deployments/{d}")).Text("#deploy-error")!;
                Assert.Contains("Failed at building", error);
                Assert.Contains(reason, error);
                var log = await env.LogAsync(d);
                Assert.Contains(reason, log);
                Assert.DoesNotContain(canary, log);
                Assert.DoesNotContain(canary, error);
                Assert.DoesNotContain(canary, (await env.Client.GetAsync($"/deployments/{d}")).Html);

                // No image was built from it, so no image can carry the canary.
                using var docker = TestDocker.Client();
                Assert.Empty(await TestDocker.ImagesAsync(docker, env.PanelLabel, $"vpspanel.project={env.Name(suffix)}"));
            }
            Assert.DoesNotContain(canary, env.Panel.Log);

            // Finding 2: the admin's CLI beside the running panel leaves the live database's -wal and -shm in place,
            // and the panel keeps storing writes (read back after a restart).
            var db = Path.Combine(env.Panel.DataDir, "vpspanel.db");
            Assert.True(File.Exists(db + "-wal") && File.Exists(db + "-shm"), "the running panel has its WAL files");
            var list = await PanelCli.RunAsync(["user", "list", "--data-dir", env.Panel.DataDir]);
            Assert.True(list.ExitCode == 0, list.Stderr);
            Assert.Contains(PanelSetup.AdminEmail, list.Stdout);
            Assert.True(File.Exists(db + "-wal"), "vpspanel user list removed the running panel's -wal");
            Assert.True(File.Exists(db + "-shm"), "vpspanel user list removed the running panel's -shm");

            using var api = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);
            var created = await api.SendAsync(HttpMethod.Post, "/api/tokens", """{"name":"after-the-cli","expiresInDays":1}""");
            Assert.True(created.Status == HttpStatusCode.Created, $"{created.Status}: {created.Body}");
            Assert.Contains("after-the-cli", (await api.GetAsync("/api/tokens")).ToJsonString());
            Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(HttpMethod.Get, "/api/projects")).Status);
            await env.Panel.StopAsync();
            env.Panel = await PanelProcess.StartAsync(env.Settings, dataDir: env.Panel.DataDir, port: env.Panel.Port);
            Assert.Contains("after-the-cli", (await api.GetAsync("/api/tokens")).ToJsonString());
            Assert.Equal(3, (await api.GetAsync("/api/projects")).AsArray().Count);
        }
        finally
        {
            Paths.DeleteQuietly(host);
        }
    }

    [Fact]
    public async Task A_link_that_stays_inside_the_checkout_builds_as_docker_build_would_and_the_data_files_are_owner_only()
    {
        await using var env = await DeployEnv.StartAsync();
        using var repo = TestRepo.WithBusyboxApp("v1", env.Label);
        // The app moves to app/; the context is reached through the committed link ctx -> app, and the page has a
        // relative link inside the context, which the image keeps as a link (as docker build sends it).
        var app = Path.Combine(repo.Work, "app");
        TestDocker.WriteBusyboxApp(app, "inside v1", extraDockerfile: $"LABEL {TestDocker.TestLabel}={env.Label}");
        Link("index.html", Path.Combine(app, "www", "same.html"));
        Link("app", Path.Combine(repo.Work, "ctx"));
        repo.CommitAll("context through an inside link");
        var domain = $"{env.Name("app")}.test";
        var project = await env.CreateProjectAsync(Fields(env, repo, "app", "ctx", "ctx/Dockerfile"));
        var d = await env.DeployAsync(project);
        await env.WaitForLiveAsync(d);
        Assert.Equal("inside v1", await env.ServedAsync(domain));
        using (var res = await env.Caddy.GetAsync(domain, "/same.html"))
            Assert.Equal("inside v1", (await res.Content.ReadAsStringAsync()).Trim());

        // Finding 12: the database files 0600, the data directories 0700, a deployment's log 0600.
        const UnixFileMode file = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        const UnixFileMode dir = file | UnixFileMode.UserExecute;
        var data = env.Panel.DataDir;
        var log = Path.GetRelativePath(data, Assert.Single(Directory.GetFiles(Path.Combine(data, "logs"), $"{d}-*.log")));
        foreach (var name in new[] { "vpspanel.db", "vpspanel.db-wal", "vpspanel.db-shm", log })
            Assert.True(File.GetUnixFileMode(Path.Combine(data, name)) == file, $"{name} is {File.GetUnixFileMode(Path.Combine(data, name))}");
        foreach (var name in new[] { "logs", "repos", "ssh", "builds" })
            Assert.True(File.GetUnixFileMode(Path.Combine(data, name)) == dir, $"{name}/ is {File.GetUnixFileMode(Path.Combine(data, name))}");
    }
}
