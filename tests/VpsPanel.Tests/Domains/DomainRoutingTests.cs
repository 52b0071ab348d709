using System.Net;
using System.Text.Json;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;
using static VpsPanel.Tests.Domains.DomainKit;

namespace VpsPanel.Tests.Domains;

/// <summary>Domains end to end on the real panel, real dockerd and a real Caddy with its internal CA for HTTPS.</summary>
public sealed class DomainRoutingTests
{
    static Dictionary<string, string> InternalHttps => new() { ["Caddy__AutomaticHttps"] = "true", ["Caddy__InternalTls"] = "true" };

    [Fact]
    public async Task Two_projects_are_routed_by_host_over_https_and_http_an_alias_redirects_308_a_Caddy_restart_keeps_all_and_a_delete_removes_one()
    {
        await using var env = await DeployEnv.StartAsync(InternalHttps);
        string A(string s) => $"{env.Name("a")}{s}.test";
        string B(string s) => $"{env.Name("b")}{s}.test";
        var alpha = await DeployedProjectAsync(env, "a", "alpha", $"{A("")}\n{A("-lan")}");
        var beta = await DeployedProjectAsync(env, "b", "beta", $"{B("")}\n{B("-old")}");
        // alpha: an HTTPS primary and an HTTP-only alias, both serving; beta: HTTP only, its alias redirecting.
        Assert.Equal(HttpStatusCode.SeeOther, (await SaveDomainsAsync(env.Client, alpha.Id, [new(A("")), new(A("-lan"), HttpOnly: true)])).Status);
        Assert.Equal(HttpStatusCode.SeeOther, (await SaveDomainsAsync(env.Client, beta.Id, [new(B(""), true), new(B("-old"), true)], redirectAliases: true)).Status);

        async Task AssertRoutes()
        {
            Assert.Equal("alpha", await HttpsBodyAsync(env.Caddy, A("")));
            Assert.Equal("alpha", await env.ServedAsync(A("-lan")));
            Assert.Equal("beta", await env.ServedAsync(B("")));
            using var redirect = await env.Caddy.GetAsync(B("-old"), "/some/page?x=1");
            Assert.Equal(308, (int)redirect.StatusCode);
            Assert.Equal($"http://{B("")}/some/page?x=1", redirect.Headers.Location!.OriginalString);
            // The HTTPS site is alpha's only: beta's names have no certificate, alpha's HTTP-only alias is not on HTTPS.
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => HttpsGetAsync(env.Caddy, B("")));
        }
        await AssertRoutes();
        var alphaFile = File.ReadAllText(Path.Combine(env.Caddy.SitesDir, alpha.Slug + ".caddy"));
        Assert.Contains("tls internal", alphaFile);
        Assert.Contains($"http://{A("-lan")}", alphaFile);

        // Caddy dies and comes back the way a service restart does: from the main Caddyfile and the files on disk.
        env.Caddy.Kill();
        await env.Caddy.StartProcessAsync();
        await AssertRoutes();

