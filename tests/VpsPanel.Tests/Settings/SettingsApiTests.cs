using System.Net;
using System.Text.Json.Nodes;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;
using static VpsPanel.Tests.Domains.DomainKit;

namespace VpsPanel.Tests.Settings;

/// <summary>
/// /api/settings and `vpspanel settings`: the Settings page's two values (wildcard base domain, panel domain) over the
/// API and the CLI, saved as the page saves them (same rules, Caddy applied, audited), against a real panel and Caddy.
/// </summary>
public sealed class SettingsApiTests
{
    [Fact]
    public async Task Admins_read_and_change_the_settings_as_the_page_does_Caddy_follows_and_bad_input_changes_nothing()
    {
        await using var env = await DeployEnv.StartAsync();
        using var admin = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);
        var id = env.Label[7..];
        var (wildcard, panel) = ($"apps-{id}.test", $"panel-{id}.test");

        var empty = await admin.GetAsync("/api/settings");
        Assert.Equal("", (string?)empty["wildcardDomain"]);
        Assert.Equal("", (string?)empty["panelDomain"]);

        // Canonicalised as on the page: *.base is the base, upper case is lowered. A field left out stays as it is.
        var (status, body, _) = await admin.SendAsync(HttpMethod.Put, "/api/settings", $$"""{"wildcardDomain": " *.{{wildcard.ToUpperInvariant()}} "}""");
        Assert.True(status == HttpStatusCode.OK, $"{status} {body}");
        Assert.Equal(wildcard, (string?)body!["wildcardDomain"]);
        Assert.Equal("", (string?)body["panelDomain"]);
        (status, body, _) = await admin.SendAsync(HttpMethod.Put, "/api/settings", $$"""{"panelDomain": "{{panel}}"}""");
        Assert.True(status == HttpStatusCode.OK, $"{status} {body}");
        Assert.Equal(wildcard, (string?)body!["wildcardDomain"]);
        Assert.Equal(panel, (string?)body["panelDomain"]);
        var page = await env.Client.GetAsync("/settings");
        Assert.Equal(wildcard, page.Doc.QuerySelector("#baseDomain")!.GetAttribute("value"));
        Assert.Equal(panel, page.Doc.QuerySelector("#panelDomain")!.GetAttribute("value"));

        // The page's side effect: the panel's own site is written and loaded into Caddy.
        var panelSite = Path.Combine(env.Caddy.SitesDir, "_panel.caddy");
        Assert.Contains(panel, File.ReadAllText(panelSite));
        Assert.Contains(panel, await ProxyStateAsync(env.Caddy));
        // The page's audit row, marked as made through the API.
        var audit = (await admin.GetAsync("/api/audit?action=settings.change")).AsArray();
        Assert.Equal(2, audit.Count);
        Assert.Equal("api", (string?)audit[0]!["via"]);
        Assert.Equal($"base domain \"{wildcard}\", panel domain \"{panel}\"", (string?)audit[0]!["detail"]);

