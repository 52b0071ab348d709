using System.Net;
using VpsPanel.Features.Settings;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Hygiene;

/// <summary>
/// A build is refused before it starts when the data dir has less free space than Disk:MinFreeMb: the data dir is a
/// real 48 MiB tmpfs mounted for this test (we run as root) and the threshold 40 MiB, so what the panel writes itself
/// leaves it below. Bad values of the disk settings stop startup with their reason.
/// </summary>
public sealed class DiskThresholdTests
{
    [Fact]
    public async Task A_build_is_refused_below_the_free_space_threshold_with_the_path_the_space_and_the_setting()
    {
        var parent = Paths.NewTempDir("vpspanel-tmpfs-");
        var dataDir = Path.Combine(parent, "data");
        Directory.CreateDirectory(dataDir);
        Cmd.Run("mount", "-t", "tmpfs", "-o", "size=48m,mode=0700", "vpspanel-test-disk", dataDir);
        try
        {
            // 48 MiB of tmpfs minus what the panel writes is below 40 MiB only once it has written 8 MiB; a filler file
            // makes that sure without depending on the database's size.
            File.WriteAllBytes(Path.Combine(dataDir, "filler"), new byte[12 * 1024 * 1024]);
            await using var env = await DeployEnv.StartAsync(new Dictionary<string, string> { ["Disk__MinFreeMb"] = "40" }, dataDir: dataDir);
            using var repo = TestRepo.WithBusyboxApp("v1", env.Label);
            var project = await env.CreateProjectAsync(repo, $"{env.Name()}.test");
            var id = await env.DeployAsync(project);
            Assert.Equal("failed", await env.WaitForEndAsync(id, TimeSpan.FromSeconds(60)));

            using var api = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);
            var d = await api.GetAsync($"/api/deployments/{id}");
            var error = (string)d["error"]!;
            Assert.Contains("not enough free disk space to build", error);
            Assert.Contains(env.Panel.DataDir, error);
            Assert.Contains("Disk:MinFreeMb (40 MiB)", error);
            Assert.Matches(@"has \d+(\.\d)? MiB free", error);
            var page = await env.Client.GetAsync($"/deployments/{id}");
            Assert.Contains("Disk:MinFreeMb", page.Text("#deploy-error"));
            // Refused before the clone: no commit was fetched, no image built.
            Assert.Null((string?)d["commitSha"]);
            using var docker = TestDocker.Client();
            Assert.Empty(await TestDocker.ImagesAsync(docker, env.PanelLabel));

            // The dashboard warns (below twice the threshold) for the data dir and not for Docker's root (a big disk here).
            var dash = await env.Client.GetAsync("/");
            Assert.Equal("check bad", dash.Doc.QuerySelector("[data-disk=data]")?.GetAttribute("class"));
            Assert.Contains("Builds refused", dash.Text("[data-disk=data] .badge"));
            Assert.NotNull(dash.Doc.QuerySelector("#disk-warning"));
            Assert.Equal("check ok", dash.Doc.QuerySelector("[data-disk=docker]")?.GetAttribute("class"));
            var disk = await api.GetAsync("/api/system/disk");
            Assert.True((bool)disk[0]!["low"]!);
        }
        finally
        {
            Unmount(dataDir);
            Paths.DeleteQuietly(parent);
        }
    }

    /// <summary>
    /// The panel's last children (a git of the clone, the process itself) may still be closing their files for a moment
    /// after it was stopped ("target is busy"): retried, then detached lazily, and never thrown from a finally, where it
    /// would hide the test's own failure.
    /// </summary>
    static void Unmount(string dir)
    {
        for (var i = 0; i < 20; i++)
        {
            try { Cmd.Run("umount", dir); return; }
            catch (InvalidOperationException) { Thread.Sleep(1000); }
        }
        try { Cmd.Run("umount", "-l", dir); } catch (InvalidOperationException) { }
    }

    [Theory]
    [InlineData("Disk__KeepImages", "-1")]
    [InlineData("Disk__KeepImages", "five")]
    [InlineData("Disk__MinFreeMb", "-5")]
    [InlineData("Disk__MinFreeMb", "1GB")]
    [InlineData("Disk__RetentionDays", "0")]
    [InlineData("Disk__CleanupSchedule", "daily")]
    public async Task A_bad_disk_setting_stops_startup_naming_the_key_and_what_is_allowed(string variable, string value)
    {
        var dataDir = Paths.NewTempDir();
        try
        {
            var r = await PanelCli.RunAsync(["--urls", $"http://127.0.0.1:{Paths.FreePort()}"], env: new Dictionary<string, string>
            {
                ["Panel__DataDir"] = dataDir,
                ["Docker__Socket"] = "/nonexistent/docker.sock",
                [variable] = value,
            });
            var key = variable.Replace("__", ":");
            Assert.True(r.ExitCode == ExitCodes.BadSetting, $"exit {r.ExitCode}: {r.Stderr}");
            Assert.Contains($"setting {key} = \"{value}\" is not valid: expected ", r.Stderr);
            Assert.Contains(key == "Disk:CleanupSchedule" ? "cron expression" : "a whole number", r.Stderr);
            Assert.DoesNotContain("   at ", r.Stderr);
            // Nothing was made: the panel stopped before touching the data dir.
            Assert.False(File.Exists(Path.Combine(dataDir, "vpspanel.db")));
        }
        finally { Paths.DeleteQuietly(dataDir); }
    }
}
