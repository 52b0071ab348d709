using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using AngleSharp.Html.Parser;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Domains;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Shared;

/// <summary>
/// One panel with something on every page: an admin, a member, a project (a real local repository) and a deployment
/// (it fails at building: this panel's Docker socket does not exist, so nothing is built or started).
/// </summary>
public sealed class SurfaceWorld : IAsyncLifetime
{
    public const string MemberEmail = "member@example.com";
    public const string MemberPassword = "member password 123";
    public PanelProcess Panel { get; private set; } = null!;
    public PanelClient Admin { get; private set; } = null!;
    public PanelClient Member { get; private set; } = null!;
    public TestRepo Repo { get; private set; } = null!;
    public long ProjectId { get; private set; }
    public string Slug => "surface-app";
    public long DeploymentId { get; private set; }

    public async Task InitializeAsync()
    {
        Panel = await PanelProcess.StartAsync(new Dictionary<string, string> { ["Docker__Socket"] = "/run/vpspanel-test-no-docker/docker.sock" });
        Admin = await PanelSetup.SignedInAdminAsync(Panel);
        Repo = TestRepo.WithBusyboxApp("surface", "surface");
        var created = await Admin.SubmitAsync("/projects/new", DeployEnv.ProjectFields(Slug, Repo.Bare, "surface-app.test"));
        Assert.Equal(HttpStatusCode.SeeOther, created.Status);
        ProjectId = long.Parse(created.Response.Headers.Location!.OriginalString.Split('/').Last());
        var deployed = await Admin.SubmitAsync($"/projects/{ProjectId}", [], $"/projects/{ProjectId}?handler=Deploy");
        Assert.Equal(HttpStatusCode.SeeOther, deployed.Status);
        DeploymentId = long.Parse(deployed.Response.Headers.Location!.OriginalString.Split('/').Last());
        Assert.Equal(0, (await PanelCli.RunAsync(["user", "add", "--email", MemberEmail, "--data-dir", Panel.DataDir], MemberPassword + "\n")).ExitCode);
        Member = new PanelClient(Panel);
        Assert.Equal(HttpStatusCode.SeeOther, (await Member.LoginAsync(MemberEmail, MemberPassword)).Status);
    }

    public async Task DisposeAsync()
    {
        Admin.Dispose();
        Member.Dispose();
        Repo.Dispose();
        await Panel.DisposeAsync();
    }
}

/// <summary>
/// The panel's whole web surface, walked link by link as each kind of visitor: the security headers on every
/// response, no markup the Content-Security-Policy would block, no 500 for a method a page has no handler for, and no
/// address taken from the Host header.
/// </summary>
public sealed class WebSurfaceTests(SurfaceWorld world) : IClassFixture<SurfaceWorld>
{
    const string Csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
                       "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'";

    static readonly HtmlParser Parser = new();

    public sealed record Visit(string Path, HttpStatusCode Status, string? MediaType, HttpResponseHeaders Headers, string Body);

    /// <summary>
    /// GETs the start paths, then every same-origin link (a[href]) the HTML answers contain, breadth first, once each.
    /// /logout is left out (it would end the session the walk uses).
    /// </summary>
    public static async Task<List<Visit>> WalkAsync(HttpClient http, IEnumerable<string> start, int max = 100)
    {
        var queue = new Queue<string>(start);
        var seen = new HashSet<string>(queue);
        var visits = new List<Visit>();
        while (queue.Count > 0 && visits.Count < max)
        {
            var path = queue.Dequeue();
            using var res = await http.GetAsync(path);
            var body = await res.Content.ReadAsStringAsync();
            var type = res.Content.Headers.ContentType?.MediaType;
            visits.Add(new Visit(path, res.StatusCode, type, res.Headers, body));
            var links = type == "text/html" ? Parser.ParseDocument(body).QuerySelectorAll("a[href]").Select(a => a.GetAttribute("href")!) : [];
            if (res.Headers.Location is { } location) links = links.Append(location.OriginalString);
            foreach (var link in links)
            {
                var target = link.Split('#')[0];
                if (!target.StartsWith('/') || target.StartsWith("//") || target.StartsWith("/logout") || !seen.Add(target)) continue;
                queue.Enqueue(target);
            }
        }
        return visits;
    }

