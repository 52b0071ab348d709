using System.Net;
using System.Text.Json.Nodes;
using Dapper;
using VpsPanel.Features.Data;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Dashboard;

/// <summary>
/// The dashboard, the project page and GET /api/projects keep what they read until the data changes (Data/ReadCache,
/// issue 20 target 6). The one thing that must never happen: a page that shows the state before a change that was
/// already committed, whoever committed it (the panel's own handlers, its deploy worker, another process).
/// Every page is viewed twice before each change (so the old state is kept), then once after it.
/// </summary>
public sealed class PageCacheTests
{
    static async Task<string?> DashboardStatusAsync(PanelClient client, string slug) =>
        (await client.GetAsync("/")).Doc.QuerySelector($"#dashboard-projects tr[data-project='{slug}']")?.GetAttribute("data-status");

    static async Task<List<long>> HistoryAsync(PanelClient client, long project) =>
        (await client.GetAsync($"/projects/{project}")).Doc.QuerySelectorAll("#deployments tbody tr")
            .Select(r => long.Parse(r.GetAttribute("data-deployment")!)).ToList();

    static async Task<(int Total, JsonArray Projects)> ApiListAsync(TestApi api)
    {
        using var res = await api.Http.GetAsync("/api/projects");
        Assert.Equal(HttpStatusCode.OK, res.StatusCode);
        return (int.Parse(res.Headers.GetValues("X-Total-Count").Single()), JsonNode.Parse(await res.Content.ReadAsStringAsync())!.AsArray());
    }

    async Task ViewEveryPageTwiceAsync(DeployEnv env, TestApi api, long project)
    {
        for (var i = 0; i < 2; i++)
        {
            await env.Client.GetAsync("/");
            await env.Client.GetAsync($"/projects/{project}");
            await ApiListAsync(api);
        }
    }

    [Fact]
    public async Task A_page_viewed_after_a_stop_a_start_a_deploy_or_another_process_writing_shows_the_change()
    {
        await using var env = await DeployEnv.StartAsync();
        var (repo, project, _, live) = await env.DeployV1Async();
        using var _ = repo;
        var slug = env.Name();
        using var api = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);
        await ViewEveryPageTwiceAsync(env, api, project);
        Assert.Equal("live", await DashboardStatusAsync(env.Client, slug));