        // Deleting alpha removes its site file and its routes; beta is untouched.
        var deleted = await env.Client.SubmitAsync($"/projects/{alpha.Id}/edit", new() { ["confirm"] = alpha.Slug }, $"/projects/{alpha.Id}/edit?handler=Delete");
        Assert.Equal(HttpStatusCode.SeeOther, deleted.Status);
        Assert.False(File.Exists(Path.Combine(env.Caddy.SitesDir, alpha.Slug + ".caddy")));
        Assert.NotEqual("alpha", await env.ServedAsync(A("-lan")));
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => HttpsGetAsync(env.Caddy, A("")));
        Assert.Equal("beta", await env.ServedAsync(B("")));
    }

    [Fact]
    public async Task Caddy_admin_API_unreachable_during_a_deploy_fails_it_at_switching_naming_the_address_and_the_old_version_serves_when_Caddy_is_back()
    {
        // No waiting for Caddy here (ReliabilityTests covers the retry window): the switch fails at its first refusal.
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string> { ["Deploy__CaddyRetrySeconds"] = "0" });
        using var repo = TestRepo.WithBusyboxApp("v1", env.Label);
        var domain = $"{env.Name()}.test";
        var id = await env.CreateProjectAsync(repo, domain);
        await env.WaitForLiveAsync(await env.DeployAsync(id));
        Assert.Equal("v1", await env.ServedAsync(domain));
        var siteFile = Path.Combine(env.Caddy.SitesDir, env.Name() + ".caddy");
        var before = File.ReadAllText(siteFile);

        env.Caddy.Kill();
        repo.CommitApp("v2", env.Label, "v2");
        var second = await env.DeployAsync(id);
        Assert.Equal("failed", await env.WaitForEndAsync(second));
        var log = await env.LogAsync(second);
        Assert.Contains("FAILED at switching", log);
        Assert.Contains($"not reachable at {env.Caddy.AdminAddress}", log);
        Assert.Contains(env.Caddy.AdminAddress, (await env.Client.GetAsync($"/deployments/{second}")).Html);
        Assert.Equal(before, File.ReadAllText(siteFile));

        await env.Caddy.StartProcessAsync();
        Assert.Equal("v1", await env.ServedAsync(domain));
        Assert.Single(await env.PanelContainersAsync());
    }

    [Fact]
    public async Task Base_domain_gives_default_domains_the_panel_domain_serves_the_panel_over_https_with_secure_cookies_and_ask_approves_only_known_names()
    {
        await using var env = await DeployEnv.StartAsync(InternalHttps);
        var baseDomain = $"apps-{env.Label[7..]}.test";
        var panelDomain = $"panel-{env.Label[7..]}.test";
        var saved = await env.Client.SubmitAsync("/settings", new() { ["baseDomain"] = "*." + baseDomain, ["panelDomain"] = panelDomain });
        Assert.Equal(HttpStatusCode.SeeOther, saved.Status);
        var settings = await env.Client.GetAsync("/settings");
        Assert.Equal(baseDomain, settings.Doc.QuerySelector("#baseDomain")!.GetAttribute("value"));
        Assert.True(File.Exists(Path.Combine(env.Caddy.SitesDir, "_panel.caddy")));

        // The panel through Caddy over HTTPS at its domain: the pages answer and the cookies it sets are Secure.
        using (var login = await HttpsGetAsync(env.Caddy, panelDomain, "/login"))
        {
            Assert.Equal(HttpStatusCode.OK, login.StatusCode);
            var cookies = login.Headers.GetValues("Set-Cookie").ToList();
            Assert.NotEmpty(cookies);
            Assert.All(cookies, c => Assert.Contains("secure", c, StringComparison.OrdinalIgnoreCase));
        }
        // Straight to the panel over plain HTTP the same cookie is not Secure (it follows the request).
        using (var direct = await new HttpClient().GetAsync(env.Panel.Url + "/login"))
            Assert.DoesNotContain(direct.Headers.GetValues("Set-Cookie"), c => c.Contains("secure", StringComparison.OrdinalIgnoreCase));

        var project = await DeployedProjectAsync(env, "app", "default ok", $"{env.Name()}.test");
        var defaultDomain = $"{project.Slug}.{baseDomain}";
        Assert.Equal("default ok", await HttpsBodyAsync(env.Caddy, defaultDomain));
        Assert.Equal("default ok", await HttpsBodyAsync(env.Caddy, $"{env.Name()}.test"));
        Assert.Contains(defaultDomain, (await env.Client.GetAsync($"/projects/{project.Id}")).Text("#domains"));

        using var http = new HttpClient { BaseAddress = new Uri(env.Panel.Url) };
        foreach (var (name, expected) in new[]
                 {
                     ($"{env.Name()}.test", 200), (defaultDomain, 200), (panelDomain, 200), (panelDomain.ToUpperInvariant(), 200),
                     ("evil.test", 404), ($"other.{baseDomain}", 404), ("", 404), ("a.com {", 404), ("*.evil.test", 404),
                 })
        {
            using var res = await http.GetAsync("/caddy/ask?domain=" + Uri.EscapeDataString(name));
            Assert.True(expected == (int)res.StatusCode, $"ask {name}: {(int)res.StatusCode}, expected {expected}");
        }

        // A request that came through a proxy (forwarded for a remote client) is refused, known name or not.
        using (var viaProxy = new HttpRequestMessage(HttpMethod.Get, "/caddy/ask?domain=" + panelDomain))
        {
            viaProxy.Headers.Add("X-Forwarded-For", "203.0.113.5");
            using var refused = await http.SendAsync(viaProxy);
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        // A bad value changes nothing: the stored settings and the proxy stay as they were.
        var state = await ProxyStateAsync(env.Caddy);
        var bad = await env.Client.SubmitAsync("/settings", new() { ["baseDomain"] = "a.com {", ["panelDomain"] = $"{panelDomain}\n reverse_proxy evil:80" });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.Status);
        Assert.Contains("not allowed", bad.Text("#baseDomain ~ .field-error"));
        Assert.Contains("line break", bad.Text("#panelDomain ~ .field-error"));
        Assert.Equal(panelDomain, (await env.Client.GetAsync("/settings")).Doc.QuerySelector("#panelDomain")!.GetAttribute("value"));
        Assert.Equal(state, await ProxyStateAsync(env.Caddy));

        // The panel domain cannot be a project's domain, and the API reports the default domain.
        var clash = await env.Client.SubmitAsync("/settings", new() { ["baseDomain"] = baseDomain, ["panelDomain"] = $"{env.Name()}.test" });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, clash.Status);
        Assert.Contains($"\"{project.Slug}\"", clash.Text("#panelDomain ~ .field-error"));
        using var api = await ApiClientAsync(env.Panel);
        var json = JsonDocument.Parse(await api.GetStringAsync($"/api/projects/{project.Slug}/domains")).RootElement;
        Assert.Equal(defaultDomain, json.GetProperty("defaultDomain").GetString());
    }
}
