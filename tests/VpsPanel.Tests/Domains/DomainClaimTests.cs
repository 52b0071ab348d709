using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;
using static VpsPanel.Tests.Domains.DomainKit;

namespace VpsPanel.Tests.Domains;

/// <summary>
/// Wildcards and IP addresses are for admins; a wildcard (an admin's too) may not reach names another project, the
/// panel or the base domain holds; the server's own addresses are nobody's domain; /caddy/ask follows the same rules.
/// </summary>
public sealed class DomainClaimTests
{
    const string BaseDomain = "apps.test";
    const string PanelDomain = "admin.corp.test";

    sealed record World(PanelProcess Panel, TestCaddy Caddy, PanelClient Admin, PanelClient Alice, HttpClient AdminApi, HttpClient AliceApi,
        long AliceId, long BobId, long AdmId) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            Admin.Dispose(); Alice.Dispose(); AdminApi.Dispose(); AliceApi.Dispose();
            await Panel.DisposeAsync();
            await Caddy.DisposeAsync();
        }
    }

    /// <summary>
    /// A panel with a base and a panel domain; member alice owns project "alice" (alice.test), member bob owns "bob"
    /// (bob.alice.test: a name under alice's), the admin owns "adm" (adm.test).
    /// </summary>
    static async Task<World> StartAsync()
    {
        var caddy = await TestCaddy.StartAsync();
        var panel = await PanelProcess.StartAsync(caddy.PanelSettings());
        var admin = await PanelSetup.SignedInAdminAsync(panel);
        Assert.Equal(HttpStatusCode.SeeOther, (await admin.SubmitAsync("/settings", new() { ["baseDomain"] = BaseDomain, ["panelDomain"] = PanelDomain })).Status);
        async Task<PanelClient> Member(string email)
        {
            Assert.Equal(HttpStatusCode.SeeOther, (await admin.SubmitAsync("/users/new", new() { ["email"] = email, ["password"] = "member password 1", ["role"] = "member" })).Status);
            var client = new PanelClient(panel);
            await client.LoginAsync(email, "member password 1");
            return client;
        }
        async Task<long> Project(PanelClient owner, string name, string domain)
        {
            var page = await owner.SubmitAsync("/projects/new", DeployEnv.ProjectFields(name, "https://git.example.com/o/app.git", domain));
            Assert.True(page.Status == HttpStatusCode.SeeOther, page.Text(".field-error"));
            return long.Parse(page.Response.Headers.Location!.OriginalString.Split('/').Last());
        }
        var alice = await Member("alice@example.com");
        using var bob = await Member("bob@example.com");
        var aliceId = await Project(alice, "alice", "alice.test");
        var bobId = await Project(bob, "bob", "bob.alice.test");
        var admId = await Project(admin, "adm", "adm.test");
        var aliceToken = (await PanelCli.RunAsync(["token", "create", "--user", "alice@example.com", "--name", "t", "--data-dir", panel.DataDir])).Stdout.Trim();
        var aliceApi = new HttpClient { BaseAddress = new Uri(panel.Url) };
        aliceApi.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", aliceToken);
        return new World(panel, caddy, admin, alice, await ApiClientAsync(panel), aliceApi, aliceId, bobId, admId);
    }

    /// <summary>Posts [primary, value] on the Domains page and PUTs the same through the API; returns what each said about the value.</summary>
    static async Task<(HttpStatusCode PageStatus, string? PageMessage, HttpStatusCode ApiStatus, string ApiDetail)> TryAsync(
        PanelClient client, HttpClient api, long id, string slug, string primary, Row value)
    {
        var page = await SaveDomainsAsync(client, id, [new(primary), value]);
        using var res = await api.PutAsJsonAsync($"/api/projects/{slug}/domains",
            new { domains = new object[] { new { hostname = primary }, new { hostname = value.Host, httpOnly = value.HttpOnly } } });
        var body = await res.Content.ReadAsStringAsync();
        var detail = res.IsSuccessStatusCode ? body : JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString()!;
        return (page.Status, page.Text("#host-1 ~ .field-error"), res.StatusCode, detail);
    }

    static async Task<string> DomainsJsonAsync(HttpClient api, string slug) => await api.GetStringAsync($"/api/projects/{slug}/domains");

    [Fact]
    public async Task Members_may_not_add_wildcards_or_IP_addresses_and_nobody_may_add_the_servers_own_addresses()
    {
        await using var w = await StartAsync();
        var before = await DomainsJsonAsync(w.AliceApi, "alice");
        (Row Value, string Message)[] member =
        [
            (new("*.alice.test"), "*.alice.test is a wildcard domain; only an admin can add one."),
            (new("*.apps.test"), "*.apps.test is a wildcard domain; only an admin can add one."),
            (new("*.elsewhere.test"), "*.elsewhere.test is a wildcard domain; only an admin can add one."),
            (new("203.0.113.7", HttpOnly: true), "203.0.113.7 is an IP address; only an admin can add one."),
            (new("[2001:db8::7]", HttpOnly: true), "[2001:db8::7] is an IP address; only an admin can add one."),
            (new("127.0.0.1", HttpOnly: true), "127.0.0.1 is a loopback address (this machine); no project can be served on it."),
            (new("0.0.0.0", HttpOnly: true), "0.0.0.0 is the unspecified address (0.0.0.0/8 means this machine); no project can be served on it."),
            (new("[::1]", HttpOnly: true), "[::1] is a loopback address (this machine); no project can be served on it."),
            (new("169.254.169.254", HttpOnly: true), "169.254.169.254 is a cloud metadata address; no project can be served on it."),
            (new("127.0.0.1"), "127.0.0.1 is a loopback address (this machine); no project can be served on it."),
        ];
        var failures = new List<string>();
        foreach (var (value, message) in member)
        {
            var (ps, pm, aps, ad) = await TryAsync(w.Alice, w.AliceApi, w.AliceId, "alice", "alice.test", value);
            if (ps != HttpStatusCode.UnprocessableEntity || pm != message) failures.Add($"member page {value.Host}: {(int)ps} {pm}");
            if (aps != HttpStatusCode.UnprocessableEntity || ad != $"Some fields are not valid: domains[1]: {message}") failures.Add($"member API {value.Host}: {(int)aps} {ad}");
        }
        // The project form (domains at creation) applies the same rule to wildcards.
        var created = await w.Alice.SubmitAsync("/projects/new", DeployEnv.ProjectFields("wild", "https://git.example.com/o/app.git", "*.alice.test"));
        if (created.Status != HttpStatusCode.UnprocessableEntity || created.Text("#domains ~ .field-error") != "*.alice.test is a wildcard domain; only an admin can add one.")
            failures.Add($"member project form: {(int)created.Status} {created.Text("#domains ~ .field-error")}");

        // The server's own addresses are refused for admins too; other IP addresses are theirs to use.
        foreach (var (value, message) in member.Skip(5))
        {
            var (ps, pm, aps, ad) = await TryAsync(w.Admin, w.AdminApi, w.AdmId, "adm", "adm.test", value);
            if (ps != HttpStatusCode.UnprocessableEntity || pm != message) failures.Add($"admin page {value.Host}: {(int)ps} {pm}");
            if (aps != HttpStatusCode.UnprocessableEntity || ad != $"Some fields are not valid: domains[1]: {message}") failures.Add($"admin API {value.Host}: {(int)aps} {ad}");
        }
        Assert.Empty(failures);
        Assert.Equal(before, await DomainsJsonAsync(w.AliceApi, "alice"));
        Assert.Equal(["adm", "alice", "bob"], (await w.Admin.GetAsync("/projects")).Texts("#projects tbody td:first-child").ToArray());

        Assert.Equal(HttpStatusCode.SeeOther, (await SaveDomainsAsync(w.Admin, w.AdmId, [new("adm.test"), new("203.0.113.7", HttpOnly: true), new("[2001:db8::7]", HttpOnly: true)])).Status);
        Assert.Contains("\"hostname\":\"203.0.113.7\"", await DomainsJsonAsync(w.AdminApi, "adm"));
    }

    [Fact]
    public async Task A_wildcard_may_not_cover_another_projects_name_the_base_domain_or_the_panel_domain_and_ask_approves_only_allowed_wildcards()
    {
        await using var w = await StartAsync();
        var admBefore = await DomainsJsonAsync(w.AdminApi, "adm");
        (string Value, string Message)[] admin =
        [
            ("*.alice.test", "*.alice.test would cover bob.alice.test, which belongs to project \"bob\". A wildcard may not cover another project's domain."),
            ("*.apps.test", "*.apps.test would cover the wildcard base domain apps.test (Settings) or the projects' default domains under it; choose another domain."),
            ("*.x.apps.test", "*.x.apps.test would cover the wildcard base domain apps.test (Settings) or the projects' default domains under it; choose another domain."),
            ("*.corp.test", "*.corp.test would cover admin.corp.test, the panel's own domain (Settings); choose another domain."),
        ];
        var failures = new List<string>();
        foreach (var (value, message) in admin)
        {
            var (ps, pm, aps, ad) = await TryAsync(w.Admin, w.AdminApi, w.AdmId, "adm", "adm.test", new(value));
            if (ps != HttpStatusCode.UnprocessableEntity || pm != message) failures.Add($"admin page {value}: {(int)ps} {pm}");
            if (aps != HttpStatusCode.Conflict || ad != message) failures.Add($"admin API {value}: {(int)aps} {ad}");
        }
        Assert.Empty(failures);
        Assert.Equal(admBefore, await DomainsJsonAsync(w.AdminApi, "adm"));

        // A wildcard over names nobody holds is fine for an admin; then nobody else may take a name inside it.
        Assert.Equal(HttpStatusCode.SeeOther, (await SaveDomainsAsync(w.Admin, w.AdmId, [new("adm.test"), new("*.wild.test")])).Status);
        var aliceBefore = await DomainsJsonAsync(w.AliceApi, "alice");
        var (ps2, pm2, aps2, ad2) = await TryAsync(w.Alice, w.AliceApi, w.AliceId, "alice", "alice.test", new("shop.wild.test"));
        const string Covered = "shop.wild.test is covered by the wildcard *.wild.test of another user's project. A domain can belong to one project only.";
        Assert.Equal((HttpStatusCode.UnprocessableEntity, Covered), (ps2, pm2));
        Assert.Equal((HttpStatusCode.Conflict, Covered), (aps2, ad2));
        Assert.Equal(aliceBefore, await DomainsJsonAsync(w.AliceApi, "alice"));
        // Nor may the base domain move under it.
        var settings = await w.Admin.SubmitAsync("/settings", new() { ["baseDomain"] = "wild.test", ["panelDomain"] = PanelDomain });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, settings.Status);
        Assert.Equal("Project \"adm\" has the wildcard domain *.wild.test, which would cover wild.test or the default domains under it; remove it there first.",
            settings.Text("#baseDomain ~ .field-error"));

        // Wildcards stored before these rules (a member's *.alice.test over bob's name, *.apps.test over the base):
        // /caddy/ask approves no name through them, while exact names and allowed wildcards still pass.
        using (var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(w.Panel.DataDir, "vpspanel.db")};Pooling=false"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "INSERT INTO project_domains (project_id, hostname, position, http_only) VALUES ($id, '*.alice.test', 5, 0), ($id, '*.apps.test', 6, 0)";
            cmd.Parameters.AddWithValue("$id", w.AliceId);
            Assert.Equal(2, cmd.ExecuteNonQuery());
        }
        using var http = new HttpClient { BaseAddress = new Uri(w.Panel.Url) };
        foreach (var (name, expected) in new[]
                 {
                     ("evil.alice.test", 404), ("anything.apps.test", 404), ("bob.alice.test", 200), ("alice.test", 200),
                     ("alice.apps.test", 200), ("x.wild.test", 200), (PanelDomain, 200), ("127.0.0.1", 404),
                 })
        {
            using var res = await http.GetAsync("/caddy/ask?domain=" + Uri.EscapeDataString(name));
            Assert.True(expected == (int)res.StatusCode, $"ask {name}: {(int)res.StatusCode}, expected {expected}");
        }
    }
}