    static void AssertSecurityHeaders(Visit v, bool hsts = false)
    {
        string? One(string name) => v.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;
        Assert.True(Csp == One("Content-Security-Policy"), $"{v.Path} ({(int)v.Status}): Content-Security-Policy is {One("Content-Security-Policy") ?? "missing"}");
        Assert.True("DENY" == One("X-Frame-Options"), $"{v.Path}: X-Frame-Options is {One("X-Frame-Options") ?? "missing"}");
        Assert.True("nosniff" == One("X-Content-Type-Options"), $"{v.Path}: X-Content-Type-Options is {One("X-Content-Type-Options") ?? "missing"}");
        Assert.True("same-origin" == One("Referrer-Policy"), $"{v.Path}: Referrer-Policy is {One("Referrer-Policy") ?? "missing"}");
        Assert.True(hsts == (One("Strict-Transport-Security") is not null), $"{v.Path}: Strict-Transport-Security is {One("Strict-Transport-Security") ?? "missing"}");
    }

    /// <summary>What the CSP would refuse to run or apply: inline scripts, event-handler attributes (on*, hx-on), style attributes.</summary>
    static void AssertNothingInline(Visit v)
    {
        if (v.MediaType != "text/html") return;
        var doc = Parser.ParseDocument(v.Body);
        foreach (var script in doc.QuerySelectorAll("script"))
            Assert.True(script.HasAttribute("src"), $"{v.Path}: an inline <script>: {script.OuterHtml}");
        Assert.Empty(doc.QuerySelectorAll("style"));
        foreach (var e in doc.All)
            foreach (var a in e.Attributes)
                Assert.False(a.Name.StartsWith("on") || a.Name.StartsWith("hx-on") || a.Name == "style" || a.Value.TrimStart().StartsWith("javascript:", StringComparison.OrdinalIgnoreCase),
                    $"{v.Path}: <{e.LocalName} {a.Name}=\"{a.Value}\"> needs inline script or style, which the CSP blocks");
    }

    [Fact]
    public async Task Every_page_as_admin_member_and_anonymous_carries_the_security_headers_needs_no_inline_script_or_style_and_no_HSTS_over_HTTP()
    {
        var p = world.ProjectId;
        var admin = await WalkAsync(world.Admin.Http, ["/"]);
        // The walk reached every kind of page by following links, as a person clicking around would.
        var reached = admin.Select(v => v.Path).ToHashSet();
        foreach (var page in new[] { "/", "/projects", "/projects/new", $"/projects/{p}", $"/projects/{p}/edit", $"/projects/{p}/variables", $"/projects/{p}/domains",
                     $"/deployments/{world.DeploymentId}", "/variables", "/settings", "/users", "/users/new", "/tokens", "/account" })
            Assert.True(reached.Contains(page), $"the walk did not reach {page}; it reached {string.Join(" ", reached.Order())}");
        Assert.All(admin, v => Assert.True(v.Status == HttpStatusCode.OK, $"{v.Path} answered {(int)v.Status}"));

        var member = await WalkAsync(world.Member.Http, ["/", "/users", "/settings", $"/projects/{p}", $"/deployments/{world.DeploymentId}"]);
        using var anonymousClient = new PanelClient(world.Panel);
        var anonymous = await WalkAsync(anonymousClient.Http,
            ["/", "/login", "/setup", "/projects", $"/deployments/{world.DeploymentId}/events", "/no-such-page", "/error", "/forbidden", "/healthz", "/static/css/site.css", "/static/js/app.js", "/api/me", "/api/openapi.json"]);
        Assert.Contains(anonymous, v => v.Path == "/login" && v.Status == HttpStatusCode.OK);
        Assert.Contains(anonymous, v => v.Status == HttpStatusCode.Found);
        Assert.Contains(anonymous, v => v.Status == HttpStatusCode.NotFound);
        Assert.Contains(anonymous, v => v.Status == HttpStatusCode.Unauthorized);

        foreach (var v in admin.Concat(member).Concat(anonymous))
        {
            AssertSecurityHeaders(v);
            AssertNothingInline(v);
        }
    }

