using System.Diagnostics;
using Dapper;
using VpsPanel.Features.Data;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Caddy;

/// <summary>
/// A deploy's switch changes one project's route, so it must cost one site file, one validation and one reload,
/// however many other sites are live (issue 12, finding 11: every change used to render and validate every site).
/// Real Caddy throughout; the panel talks to it through a counting proxy in front of the admin API.
/// </summary>
public sealed class SwitchOneSiteTests
{
    const int OtherSites = 20;

    [Fact]
    public async Task A_switch_validates_writes_and_loads_only_its_own_site_and_leaves_every_other_site_file_untouched()
    {
        var caddy = await TestCaddy.StartAsync();
        using var counter = new AdminApiCounter(caddy.AdminAddress);
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string> { ["Caddy__AdminAddress"] = counter.Address }, caddy);
        using var repo = TestRepo.WithBusyboxApp("<h1>v1</h1>", env.Label);
        var slug = env.Name("main");
        var projectId = await env.CreateProjectAsync(repo, slug + ".test", slug);
        await env.WaitForLiveAsync(await env.DeployAsync(projectId));

        // Twenty more live projects, all proxied to the main project's container (cheap: no more containers).
        SeedLiveProjects(env.Panel.DataDir, projectId, env.Name("s"));
        var loadsBefore = counter.Count("POST /load");
        await env.RestartHardAsync();
        // The startup reconcile renders every site and reloads once; wait for that reload to be answered.
        await WaitUntilAsync(() => counter.Count("POST /load") > loadsBefore && Directory.GetFiles(caddy.SitesDir, "*.caddy").Length == OtherSites + 1,
            "the startup reconcile to write every site file and reload Caddy", env);
        Assert.Equal("v1", await ServedAsync(caddy, env.Name("s") + "-7.test"));

        var ownFile = Path.Combine(caddy.SitesDir, slug + ".caddy");
        var others = Directory.GetFiles(caddy.SitesDir, "*.caddy").Where(f => f != ownFile).Order().ToList();
        Assert.Equal(OtherSites, others.Count);
        var before = others.ToDictionary(f => f, f => (Text: File.ReadAllBytes(f), Stat: Stat(f)));
        var ownBefore = (Text: File.ReadAllText(ownFile), Stat: Stat(ownFile));
        var adapts = counter.Count("POST /adapt");
        var loads = counter.Count("POST /load");

        repo.CommitApp("<h1>v2</h1>", env.Label, "v2");
        var redeploy = await env.DeployAsync(projectId);
        await env.WaitForLiveAsync(redeploy);

        // Exactly one validation (the switched site file) and one reload for the switch.
        Assert.Equal(1, counter.Count("POST /adapt") - adapts);
        Assert.Equal(1, counter.Count("POST /load") - loads);
        // Every other site file is the same file: same bytes, same inode, same modification time.
        foreach (var f in others)
        {
            Assert.Equal(before[f].Text, File.ReadAllBytes(f));
            Assert.Equal(before[f].Stat, Stat(f));
        }
        // The switched file was replaced (temp + rename: a new inode) and points at the new port.
        var ownAfter = (Text: File.ReadAllText(ownFile), Stat: Stat(ownFile));
        Assert.NotEqual(ownBefore.Text, ownAfter.Text);
        Assert.NotEqual(ownBefore.Stat, ownAfter.Stat);
        Assert.Empty(Directory.GetFiles(caddy.SitesDir, "*.tmp"));
        Assert.Equal("v2", await ServedAsync(caddy, slug + ".test"));
        Assert.Equal(OtherSites + 1, Directory.GetFiles(caddy.SitesDir, "*.caddy").Length);
    }

    /// <summary>Projects with a live deployment on the main project's port, written straight into the panel's database.</summary>
    static void SeedLiveProjects(string dataDir, long mainId, string prefix)
    {
        using var c = Db.OpenFile(Path.Combine(dataDir, "vpspanel.db"));
        using var tx = c.BeginTransaction();
        var port = c.ExecuteScalar<long>("SELECT host_port FROM deployments WHERE project_id = @mainId AND status = 'live'", new { mainId }, tx);
        for (var i = 1; i <= OtherSites; i++)
        {
            var slug = $"{prefix}-{i}";
            var id = c.ExecuteScalar<long>(
                """
                INSERT INTO projects (name, slug, owner_id, git_url, branch, container_port, created_at, updated_at)
                SELECT @slug, @slug, owner_id, git_url, branch, container_port, created_at, updated_at FROM projects WHERE id = @mainId
                RETURNING id
                """, new { slug, mainId }, tx);
            c.Execute("INSERT INTO project_domains (project_id, hostname, position) VALUES (@id, @host, 0)", new { id, host = slug + ".test" }, tx);
            c.Execute(
                """
                INSERT INTO deployments (project_id, status, trigger, config_json, host_port, created_at)
                SELECT @id, 'live', 'manual', config_json, host_port, created_at FROM deployments WHERE project_id = @mainId AND status = 'live'
                """, new { id, mainId }, tx);
        }
        tx.Commit();
        Assert.True(port > 0);
    }

    /// <summary>Inode and modification time (ns) as stat(1) reports them: a rewrite, even with the same text, changes one.</summary>
    static string Stat(string path)
    {
        var psi = new ProcessStartInfo("stat") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { "--format=%i %.9Y", path }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var text = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        return text;
    }

    static async Task<string> ServedAsync(TestCaddy caddy, string host)
    {
        using var res = await caddy.GetAsync(host);
        return (await res.Content.ReadAsStringAsync()).Replace("<h1>", "").Replace("</h1>", "").Trim();
    }

    static async Task WaitUntilAsync(Func<bool> done, string what, DeployEnv env)
    {
        for (var i = 0; i < 600 && !done(); i++) await Task.Delay(100);
        Assert.True(done(), $"timed out waiting for {what}. Panel:\n{env.Panel.Log}");
    }
}
