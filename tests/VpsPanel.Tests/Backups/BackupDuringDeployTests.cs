using VpsPanel.Features.Docker;
using System.Diagnostics;
using VpsPanel.Features.Caddy;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Backups;

/// <summary>The issue's backup test proper: backups taken while deploys run, restored into fresh data dirs.</summary>
public sealed class BackupDuringDeployTests
{
    const string Token = "ghp-backup-test-token-7d31";

    [Fact]
    public async Task Backup_while_deploys_run_then_restore_gives_identical_projects_deployments_users_and_decryptable_secrets()
    {
        // The project's repository is private: only the encrypted token stored in the panel opens it. Its server is on
        // this machine, which the operator allows explicitly.
        await using var gitServer = await TestCaddy.StartAsync();
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string>
            { ["Backup__Schedule"] = "", ["Git__AllowedHosts"] = $"127.0.0.1:{gitServer.HttpPort}" });
        using var repo = TestRepo.WithBusyboxApp("backup v1", env.Label);
        TestRepo.Run(repo.Dir, "--git-dir", repo.Bare, "update-server-info");
        var psi = new ProcessStartInfo("caddy") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { "hash-password", "--plaintext", Token }) psi.ArgumentList.Add(a);
        using (var p = Process.Start(psi)!)
        {
            var hash = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            await File.WriteAllTextAsync(Path.Combine(gitServer.SitesDir, "git.caddy"),
                $"http://127.0.0.1 {{\n\tbasicauth {{\n\t\tx-access-token {hash}\n\t}}\n\troot * {repo.Dir}\n\tfile_server\n}}\n");
        }
        await new CaddyAdmin(gitServer.AdminAddress).LoadAsync(gitServer.MainCaddyfile, CancellationToken.None);
        var domain = $"{env.Name()}.test";
        var fields = DeployEnv.ProjectFields(env.Name(), $"http://127.0.0.1:{gitServer.HttpPort}/app.git", domain);
        fields["gitAuth"] = "token";
        fields["gitToken"] = Token;
        var project = await env.CreateProjectAsync(fields);
        await env.WaitForLiveAsync(await env.DeployAsync(project));

        // Deploys keep running (v2, v3, …) while backups are taken.
        var outDir = Paths.NewTempDir();
        var restoredDirs = new List<string>();
        try
        {
            var backups = new List<string>();
            for (var i = 2; i <= 3; i++)
            {
                repo.CommitApp($"backup v{i}", env.Label, $"v{i}");
                TestRepo.Run(repo.Dir, "--git-dir", repo.Bare, "update-server-info");
                var d = await env.DeployAsync(project);
                await env.WaitForStatusAsync(d, TimeSpan.FromSeconds(60), "cloning", "building", "starting", "health_checking", "switching", "live");
                var b = await PanelCli.RunAsync(["backup", outDir, "--data-dir", env.Panel.DataDir]);
                Assert.True(b.ExitCode == 0, b.Stderr);
                backups.Add(b.Stdout.Trim());
                await env.WaitForLiveAsync(d);
            }
            // Every mid-deploy backup restores to a sound database.
            foreach (var mid in backups)
            {
                var dir = Paths.NewTempDir("vpspanel-restored-");
                restoredDirs.Add(dir);
                var r = await PanelCli.RunAsync(["restore", mid, "--data-dir", dir]);
                Assert.True(r.ExitCode == 0, r.Stderr);
                Assert.Equal("ok", BackupRestoreTests.Scalar(dir, "PRAGMA integrity_check"));
                Assert.Equal("1", BackupRestoreTests.Scalar(dir, "SELECT count(*) FROM projects"));
            }

            // A final backup, restored: the same projects, deployments and users, row for row.
            var final = await PanelCli.RunAsync(["backup", outDir, "--data-dir", env.Panel.DataDir]);
            Assert.True(final.ExitCode == 0, final.Stderr);
            var restored = Paths.NewTempDir("vpspanel-restored-");
            restoredDirs.Add(restored);
            Assert.Equal(0, (await PanelCli.RunAsync(["restore", final.Stdout.Trim(), "--data-dir", restored])).ExitCode);
            Assert.Equal(BackupRestoreTests.Dump(env.Panel.DataDir), BackupRestoreTests.Dump(restored));
            Assert.Equal("3", BackupRestoreTests.Scalar(restored, "SELECT count(*) FROM deployments WHERE status IN ('live', 'retired')"));

            // The restored panel (the old one stopped, as on a move) decrypts the stored token: a new deploy of the
            // private repository goes live, and the old admin's sign-in still works.
            await env.Panel.StopAsync();
            await using var back = await PanelProcess.StartAsync(env.Settings, dataDir: restored);
            using var client = new PanelClient(back);
            Assert.Equal(System.Net.HttpStatusCode.SeeOther, (await client.LoginAsync(PanelSetup.AdminEmail, PanelSetup.AdminPassword)).Status);
            repo.CommitApp("backup v4 after restore", env.Label, "v4");
            TestRepo.Run(repo.Dir, "--git-dir", repo.Bare, "update-server-info");
            var deploy = await client.SubmitAsync($"/projects/{project}", new(), $"/projects/{project}?handler=Deploy");
            var id = long.Parse(deploy.Response.Headers.Location!.OriginalString.Split('/').Last());
            var deadline = DateTime.UtcNow.AddSeconds(120);
            string status;
            do
            {
                await Task.Delay(300);
                status = (await client.GetAsync($"/deployments/{id}")).Text("#deploy-status")!.Replace(' ', '_');
            } while (status is not ("live" or "failed" or "cancelled") && DateTime.UtcNow < deadline);
            Assert.True(status == "live", $"{status}: {await client.Http.GetStringAsync($"/deployments/{id}/log")}");
            Assert.Equal("backup v4 after restore", await env.ServedAsync(domain));
        }
        finally
        {
            Paths.DeleteQuietly(outDir);
            using var docker = TestDocker.Client();
            foreach (var c in await TestDocker.ContainersAsync(docker, "vpspanel.project"))
                if (restoredDirs.Any(d => c.Labels.TryGetValue("vpspanel.panel", out var p) && p == PanelIdOf(d)))
                    await docker.RemoveContainerIfExistsAsync(c.ID, CancellationToken.None);
            foreach (var d in restoredDirs) Paths.DeleteQuietly(d);
        }
    }

    /// <summary>A restored data dir keeps the panel id of its backup (Features/Docker/PanelIdentity).</summary>
    static string? PanelIdOf(string dataDir)
    {
        try { return Deployments.DeployEnv.ReadPanelId(dataDir); }
        catch (Exception) { return null; }
    }
}
