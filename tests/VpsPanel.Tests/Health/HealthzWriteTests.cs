using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Health;

public sealed class HealthzWriteTests
{
    static void Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({p.ExitCode}): {stderr} (this test mounts a tmpfs: it runs as root, as tests/run.sh does)");
    }

    /// <summary>Writes until the file system says it is full (ENOSPC), in big then small pieces, so not one page is left.</summary>
    static void Fill(string file)
    {
        using var f = new FileStream(file, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1);
        foreach (var size in new[] { 1 << 20, 4096, 1 })
        {
            var chunk = new byte[size];
            try { while (true) { f.Write(chunk); f.Flush(); } }
            catch (IOException) { }
        }
    }

    [Fact]
    public async Task On_a_full_disk_reads_still_work_but_healthz_says_the_database_is_down_with_503_and_recovers_when_space_is_freed()
    {
        // The data dir on its own small file system, filled underneath the running panel: every read still works
        // (the old check, PRAGMA user_version, said ok), while every save fails.
        var mount = Paths.NewTempDir("vpspanel-fulldisk-");
        Run("mount", "-t", "tmpfs", "-o", "size=48m,mode=0700", "tmpfs", mount);
        try
        {
            var filler = Path.Combine(mount, "filler");
            await using (var panel = await PanelProcess.StartAsync(dataDir: Path.Combine(mount, "data")))
            {
                using var admin = await PanelSetup.SignedInAdminAsync(panel);
                using var anonymous = new HttpClient { BaseAddress = new Uri(panel.Url) };
                async Task<(HttpStatusCode, JsonNode)> Health(HttpClient http)
                {
                    using var res = await http.GetAsync("/healthz");
                    return (res.StatusCode, JsonNode.Parse(await res.Content.ReadAsStringAsync())!);
                }

                var (status, before) = await Health(anonymous);
                Assert.Equal(HttpStatusCode.OK, status);
                Assert.True((bool)before["database"]!["ok"]!, before.ToJsonString());

                Fill(filler);
                var (full, down) = await Health(anonymous);
                Assert.True(full == HttpStatusCode.ServiceUnavailable, $"{(int)full}: {down.ToJsonString()}");
                Assert.Equal("down", (string?)down["status"]);
                Assert.False((bool)down["database"]!["ok"]!);
                // The admin sees why: SQLite's own error, and what to do. Reads work, so the session still does.
                var (_, detailed) = await Health(admin.Http);
                Assert.Contains("full", (string?)detailed["database"]!["detail"]);
                Assert.Contains("free space", (string?)detailed["database"]!["fix"]);

                File.Delete(filler);
                var (freed, back) = await Health(anonymous);
                Assert.Equal(HttpStatusCode.OK, freed);
                Assert.True((bool)back["database"]!["ok"]!, back.ToJsonString());
            }
        }
        finally
        {
            try { Run("umount", mount); } catch (InvalidOperationException) { Run("umount", "-l", mount); }
            Paths.DeleteQuietly(mount);
        }
    }
}