    [Fact]
    public async Task A_POST_or_PUT_without_a_handler_to_any_page_is_a_4xx_with_the_error_page_never_a_500()
    {
        var p = world.ProjectId;
        var token = PanelClient.AntiforgeryToken(await world.Admin.GetAsync("/"))!;
        async Task<(HttpStatusCode Status, string? Allow, Page Page)> Send(HttpMethod method, string path)
        {
            using var req = new HttpRequestMessage(method, path) { Content = new FormUrlEncodedContent([new("__RequestVerificationToken", token)]) };
            var res = await world.Admin.Http.SendAsync(req);
            var html = await res.Content.ReadAsStringAsync();
            return (res.StatusCode, res.Content.Headers.Allow.Count > 0 ? string.Join(", ", res.Content.Headers.Allow) : null, new Page(res.StatusCode, html, Parser.ParseDocument(html), res));
        }

        // The four from the report: each answered 500 (the page rendered with its model never loaded).
        var root = await Send(HttpMethod.Post, "/");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, root.Status);
        Assert.Equal("GET, HEAD", root.Allow);
        Assert.Equal("405", root.Page.Text("h1"));
        Assert.Contains("does not take that kind of request", root.Page.Text("main p"));
        foreach (var path in new[] { $"/projects/{p}", $"/deployments/{world.DeploymentId}", $"/projects/{p}/variables" })
        {
            // These pages take POSTs, but only to a named action (?handler=Deploy, …): a POST without one is a 400.
            var (status, _, page) = await Send(HttpMethod.Post, path);
            Assert.True(status == HttpStatusCode.BadRequest, $"POST {path}: {(int)status}");
            Assert.Equal("400", page.Text("h1"));
            var put = await Send(HttpMethod.Put, path);
            Assert.True(put.Status == HttpStatusCode.MethodNotAllowed, $"PUT {path}: {(int)put.Status}");
            Assert.Equal("GET, HEAD, POST", put.Allow);
        }
        var bogus = await Send(HttpMethod.Post, $"/projects/{p}?handler=NoSuchAction");
        Assert.Equal(HttpStatusCode.BadRequest, bogus.Status);