        // Bad values: a 422 naming the field and why; nothing stored, Caddy untouched, no audit row.
        var name = env.Name("shop");
        await admin.CreateProjectAsync(name, "/srv/repos/shop.git", $"{name}.test", autoDeploy: false);
        var proxy = await ProxyStateAsync(env.Caddy);
        (string Body, string Field, string Says)[] bad =
        [
            ("""{"wildcardDomain": "*.my apps.test"}""", "wildcardDomain", "contains a space"),
            ("""{"wildcardDomain": "*."}""", "wildcardDomain", "needs a domain after the wildcard"),
            ("""{"wildcardDomain": "*.*.apps.test"}""", "wildcardDomain", "wildcard can only be the whole first label"),
            ("""{"panelDomain": "panel..test"}""", "panelDomain", "empty label"),
            ("""{"panelDomain": "*.panel.test"}""", "panelDomain", "without a wildcard"),
            ($$"""{"panelDomain": "{{string.Join('.', Enumerable.Repeat(new string('a', 60), 5))}}.test"}""", "panelDomain", "longer than 253"),
            ("""{"panelDomain": "panel.test {\n}\nevil.test"}""", "panelDomain", "line break"),
            ("""{"wildcardDomain": 42}""", "wildcardDomain", "must be a JSON string"),
            ("""{"panelDomain": null}""", "panelDomain", "must be a JSON string"),
            ("""{"panelDomain": ["a.test"]}""", "panelDomain", "must be a JSON string"),
            ("""{"panelDomain": "ok.test", "wildcard_domain": "apps.test"}""", "wildcard_domain", "unknown field"),
            ("""{"panelDomain": "ok.test", "PanelDomain": "ok.test"}""", "panelDomain", "more than once"),
        ];
        var failures = new List<string>();
        foreach (var (json, field, says) in bad)
        {
            var (s, problem, type) = await admin.SendAsync(HttpMethod.Put, "/api/settings", json);
            var message = (string?)problem?["errors"]?[field]?[0] ?? "";
            if (s != HttpStatusCode.UnprocessableEntity || type != "application/problem+json" || !message.Contains(says, StringComparison.OrdinalIgnoreCase)
                || !((string?)problem!["detail"] ?? "").Contains(field))
                failures.Add($"{json}: {(int)s} {problem?.ToJsonString()}");
        }
        var (nothing, nothingBody, _) = await admin.SendAsync(HttpMethod.Put, "/api/settings", "{}");
        if (nothing != HttpStatusCode.UnprocessableEntity || !((string?)nothingBody?["detail"] ?? "").Contains("Nothing to change"))
            failures.Add($"{{}}: {(int)nothing} {nothingBody?.ToJsonString()}");
        // Malformed JSON and a body that is not an object are 400s; JSON must say it is JSON.
        foreach (var json in new[] { """{"panelDomain": """, "[\"a.test\"]", "\"a.test\"" })
            if ((await admin.SendAsync(HttpMethod.Put, "/api/settings", json)) is var (s, problem, _) && s != HttpStatusCode.BadRequest)
                failures.Add($"{json}: {(int)s} {problem?.ToJsonString()}");
        using (var form = await admin.Http.PutAsync("/api/settings", new StringContent("panelDomain=x.test", System.Text.Encoding.UTF8, "application/x-www-form-urlencoded")))
            if (form.StatusCode != HttpStatusCode.UnsupportedMediaType) failures.Add($"form body: {(int)form.StatusCode}");
        Assert.Empty(failures);

        // A domain a project has is refused for the panel domain: 409 naming the field and the project.
        var (clash, clashBody, _) = await admin.SendAsync(HttpMethod.Put, "/api/settings", $$"""{"panelDomain": "{{name}}.test"}""");
        Assert.Equal(HttpStatusCode.Conflict, clash);
        Assert.Contains($"project \"{name}\"", (string?)clashBody!["errors"]!["panelDomain"]![0]);

        var after = await admin.GetAsync("/api/settings");
        Assert.Equal((wildcard, panel), ((string?)after["wildcardDomain"], (string?)after["panelDomain"]));
        Assert.Equal(proxy, await ProxyStateAsync(env.Caddy));
        Assert.Equal(2, (await admin.GetAsync("/api/audit?action=settings.change")).AsArray().Count);

