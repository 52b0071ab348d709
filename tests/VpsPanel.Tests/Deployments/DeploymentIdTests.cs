using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Deployments;

/// <summary>
/// Issue 12, finding 4: deployment ids were reused (after deleting a project, and after restoring an older backup)
/// and logs/&lt;id&gt;.log was appended to, so one project's deployment showed another project's old log.
/// The deploys here fail at cloning (their repository does not exist): that is quick, needs no build, and each log
/// names its own project's repository in its "$ git fetch" line, which is what tells the logs apart.
/// </summary>
public sealed class DeploymentIdTests
{
    [Fact]
    public async Task Delete_a_project_and_create_another_then_restore_an_older_backup_and_no_deployment_shows_anothers_log()
    {
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string> { ["Backup__Schedule"] = "" });
        var repos = Paths.NewTempDir("vpspanel-ids-");
        var backups = Paths.NewTempDir("vpspanel-ids-backup-");
        try
        {
            string Repo(string p) => Path.Combine(repos, p, "app.git");
            async Task<long> FailedDeployAsync(long project)
            {
                var d = await env.DeployAsync(project);
                Assert.Equal("failed", await env.WaitForEndAsync(d));
                return d;
            }
            async Task<long> ProjectAsync(string p) =>
                await env.CreateProjectAsync(DeployEnv.ProjectFields(env.Name(p), Repo(p), $"{env.Name(p)}.test"));

            var a = await ProjectAsync("a");
            var a1 = await FailedDeployAsync(a);
            Assert.Contains(Repo("a"), await env.LogAsync(a1));

            // The backup the panel is later put back to: it knows project a and deployment a1 only.
            var backup = await PanelCli.RunAsync(["backup", backups, "--data-dir", env.Panel.DataDir]);
            Assert.True(backup.ExitCode == 0, backup.Stderr);

            var b = await ProjectAsync("b");
            var b1 = await FailedDeployAsync(b);
            var b2 = await FailedDeployAsync(b);
            Assert.Contains(Repo("b"), await env.LogAsync(b2));
            var logsDir = Path.Combine(env.Panel.DataDir, "logs");
            var deleted = await env.Client.SubmitAsync($"/projects/{b}/edit", new() { ["confirm"] = env.Name("b") }, $"/projects/{b}/edit?handler=Delete");
            Assert.True(deleted.Status is System.Net.HttpStatusCode.Redirect or System.Net.HttpStatusCode.SeeOther, deleted.Html);
            // Its logs went with it: no file under logs/ holds a line of project b any more.
            Assert.DoesNotContain(Directory.GetFiles(logsDir), f => File.ReadAllText(f).Contains(Repo("b")));

            // A new project after the delete: its deployments get new ids, and only their own log.
            var c = await ProjectAsync("c");
            var c1 = await FailedDeployAsync(c);
            Assert.True(c1 > b2, $"deployment {c1} reuses an id of the deleted project's deployments ({b1}, {b2})");
            var c1Log = await env.LogAsync(c1);
            Assert.Contains(Repo("c"), c1Log);
            Assert.DoesNotContain(Repo("b"), c1Log);
            Assert.Equal(404, (int)(await env.Client.Http.GetAsync($"/deployments/{b2}/log")).StatusCode);

            // Put the older backup back. Its database hands out the ids used since (b1, b2, c1) again, while their
            // log files (c1's) are still in logs/: restore does not touch logs/.
            await env.Panel.StopAsync();
            var restore = await PanelCli.RunAsync(["restore", backup.Stdout.Trim(), "--data-dir", env.Panel.DataDir]);
            Assert.True(restore.ExitCode == 0, restore.Stderr);
            env.Panel = await PanelProcess.StartAsync(env.Settings, dataDir: env.Panel.DataDir, port: env.Panel.Port);

            var again = new List<long>();
            for (var i = 0; i < 3; i++) again.Add(await FailedDeployAsync(a));
            // The ids do repeat (which is why the log name must not be the id alone) …
            Assert.Contains(c1, again);
            foreach (var d in again)
            {
                var log = await env.LogAsync(d);
                Assert.Contains(Repo("a"), log);
                Assert.DoesNotContain(Repo("b"), log);
                Assert.DoesNotContain(Repo("c"), log);
                // … and each log is its own: one fetch line, one outcome.
                Assert.Single(log.Split('\n'), l => l.Contains("$ git fetch"));
            }
            Assert.Contains(Repo("a"), await env.LogAsync(a1));
        }
        finally
        {
            Paths.DeleteQuietly(repos);
            Paths.DeleteQuietly(backups);
        }
    }
}