        // Generally: every page the admin can reach, asked with POST (no handler named), PUT and DELETE.
        foreach (var v in (await WalkAsync(world.Admin.Http, ["/"])).Where(v => v.MediaType == "text/html"))
            foreach (var method in new[] { HttpMethod.Post, HttpMethod.Put, HttpMethod.Delete })
            {
                var (status, _, _) = await Send(method, v.Path);
                Assert.True((int)status < 500, $"{method} {v.Path} answered {(int)status}");
            }
        Assert.DoesNotContain("unhandled exception", world.Panel.Log);
    }

    [Theory]
    [InlineData("?from=-100", null, "?from= -100")]
    [InlineData("", "-50", "Last-Event-ID -50")]
    [InlineData("?from=10", "-1", "Last-Event-ID -1")]
    public async Task A_negative_log_position_for_the_live_log_is_a_400_that_says_so(string query, string? lastEventId, string named)
    {
        using var req = new HttpRequestMessage(HttpMethod.Get, $"/deployments/{world.DeploymentId}/events{query}");
        if (lastEventId is not null) req.Headers.Add("Last-Event-ID", lastEventId);
        using var res = await world.Admin.Http.SendAsync(req);
        Assert.Equal(HttpStatusCode.BadRequest, res.StatusCode);
        var text = await res.Content.ReadAsStringAsync();
        Assert.Contains(named, text);
        Assert.Contains("must be 0 or more", text);

        // A position of 0 still streams.
        using var ok = await world.Admin.Http.GetAsync($"/deployments/{world.DeploymentId}/events?from=0", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("text/event-stream", ok.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task A_forged_Host_header_never_comes_back_in_a_redirect_a_webhook_URL_or_the_API_document()
    {
        const string Evil = "evil.example";
        var publicUrl = world.Panel.Url;
        using var forged = new PanelClient(world.Panel);
        forged.Http.DefaultRequestHeaders.Host = Evil;

        // Signed out: the sign-in redirect is relative (it was http://evil.example/login?ReturnUrl=…).
        using (var res = await forged.Http.GetAsync("/projects"))
        {
            Assert.Equal(HttpStatusCode.Found, res.StatusCode);
            Assert.Equal("/login?ReturnUrl=%2Fprojects", res.Headers.Location!.OriginalString);
        }
        Assert.Equal(HttpStatusCode.SeeOther, (await forged.LoginAsync(PanelSetup.AdminEmail, PanelSetup.AdminPassword)).Status);

        // Signed in, every page and every redirect the walk meets.
        var visits = await WalkAsync(forged.Http, ["/", $"/projects/{world.ProjectId}", "/api/openapi.json"]);
        Assert.Contains(visits, v => v.Path == $"/projects/{world.ProjectId}");
        foreach (var v in visits)
        {
            Assert.DoesNotContain(Evil, v.Body);
            Assert.DoesNotContain(Evil, v.Headers.ToString());
        }
        var project = await forged.GetAsync($"/projects/{world.ProjectId}");
        Assert.Equal($"{publicUrl}/webhooks/{world.Slug}", project.Doc.QuerySelector("#webhook-url")!.GetAttribute("value"));
        Assert.Null(project.Doc.QuerySelector("#webhook-url-path-only"));
        Assert.Null((await forged.GetAsync("/")).Doc.QuerySelector("#public-url-unset"));
        var document = JsonNode.Parse(await forged.Http.GetStringAsync("/api/openapi.json"))!;
        Assert.Equal(publicUrl, (string?)document["servers"]![0]!["url"]);

        using var api = await TestApi.ForUserAsync(world.Panel, PanelSetup.AdminEmail);
        api.Http.DefaultRequestHeaders.Host = Evil;
        Assert.Equal($"{publicUrl}/webhooks/{world.Slug}", (string?)(await api.GetAsync($"/api/projects/{world.Slug}"))["webhookUrl"]);
        var renewed = await api.SendAsync(HttpMethod.Post, $"/api/projects/{world.Slug}/webhook-secret");
        Assert.Equal($"{publicUrl}/webhooks/{world.Slug}", (string?)renewed.Body!["webhookUrl"]);
    }

    [Fact]
    public async Task Without_Panel_PublicUrl_the_webhook_URL_is_a_path_the_project_page_says_why_and_the_dashboard_tells_admins()
    {
        await using var panel = await PanelProcess.StartAsync(new Dictionary<string, string> { ["Panel__PublicUrl"] = "" });
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        admin.Http.DefaultRequestHeaders.Host = "evil.example";
        using var repo = TestRepo.WithBusyboxApp("x", "public-url");
        var created = await admin.SubmitAsync("/projects/new", DeployEnv.ProjectFields("no-public-url", repo.Bare, "no-public-url.test"));
        Assert.Equal(HttpStatusCode.SeeOther, created.Status);

        var project = await admin.GetAsync(created.Response.Headers.Location!.OriginalString);
        Assert.Equal("/webhooks/no-public-url", project.Doc.QuerySelector("#webhook-url")!.GetAttribute("value"));
        Assert.Contains("Panel:PublicUrl", project.Text("#webhook-url-path-only"));
        var dashboard = await admin.GetAsync("/");
        Assert.Contains("Panel:PublicUrl is not set", dashboard.Text("#public-url-unset"));
        using var api = await TestApi.ForUserAsync(panel, PanelSetup.AdminEmail);
        Assert.Equal("/webhooks/no-public-url", (string?)(await api.GetAsync("/api/projects/no-public-url"))["webhookUrl"]);
        Assert.Empty(JsonNode.Parse(await admin.Http.GetStringAsync("/api/openapi.json"))!["servers"]?.AsArray() ?? []);

        // A member cannot set it, so the dashboard does not bother them with it.
        Assert.Equal(0, (await PanelCli.RunAsync(["user", "add", "--email", SurfaceWorld.MemberEmail, "--data-dir", panel.DataDir], SurfaceWorld.MemberPassword + "\n")).ExitCode);
        using var member = new PanelClient(panel);
        await member.LoginAsync(SurfaceWorld.MemberEmail, SurfaceWorld.MemberPassword);
        var memberDashboard = await member.GetAsync("/");
        Assert.NotNull(memberDashboard.Doc.QuerySelector("#system-status"));
        Assert.Null(memberDashboard.Doc.QuerySelector("#public-url-unset"));
    }

    [Fact]
    public async Task Healthz_tells_anyone_the_status_and_ok_per_part_and_only_admins_the_details()
    {
        var dataDir = world.Panel.DataDir;
        using var anonymous = new HttpClient { BaseAddress = new Uri(world.Panel.Url) };
        async Task<JsonNode> Health(HttpClient http)
        {
            using var res = await http.GetAsync("/healthz");
            Assert.Equal(HttpStatusCode.OK, res.StatusCode);
            return JsonNode.Parse(await res.Content.ReadAsStringAsync())!;
        }
        static void AssertBare(JsonNode h)
        {
            Assert.Equal("degraded", (string?)h["status"]); // Docker is missing and Caddy is not running in this world.
            foreach (var part in new[] { "database", "docker", "caddy", "disk" })
            {
                var o = h[part]!.AsObject();
                Assert.Equal(["ok"], o.Select(kv => kv.Key).ToArray());
            }
            Assert.True((bool)h["database"]!["ok"]!);
            Assert.False((bool)h["docker"]!["ok"]!);
        }

        var bare = await Health(anonymous);
        AssertBare(bare);
        Assert.DoesNotContain(dataDir, bare.ToJsonString());
        AssertBare(await Health(world.Member.Http));
        using var memberApi = await TestApi.ForUserAsync(world.Panel, SurfaceWorld.MemberEmail);
        AssertBare(await Health(memberApi.Http));
        using var badToken = new HttpClient { BaseAddress = new Uri(world.Panel.Url) };
        badToken.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "vpp_not-a-token");
        AssertBare(await Health(badToken));

        using var adminApi = await TestApi.ForUserAsync(world.Panel, PanelSetup.AdminEmail);
        foreach (var http in new[] { world.Admin.Http, adminApi.Http })
        {
            var full = await Health(http);
            Assert.Contains(dataDir, (string?)full["database"]!["detail"]);
            Assert.Contains("reads and writes work", (string?)full["database"]!["detail"]);
            Assert.Contains("/run/vpspanel-test-no-docker/docker.sock", (string?)full["docker"]!["detail"]);
            Assert.Contains("apt-get install docker.io", (string?)full["docker"]!["fix"]);
            Assert.Contains("free on the data directory", (string?)full["disk"]!["detail"]);
        }
    }

    [Fact]
    public async Task Over_HTTPS_through_Caddy_the_panel_sends_HSTS_and_straight_over_HTTP_it_does_not()
    {
        await using var caddy = await TestCaddy.StartAsync();
        var settings = caddy.PanelSettings();
        settings["Caddy__AutomaticHttps"] = "true";
        settings["Caddy__InternalTls"] = "true";
        await using var panel = await PanelProcess.StartAsync(settings);
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        var panelDomain = $"panel-{Guid.NewGuid():N}"[..18] + ".test";
        Assert.Equal(HttpStatusCode.SeeOther, (await admin.SubmitAsync("/settings", new() { ["baseDomain"] = "", ["panelDomain"] = panelDomain })).Status);

        foreach (var path in new[] { "/login", "/healthz", "/static/css/site.css", "/no-such-page" })
        {
            using var https = await DomainKit.HttpsGetAsync(caddy, panelDomain, path);
            var visit = new Visit(path, https.StatusCode, https.Content.Headers.ContentType?.MediaType, https.Headers, await https.Content.ReadAsStringAsync());
            AssertSecurityHeaders(visit, hsts: true);
            Assert.Equal("max-age=31536000", string.Join(",", https.Headers.GetValues("Strict-Transport-Security")));

            using var http = await admin.Http.GetAsync(path);
            AssertSecurityHeaders(new Visit(path, http.StatusCode, null, http.Headers, ""), hsts: false);
        }
    }
}