        // "" clears a value: the panel's site leaves Caddy.
        (status, body, _) = await admin.SendAsync(HttpMethod.Put, "/api/settings", """{"panelDomain": ""}""");
        Assert.True(status == HttpStatusCode.OK, $"{status} {body}");
        Assert.Equal((wildcard, ""), ((string?)body!["wildcardDomain"], (string?)body["panelDomain"]));
        Assert.False(File.Exists(panelSite));
        Assert.DoesNotContain(panel, await ProxyStateAsync(env.Caddy));
        Assert.Equal("", (await env.Client.GetAsync("/settings")).Doc.QuerySelector("#panelDomain")!.GetAttribute("value"));
    }

    [Fact]
    public async Task Members_and_callers_without_a_token_are_refused_and_the_CLI_reads_and_sets_with_errors_on_stderr()
    {
        await using var env = await DeployEnv.StartAsync();
        using var admin = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);
        const string memberEmail = "member@example.com";
        var made = await env.Client.SubmitAsync("/users/new", new() { ["email"] = memberEmail, ["password"] = "a long member password", ["role"] = "member" });
        Assert.Equal(HttpStatusCode.SeeOther, made.Status);
        using var member = await TestApi.ForUserAsync(env.Panel, memberEmail);
        var id = env.Label[7..];

        Assert.Equal(HttpStatusCode.Forbidden, (await member.SendAsync(HttpMethod.Get, "/api/settings")).Status);
        var (refused, problem, _) = await member.SendAsync(HttpMethod.Put, "/api/settings", $$"""{"panelDomain": "member-{{id}}.test"}""");
        Assert.Equal(HttpStatusCode.Forbidden, refused);
        Assert.Contains("Only admins", (string?)problem!["detail"]);
        using (var anonymous = new HttpClient { BaseAddress = new Uri(env.Panel.Url) })
        {
            using var get = await anonymous.GetAsync("/api/settings");
            Assert.Equal(HttpStatusCode.Unauthorized, get.StatusCode);
            using var put = await anonymous.PutAsync("/api/settings", TestApi.Json($$"""{"panelDomain": "anon-{{id}}.test"}"""));
            Assert.Equal(HttpStatusCode.Unauthorized, put.StatusCode);
        }
        var untouched = await admin.GetAsync("/api/settings");
        Assert.Equal(("", ""), ((string?)untouched["wildcardDomain"], (string?)untouched["panelDomain"]));

        // The CLI: prints both, sets each, and says what is wrong on stderr with a non-zero exit.
        string[] remote = ["--url", env.Panel.Url, "--token", admin.Token];
        var shown = await PanelCli.RunAsync(["settings", .. remote]);
        Assert.True(shown.ExitCode == 0, shown.Stderr);
        Assert.Equal("wildcard-domain\t\npanel-domain\t\n", shown.Stdout);
        var setWildcard = await PanelCli.RunAsync(["settings", "set", "wildcard-domain", $"*.cli-{id}.test", .. remote]);
        Assert.True(setWildcard.ExitCode == 0, setWildcard.Stderr);
        var setPanel = await PanelCli.RunAsync(["settings", "set", "panel-domain", $"panel-{id}.test", .. remote]);
        Assert.True(setPanel.ExitCode == 0, setPanel.Stderr);
        Assert.Equal($"wildcard-domain\tcli-{id}.test\npanel-domain\tpanel-{id}.test\n", setPanel.Stdout);
        Assert.Equal($"wildcard-domain\tcli-{id}.test\npanel-domain\tpanel-{id}.test\n", (await PanelCli.RunAsync(["settings", .. remote])).Stdout);
        Assert.Equal($"cli-{id}.test", (await env.Client.GetAsync("/settings")).Doc.QuerySelector("#baseDomain")!.GetAttribute("value"));
        Assert.True(File.Exists(Path.Combine(env.Caddy.SitesDir, "_panel.caddy")));

        var bad = await PanelCli.RunAsync(["settings", "set", "panel-domain", "panel..test", .. remote]);
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("panelDomain", bad.Stderr);
        Assert.Contains("empty label", bad.Stderr);
        Assert.Equal("", bad.Stdout);
        var byMember = await PanelCli.RunAsync(["settings", "set", "wildcard-domain", "x.test", "--url", env.Panel.Url, "--token", member.Token]);
        Assert.Equal(1, byMember.ExitCode);
        Assert.Contains("Only admins", byMember.Stderr);
        var unknown = await PanelCli.RunAsync(["settings", "set", "colour", "blue", .. remote]);
        Assert.NotEqual(0, unknown.ExitCode);
        Assert.Contains("colour", unknown.Stderr);
        var noToken = await PanelCli.RunAsync(["settings", "--url", env.Panel.Url], env: new Dictionary<string, string> { ["VPSPANEL_TOKEN"] = "" });
        Assert.Equal(2, noToken.ExitCode);
        Assert.Contains("no API token", noToken.Stderr);
        Assert.Equal($"wildcard-domain\tcli-{id}.test\npanel-domain\tpanel-{id}.test\n", (await PanelCli.RunAsync(["settings", .. remote])).Stdout);

        // The audit log names who did it and how: the admin's token, through the API, twice (the two sets).
        var rows = (await admin.GetAsync("/api/audit?action=settings.change")).AsArray();
        Assert.Equal(2, rows.Count);
        Assert.All(rows, r => Assert.Equal(("api", PanelSetup.AdminEmail), ((string?)r!["via"], (string?)r["userEmail"])));
    }
}
