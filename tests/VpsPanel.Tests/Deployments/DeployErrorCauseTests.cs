using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Deployments;

/// <summary>
/// Failures whose first cause used to be hidden: a Docker engine dying mid-build ("The response ended prematurely"),
/// and a disk filled by the checkout (ended as "SQLite Error 13: database or disk is full").
/// </summary>
public sealed class DeployErrorCauseTests
{
    [Fact]
    public async Task Dockerd_killed_mid_build_fails_the_deploy_saying_the_connection_to_Docker_was_lost()
    {
        // Our own engine: this test kills it. The system dockerd is never touched.
        await using var engine = await SecondDockerd.StartAsync();
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string> { ["Docker__Socket"] = engine.Socket });
        using var repo = TestRepo.WithBusyboxApp("v1", env.Label, extraDockerfile: "RUN [\"/bin/busybox\", \"sleep\", \"25\"]");
        var project = await env.CreateProjectAsync(repo, $"{env.Name()}.test");
        var d = await env.DeployAsync(project);

        // Kill the engine while the RUN step runs (its line is in the log once the engine started it).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (!(await env.LogAsync(d)).Contains("sleep", StringComparison.Ordinal) && DateTime.UtcNow < deadline) await Task.Delay(200);
        Assert.Contains("sleep", await env.LogAsync(d));
        engine.KillHard();

        Assert.Equal("failed", await env.WaitForEndAsync(d));
        var error = (await env.Client.GetAsync($"/deployments/{d}")).Text("#deploy-error")!;
        Assert.Contains($"Failed at building: lost the connection to Docker ({engine.Socket}) during the building step", error);
        Assert.Contains("the Docker engine stopped or restarted", error);
        Assert.Contains("lost the connection to Docker", await env.LogAsync(d));
        // The panel itself goes on serving.
        Assert.Equal("failed", await env.StatusAsync(d));
    }

    [Fact]
    public async Task A_disk_filled_by_the_checkout_reports_the_checkouts_error_the_disk_and_its_free_space_and_loses_nothing()
    {
        // The data dir on a small tmpfs of its own: the mirror fits, a second copy of the big file (the checkout) does not.
        var mount = Paths.NewTempDir("vpspanel-full-");
        Cmd.Run("mount", "-t", "tmpfs", "-o", "size=40m,mode=0700", "vpspanel-test-full", mount);
        try
        {
            // Disk:MinFreeMb off: the check before a build (Hygiene/DiskGuard) would refuse every deploy on 40 MiB, and
            // this is about a disk that fills during the build, which that check cannot foresee.
            await using (var env = await DeployEnv.StartAsync(new Dictionary<string, string> { ["Disk__MinFreeMb"] = "0" }, dataDir: mount))
            {
                using var repo = TestRepo.WithBusyboxApp("v1", env.Label);
                var domain = $"{env.Name()}.test";
                var project = await env.CreateProjectAsync(repo, domain);
                var first = await env.DeployAsync(project);
                await env.WaitForLiveAsync(first);

                // 20 MiB that git cannot compress: ~20 MiB in the mirror, and the checkout needs as much again.
                var big = new byte[20 * 1024 * 1024];
                Random.Shared.NextBytes(big);
                await File.WriteAllBytesAsync(Path.Combine(repo.Work, "big.bin"), big);
                repo.CommitAll("a big file");
                var d = await env.DeployAsync(project);
                Assert.Equal("failed", await env.WaitForEndAsync(d));

                var error = (await env.Client.GetAsync($"/deployments/{d}")).Text("#deploy-error")!;
                Assert.Contains("Failed at cloning: git checkout of", error);
                Assert.Contains($"no space left on {Path.Combine(mount, "builds")}", error);
                Assert.Contains($"the disk mounted at {mount}, tmpfs", error);
                Assert.Matches(@": \d+(\.\d)? (B|KiB|MiB) of 40 MiB free", error);
                Assert.DoesNotContain("SQLite", error);
                // The checkout is gone (the space is back), the row, the project and v1 are as they were.
                Assert.False(Directory.Exists(Path.Combine(mount, "builds", d.ToString())));
                Assert.Equal("v1", await env.ServedAsync(domain));
                Assert.Equal("live", await env.StatusAsync(first));
                using var health = await env.Client.Http.GetAsync("/healthz");
                Assert.True(health.IsSuccessStatusCode, $"/healthz answered {(int)health.StatusCode}");
            }
        }
        finally
        {
            // The stopped panel's last file handles can outlive it by a moment; then a lazy unmount.
            for (var i = 0; ; i++)
            {
                try { Cmd.Run("umount", mount); break; }
                catch (InvalidOperationException) when (i < 10) { await Task.Delay(1000); }
                catch (InvalidOperationException) { Cmd.Run("umount", "-l", mount); break; }
            }
            Paths.DeleteQuietly(mount);
        }
    }
}