        // Stop through the API (the panel's own handler writes the run state): the next dashboard says stopped.
        Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(HttpMethod.Post, $"/api/projects/{slug}/stop")).Status);
        Assert.Equal("stopped", await DashboardStatusAsync(env.Client, slug));
        await ViewEveryPageTwiceAsync(env, api, project);
        Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(HttpMethod.Post, $"/api/projects/{slug}/start")).Status);
        Assert.Equal("live", await DashboardStatusAsync(env.Client, slug));

        // A deploy (the worker's connection writes each step): the new deployment on every page at once, then live.
        await ViewEveryPageTwiceAsync(env, api, project);
        var second = await env.DeployAsync(project);
        Assert.Equal(second, (await HistoryAsync(env.Client, project))[0]);
        // Its row in "Last deployments" (whether it is still building or live by now).
        Assert.NotNull((await env.Client.GetAsync("/")).Doc.QuerySelector($"#recent-deployments tr[data-deployment='{second}']"));
        Assert.Equal("live", await env.WaitForEndAsync(second));
        Assert.Equal("live", await DashboardStatusAsync(env.Client, slug));
        Assert.Equal([second, live], (await HistoryAsync(env.Client, project)).Take(2));
        Assert.Equal("live", (string?)(await ApiListAsync(api)).Projects.Single(p => (string)p!["slug"]! == slug)!["lastStatus"]);
        Assert.Equal("live", (await env.Client.GetAsync("/")).Doc.QuerySelector($"#recent-deployments tr[data-deployment='{second}']")?.GetAttribute("data-status"));

        // Another process (this test, as the CLI would) commits to the database file: a project with a failed
        // deployment, and an older deployment row of the deployed project.
        await ViewEveryPageTwiceAsync(env, api, project);
        var (totalBefore, _) = await ApiListAsync(api);
        long other, extra;
        using (var c = Db.OpenFile(Path.Combine(env.Panel.DataDir, "vpspanel.db")))
        {
            other = c.ExecuteScalar<long>("""
                INSERT INTO projects (name, slug, owner_id, git_url, branch, container_port, created_at, updated_at)
                VALUES ('zz-other-process', 'zz-other-process', (SELECT min(id) FROM users), 'https://git.example.invalid/p.git', 'main', 8080,
                        '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z') RETURNING id
                """);
            c.Execute("""
                INSERT INTO deployments (project_id, status, trigger, config_json, created_at, failed_step, error, log_key)
                VALUES (@other, 'failed', 'manual', '{}', '2026-01-01T00:00:00.000Z', 'building', 'written by another process', lower(hex(randomblob(16))))
                """, new { other });
            extra = c.ExecuteScalar<long>("""
                INSERT INTO deployments (project_id, status, trigger, config_json, created_at, log_key)
                VALUES (@project, 'superseded', 'manual', '{}', '2026-01-01T00:00:00.000Z', lower(hex(randomblob(16)))) RETURNING id
                """, new { project });
        }
        Assert.Equal("failed", await DashboardStatusAsync(env.Client, "zz-other-process"));
        var (totalAfter, list) = await ApiListAsync(api);
        Assert.Equal(totalBefore + 1, totalAfter);
        Assert.Equal("failed", (string?)list.Single(p => (string)p!["slug"]! == "zz-other-process")!["lastStatus"]);
        Assert.Equal(extra, (await HistoryAsync(env.Client, project))[0]);
        Assert.Equal(HttpStatusCode.OK, (await env.Client.GetAsync($"/projects/{other}")).Status);

        // And gone again when that process deletes it: the cached 200 of its page is not kept either.
        using (var c = Db.OpenFile(Path.Combine(env.Panel.DataDir, "vpspanel.db")))
            c.Execute("DELETE FROM deployments WHERE project_id = @other; DELETE FROM projects WHERE id = @other", new { other });
        Assert.Null(await DashboardStatusAsync(env.Client, "zz-other-process"));
        Assert.Equal(totalBefore, (await ApiListAsync(api)).Total);
        Assert.Equal(HttpStatusCode.NotFound, (await env.Client.GetAsync($"/projects/{other}")).Status);
    }
    static List<string> DashboardSlugs(Page page) =>
        page.Doc.QuerySelectorAll("#dashboard-projects tbody tr").Select(r => r.GetAttribute("data-project")!).ToList();

    /// <summary>
    /// The dashboard keeps the HTML of its project tables with the data it read (one per user, role and page number):
    /// a member never gets the admin's kept tables nor another page's, and every kept table is dropped at the next
    /// commit, whichever process made it.
    /// </summary>
    [Fact]
    public async Task The_kept_project_tables_are_per_user_and_page_and_follow_a_commit_of_another_process()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        Assert.Equal(HttpStatusCode.SeeOther, (await admin.SubmitAsync("/users/new",
            new Dictionary<string, string> { ["email"] = "member@example.com", ["password"] = "member password 123", ["role"] = "member" })).Status);
        using var member = new PanelClient(panel);
        Assert.Equal(HttpStatusCode.SeeOther, (await member.LoginAsync("member@example.com", "member password 123")).Status);
        var dbPath = Path.Combine(panel.DataDir, "vpspanel.db");
        long mine;
        using (var c = Db.OpenFile(dbPath))
        {
            // 60 projects of the admin (two pages) and one of the member.
            c.Execute("""
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60)
                INSERT INTO projects (name, slug, owner_id, git_url, branch, container_port, created_at, updated_at)
                SELECT printf('adm-%02d', i), printf('adm-%02d', i), (SELECT id FROM users WHERE email = 'admin@example.com'),
                       'https://git.example.invalid/p.git', 'main', 8080, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z' FROM n
                """);
            mine = c.ExecuteScalar<long>("""
                INSERT INTO projects (name, slug, owner_id, git_url, branch, container_port, created_at, updated_at)
                VALUES ('mem-1', 'mem-1', (SELECT id FROM users WHERE email = 'member@example.com'), 'https://git.example.invalid/p.git', 'main', 8080,
                        '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z') RETURNING id
                """);
        }

        // Each view twice, interleaved, so that each one's tables are kept before the others are asked for.
        List<string> adminPage1 = [], adminPage2 = [], memberPage = [];
        for (var i = 0; i < 2; i++)
        {
            adminPage1 = DashboardSlugs(await admin.GetAsync("/"));
            memberPage = DashboardSlugs(await member.GetAsync("/"));
            adminPage2 = DashboardSlugs(await admin.GetAsync("/?page=2"));
        }
        Assert.Equal(["mem-1"], memberPage);
        Assert.Equal("1 project: 1 never deployed.", (await member.GetAsync("/")).Text("#project-totals"));
        Assert.Equal(50, adminPage1.Count);
        Assert.Equal(11, adminPage2.Count);
        Assert.Empty(adminPage1.Intersect(adminPage2));
        Assert.Equal(61, adminPage1.Concat(adminPage2).Distinct().Count());
        Assert.Contains("mem-1", adminPage1.Concat(adminPage2));

        // Another process fails the member's project and adds a project of the admin: failures first, on both views.
        using (var c = Db.OpenFile(dbPath))
        {
            c.Execute("""
                INSERT INTO deployments (project_id, status, trigger, config_json, created_at, failed_step, error, log_key)
                VALUES (@mine, 'failed', 'manual', '{}', '2026-01-01T00:00:00.000Z', 'building', 'failed in another process', lower(hex(randomblob(16))))
                """, new { mine });
            c.Execute("""
                INSERT INTO projects (name, slug, owner_id, git_url, branch, container_port, created_at, updated_at)
                VALUES ('adm-61', 'adm-61', (SELECT id FROM users WHERE email = 'admin@example.com'), 'https://git.example.invalid/p.git', 'main', 8080,
                        '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')
                """);
        }
        var memberAfter = await member.GetAsync("/");
        Assert.Equal(["mem-1"], DashboardSlugs(memberAfter));
        Assert.Equal("failed", memberAfter.Doc.QuerySelector("#dashboard-projects tr[data-project='mem-1']")!.GetAttribute("data-status"));
        Assert.Contains("failed in another process", memberAfter.Text("#dashboard-projects tr[data-project='mem-1']"));
        var adminAfter = DashboardSlugs(await admin.GetAsync("/"));
        Assert.Equal("mem-1", adminAfter[0]);
        Assert.Equal(12, DashboardSlugs(await admin.GetAsync("/?page=2")).Count);
        Assert.Contains("62 projects", (await admin.GetAsync("/")).Text("#project-totals"));
    }

    /// <summary>
    /// The dashboard sends a page kept from an earlier view of the same page, user and antiforgery cookie
    /// (Dashboard/IndexModel.KeepsWholePage). What must hold: a kept page's token works for its own session and no
    /// other, another session gets its own page, a kept page is never cacheable by the browser, and a commit shows.
    /// </summary>
    [Fact]
    public async Task A_kept_dashboard_carries_its_own_sessions_token_is_not_cacheable_and_shows_the_next_commit()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var a = await PanelSetup.SignedInAdminAsync(panel);
        using var b = new PanelClient(panel);
        Assert.Equal(HttpStatusCode.SeeOther, (await b.LoginAsync(PanelSetup.AdminEmail, PanelSetup.AdminPassword)).Status);

        // Views in a row: at least two consecutive ones are the same bytes (a render makes a new token each time, so
        // only a kept page repeats one), and every one says no-store.
        var views = new List<Page>();
        for (var i = 0; i < 6; i++) views.Add(await a.GetAsync("/"));
        Assert.All(views, v =>
        {
            Assert.Equal(HttpStatusCode.OK, v.Status);
            Assert.Contains("no-store", v.Response.Headers.CacheControl?.ToString() ?? "");
            Assert.Equal("text/html; charset=utf-8", v.Response.Content.Headers.ContentType?.ToString());
            Assert.Equal("Dashboard", v.Text("h1"));
        });
        Assert.Contains(views.Zip(views.Skip(1)), p => p.First.Html == p.Second.Html);

        // The other session's page has its own token; each token is accepted with its own cookie and refused with the other's.
        var tokenA = PanelClient.AntiforgeryToken(views[^1])!;
        var pageB = await b.GetAsync("/");
        var tokenB = PanelClient.AntiforgeryToken(pageB)!;
        Assert.NotEqual(tokenA, tokenB);
        var wrong = await a.Http.PostAsync("/projects/new", new FormUrlEncodedContent(
            new Dictionary<string, string>(DeployEnv.ProjectFields("crossed", "/srv/repos/app.git", "crossed.test")) { ["__RequestVerificationToken"] = tokenB }));
        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        var created = await b.Http.PostAsync("/projects/new", new FormUrlEncodedContent(
            new Dictionary<string, string>(DeployEnv.ProjectFields("kept-b", "/srv/repos/app.git", "kept-b.test")) { ["__RequestVerificationToken"] = tokenB }));
        Assert.Equal(HttpStatusCode.SeeOther, created.StatusCode);

        // That commit is on the next view of the session whose page was kept.
        var after = await a.GetAsync("/");
        Assert.NotNull(after.Doc.QuerySelector("#dashboard-projects tr[data-project='kept-b']"));
        Assert.Null(after.Doc.QuerySelector("#dashboard-projects tr[data-project='crossed']"));
        var createdA = await a.Http.PostAsync("/projects/new", new FormUrlEncodedContent(
            new Dictionary<string, string>(DeployEnv.ProjectFields("kept-a", "/srv/repos/app.git", "kept-a.test")) { ["__RequestVerificationToken"] = tokenA }));
        Assert.Equal(HttpStatusCode.SeeOther, createdA.StatusCode);
        Assert.NotNull((await b.GetAsync("/")).Doc.QuerySelector("#dashboard-projects tr[data-project='kept-a']"));

        // The project page the same way: repeated bytes (kept), never cacheable, each session its own token.
        long projectId;
        using (var c = Db.OpenFile(Path.Combine(panel.DataDir, "vpspanel.db")))
            projectId = c.ExecuteScalar<long>("SELECT id FROM projects WHERE slug = 'kept-a'");
        var projectViews = new List<Page>();
        for (var i = 0; i < 4; i++) projectViews.Add(await a.GetAsync($"/projects/{projectId}"));
        Assert.All(projectViews, v =>
        {
            Assert.Equal(HttpStatusCode.OK, v.Status);
            Assert.Contains("no-store", v.Response.Headers.CacheControl?.ToString() ?? "");
            Assert.NotNull(v.Doc.QuerySelector("#replicas"));
        });
        Assert.Contains(projectViews.Zip(projectViews.Skip(1)), p => p.First.Html == p.Second.Html);
        var projectB = await b.GetAsync($"/projects/{projectId}");
        Assert.NotEqual(PanelClient.AntiforgeryToken(projectViews[^1]), PanelClient.AntiforgeryToken(projectB));
        // ?saved shows its notice on a kept page too, and the plain view after it does not.
        Assert.Contains("Saved. The changes apply", (await a.GetAsync($"/projects/{projectId}?saved")).Html);
        Assert.DoesNotContain("Saved. The changes apply", (await a.GetAsync($"/projects/{projectId}")).Html);
    }

    /// <summary>
    /// The project page reads the sections of other features (linked services, replicas, notifications, the running
    /// app's events) with the rest of its data: a change to any of them, committed by another process, is on the next view.
    /// </summary>
    [Fact]
    public async Task The_project_pages_sections_show_a_commit_of_another_process_at_the_next_view()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        var dbPath = Path.Combine(panel.DataDir, "vpspanel.db");
        long project;
        using (var c = Db.OpenFile(dbPath))
            project = c.ExecuteScalar<long>("""
                INSERT INTO projects (name, slug, owner_id, git_url, branch, container_port, created_at, updated_at)
                VALUES ('sections', 'sections', (SELECT min(id) FROM users), 'https://git.example.invalid/p.git', 'main', 8080,
                        '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z') RETURNING id
                """);
        Page page = null!;
        for (var i = 0; i < 2; i++) page = await admin.GetAsync($"/projects/{project}");
        Assert.Null(page.Doc.QuerySelector("#linked-services"));
        Assert.StartsWith("1 replica wanted", page.Text("#replica-count"));
        Assert.DoesNotContain("written by another process", page.Text("#running"));

        using (var c = Db.OpenFile(dbPath))
        {
            c.Execute("UPDATE projects SET replicas = 3 WHERE id = @project", new { project });
            c.Execute("""
                INSERT INTO project_events (project_id, at, kind, message, actor)
                VALUES (@project, '2026-01-01T00:00:00.000Z', 'restart', 'an event written by another process', 'cli')
                """, new { project });
        }
        page = await admin.GetAsync($"/projects/{project}");
        Assert.StartsWith("3 replicas wanted", page.Text("#replica-count"));
        Assert.Contains("an event written by another process", page.Text("#running"));
    }
}
