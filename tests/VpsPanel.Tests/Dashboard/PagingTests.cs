using System.Net;
using Dapper;
using VpsPanel.Features.Data;
using VpsPanel.Tests.Harness;
using static VpsPanel.Tests.Api.TestApi;

namespace VpsPanel.Tests.Dashboard;

/// <summary>
/// The lists that grow with the panel are paged (issue 20: with 1,000 projects and 100,000 deployments each request
/// rendered all of them): the dashboard's projects, GET /api/projects and a project page's deployments.
/// </summary>
public sealed class PagingTests
{
    [Fact]
    public async Task Dashboard_api_and_project_page_show_one_bounded_page_with_totals_and_links_to_the_rest()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        long first;
        // History only, straight into the schema (nothing live, so nothing to route or reconcile): 120 projects, the
        // first with 60 deployments.
        using (var c = Db.OpenFile(Path.Combine(panel.DataDir, "vpspanel.db")))
        {
            c.Execute("""
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 120)
                INSERT INTO projects (name, slug, owner_id, git_url, branch, container_port, created_at, updated_at)
                SELECT printf('page-%03d', i), printf('page-%03d', i), (SELECT min(id) FROM users), 'https://git.example.invalid/p.git', 'main', 8080,
                       '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z' FROM n
                """);
            first = c.ExecuteScalar<long>("SELECT id FROM projects WHERE slug = 'page-001'");
            c.Execute("""
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60)
                INSERT INTO deployments (project_id, status, trigger, config_json, created_at, log_key)
                SELECT @first, 'retired', 'manual', '{}', '2026-01-01T00:00:00.000Z', lower(hex(randomblob(16))) FROM n
                """, new { first });
        }

        // Dashboard: 50 rows a page, the totals of all 120, and next/previous.
        var page1 = await admin.GetAsync("/");
        Assert.Equal(50, page1.Doc.QuerySelectorAll("#dashboard-projects tbody tr").Length);
        Assert.StartsWith("120 projects: 1 stopped, 119 never deployed; showing 1-50", page1.Text("#project-totals"));
        Assert.Equal("/?page=2#project-totals", page1.Doc.QuerySelector("#projects-pager a[rel=next]")!.GetAttribute("href"));
        Assert.Null(page1.Doc.QuerySelector("#projects-pager a[rel=prev]"));
        var page3 = await admin.GetAsync("/?page=3");
        Assert.Equal(20, page3.Doc.QuerySelectorAll("#dashboard-projects tbody tr").Length);
        Assert.Equal("page-120", page3.Doc.QuerySelectorAll("#dashboard-projects tbody tr").Last().GetAttribute("data-project"));
        Assert.NotNull(page3.Doc.QuerySelector("#projects-pager a[rel=prev]"));
        Assert.Null(page3.Doc.QuerySelector("#projects-pager a[rel=next]"));
        // A page past the end shows the last; a page that is not a number shows the first.
        Assert.Contains("Page 3 of 3", (await admin.GetAsync("/?page=99")).Text("#projects-pager"));
        Assert.Contains("Page 1 of 3", (await admin.GetAsync("/?page=abc")).Text("#projects-pager"));
        Assert.Contains("Page 1 of 3", (await admin.GetAsync("/?page=-4")).Text("#projects-pager"));

        // API: 100 by default, the total and the next page in headers; ?limit=&offset= for the rest; bad values are a 422.
        using var api = await ForUserAsync(panel, PanelSetup.AdminEmail);
        using (var res = await api.Http.GetAsync("/api/projects"))
        {
            Assert.Equal(HttpStatusCode.OK, res.StatusCode);
            Assert.Equal("120", res.Headers.GetValues("X-Total-Count").Single());
            Assert.Equal("</api/projects?limit=100&offset=100>; rel=\"next\"", res.Headers.GetValues("Link").Single());
            var all = System.Text.Json.Nodes.JsonNode.Parse(await res.Content.ReadAsStringAsync())!.AsArray();
            Assert.Equal(100, all.Count);
            Assert.Equal("page-001", (string)all[0]!["slug"]!);
        }
        using (var res = await api.Http.GetAsync("/api/projects?limit=50&offset=100"))
        {
            var rest = System.Text.Json.Nodes.JsonNode.Parse(await res.Content.ReadAsStringAsync())!.AsArray();
            Assert.Equal(Enumerable.Range(101, 20).Select(i => $"page-{i:000}"), rest.Select(p => (string)p!["slug"]!));
            Assert.False(res.Headers.Contains("Link"));
        }
        var badLimit = Problem(await api.SendAsync(HttpMethod.Get, "/api/projects?limit=0"), HttpStatusCode.UnprocessableEntity);
        Assert.Equal("limit must be a whole number from 1 to 500; got \"0\".", (string)badLimit["errors"]!["limit"]![0]!);
        var badOffset = Problem(await api.SendAsync(HttpMethod.Get, "/api/projects?offset=-1"), HttpStatusCode.UnprocessableEntity);
        Assert.Equal("offset must be a whole number, 0 or more; got \"-1\".", (string)badOffset["errors"]!["offset"]![0]!);

        // Project page: 25 deployments a page, newest first, "Older" to the next 25 and "Newest" back.
        var newest = await admin.GetAsync($"/projects/{first}");
        var ids = newest.Doc.QuerySelectorAll("#deployments tbody tr").Select(r => long.Parse(r.GetAttribute("data-deployment")!)).ToList();
        Assert.Equal(25, ids.Count);
        Assert.Equal(ids.OrderDescending(), ids);
        var older = newest.Doc.QuerySelector("#deployments-pager a[rel=next]")!.GetAttribute("href")!;
        Assert.Equal($"/projects/{first}?before={ids[^1]}#deployments", older);
        var second = await admin.GetAsync(older.Split('#')[0]);
        var ids2 = second.Doc.QuerySelectorAll("#deployments tbody tr").Select(r => long.Parse(r.GetAttribute("data-deployment")!)).ToList();
        Assert.Equal(25, ids2.Count);
        Assert.True(ids2[0] < ids[^1]);
        Assert.NotNull(second.Doc.QuerySelector("#deployments-pager a[rel=first]"));
        var third = await admin.GetAsync(second.Doc.QuerySelector("#deployments-pager a[rel=next]")!.GetAttribute("href")!.Split('#')[0]);
        Assert.Equal(10, third.Doc.QuerySelectorAll("#deployments tbody tr").Length);
        Assert.Null(third.Doc.QuerySelector("#deployments-pager a[rel=next]"));
    }
}
