using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;
using static VpsPanel.Tests.Domains.DomainKit;

namespace VpsPanel.Tests.Domains;

/// <summary>What people type as domains: injection attempts, look-alikes, and names another project already has.</summary>
public sealed class DomainInputTests
{
    /// <summary>Each attempt and the words its message must contain (as one Domains-page field or one API entry).</summary>
    public static readonly (string Value, string Message)[] Attempts =
    [
        ("a.com {", "not allowed in a domain"),
        ("a.com\n reverse_proxy evil:80", "line break"),
        ("a.com}", "not allowed in a domain"),
        ("*.", "needs a domain after the wildcard"),
        ("a..com", "empty label"),
        (new string('a', 300), "longer than 253"),
        ("exa mple.com", "contains a space"),
        ("http://a.com", "without http://"),
    ];

    [Fact]
    public async Task Injection_attempts_are_refused_by_the_project_form_the_Domains_page_and_the_API_and_the_proxy_is_untouched()
    {
        await using var env = await DeployEnv.StartAsync();
        var domain = $"{env.Name()}.test";
        var (id, slug) = await DeployedProjectAsync(env, "app", "safe", domain);
        var proxy = await ProxyStateAsync(env.Caddy);
        using var api = await ApiClientAsync(env.Panel);

        var failures = new List<string>();
        foreach (var (value, message) in Attempts)
        {
            var show = value.Length > 20 ? value[..20] + "…" : value.Replace("\n", "\\n");
            var form = await env.Client.SubmitAsync("/projects/new", DeployEnv.ProjectFields(env.Name("x"), "/srv/repos/x.git", value));
            if (form.Status != HttpStatusCode.UnprocessableEntity || string.IsNullOrWhiteSpace(form.Text("#domains ~ .field-error")))
                failures.Add($"project form {show}: {(int)form.Status} {form.Text("#domains ~ .field-error")}");

            var page = await SaveDomainsAsync(env.Client, id, [new(domain), new(value)]);
            if (page.Status != HttpStatusCode.UnprocessableEntity || page.Text("#host-1 ~ .field-error")?.Contains(message) != true)
                failures.Add($"domains page {show}: {(int)page.Status} {page.Text("#host-1 ~ .field-error")}");

            using var res = await api.PutAsJsonAsync($"/api/projects/{slug}/domains", new { domains = new[] { new { hostname = domain }, new { hostname = value } } });
            var detail = JsonDocument.Parse(await res.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString()!;
            if (res.StatusCode != HttpStatusCode.UnprocessableEntity || !detail.Contains(message) || !detail.Contains("domains[1]"))
                failures.Add($"API {show}: {(int)res.StatusCode} {detail}");
        }
        Assert.Empty(failures);
        Assert.Equal(proxy, await ProxyStateAsync(env.Caddy));
        Assert.Equal([env.Name()], (await env.Client.GetAsync("/projects")).Texts("#projects tbody td:first-child").ToArray());
        Assert.Equal("safe", await env.ServedAsync(domain));

        // A Cyrillic look-alike is not refused but made visible: stored, shown and routed as its punycode.
        var lookAlike = $"{env.Name()}-ex\u0430mple.test";
        var puny = new IdnMapping().GetAscii(lookAlike);
        Assert.StartsWith("xn--", puny.Split('.')[0]);
        Assert.Equal(HttpStatusCode.SeeOther, (await SaveDomainsAsync(env.Client, id, [new(domain), new(lookAlike)])).Status);
        var shown = await env.Client.GetAsync($"/projects/{id}/domains");
        Assert.Equal(puny, shown.Doc.QuerySelector("#host-1")!.GetAttribute("value"));
        Assert.Contains(puny, (await env.Client.GetAsync($"/projects/{id}")).Text("#domains"));
        var stored = JsonDocument.Parse(await api.GetStringAsync($"/api/projects/{slug}/domains")).RootElement.GetProperty("domains");
        Assert.Equal(puny, stored[1].GetProperty("hostname").GetString());
        Assert.Equal("safe", await WaitServedAsync(env, puny, "safe"));
        Assert.DoesNotContain(lookAlike, File.ReadAllText(Path.Combine(env.Caddy.SitesDir, env.Name() + ".caddy")));
    }

    [Fact]
    public async Task A_domain_belongs_to_one_project_the_conflict_names_the_project_and_nothing_changes()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        Assert.Equal(HttpStatusCode.SeeOther, (await admin.SubmitAsync("/projects/new", DeployEnv.ProjectFields("Alpha", "/srv/repos/a.git", "shop.test"))).Status);
        var beta = await admin.SubmitAsync("/projects/new", DeployEnv.ProjectFields("Beta", "/srv/repos/b.git", "beta.test"));
        var betaId = long.Parse(beta.Response.Headers.Location!.OriginalString.Split('/').Last());
        var alphaId = betaId - 1;
        // Alpha also answers on www.example-alpha.test (www redirect of its primary).
        Assert.Equal(HttpStatusCode.SeeOther, (await SaveDomainsAsync(admin, alphaId, [new("example-alpha.test"), new("shop.test")], redirectWww: true)).Status);

        var created = await admin.SubmitAsync("/projects/new", DeployEnv.ProjectFields("Gamma", "/srv/repos/c.git", "gamma.test\nSHOP.test"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, created.Status);
        Assert.Equal("shop.test already belongs to project \"Alpha\". A domain can belong to one project only.", created.Text("#domains ~ .field-error"));

        foreach (var taken in new[] { "Shop.Test", "www.example-alpha.test", "example-alpha.test" })
        {
            var page = await SaveDomainsAsync(admin, betaId, [new("beta.test"), new(taken)]);
            Assert.Equal(HttpStatusCode.UnprocessableEntity, page.Status);
            Assert.Contains("belongs to project \"Alpha\"", page.Text("#host-1 ~ .field-error"));
        }
        using var api = await ApiClientAsync(panel);
        using var res = await api.PutAsJsonAsync("/api/projects/beta/domains", new { domains = new[] { new { hostname = "shop.test" } } });
        Assert.Equal(HttpStatusCode.Conflict, res.StatusCode);
        Assert.Contains("project \"Alpha\"", JsonDocument.Parse(await res.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString());

        // A member is told it is taken, not whose it is.
        Assert.Equal(HttpStatusCode.SeeOther, (await admin.SubmitAsync("/users/new", new() { ["email"] = "m@example.com", ["password"] = "member password 1", ["role"] = "member" })).Status);
        using var member = new PanelClient(panel);
        await member.LoginAsync("m@example.com", "member password 1");
        var theirs = await member.SubmitAsync("/projects/new", DeployEnv.ProjectFields("Mine", "https://git.example.com/m/app.git", "shop.test"));
        Assert.Equal("shop.test already belongs to another user's project. A domain can belong to one project only.", theirs.Text("#domains ~ .field-error"));

        // The Settings page (base and panel domain) is for admins only.
        Assert.Equal(HttpStatusCode.Redirect, (await member.GetAsync("/settings")).Status);
        var token = PanelClient.AntiforgeryToken(await member.GetAsync("/projects"))!;
        using (var post = await member.Http.PostAsync("/settings", new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = token, ["panelDomain"] = "shop.test" })))
            Assert.Equal(HttpStatusCode.Redirect, post.StatusCode);
        Assert.Equal("", (await admin.GetAsync("/settings")).Doc.QuerySelector("#panelDomain")!.GetAttribute("value"));

        // Nothing changed: still two projects, Beta still on beta.test alone, Alpha still on its own.
        Assert.Equal(["Alpha", "Beta"], (await admin.GetAsync("/projects")).Texts("#projects tbody td:first-child").ToArray());
        var betaNow = JsonDocument.Parse(await api.GetStringAsync("/api/projects/beta/domains")).RootElement;
        Assert.Equal("beta.test", betaNow.GetProperty("primary").GetString());
        Assert.Equal(1, betaNow.GetProperty("domains").GetArrayLength());
    }
}
