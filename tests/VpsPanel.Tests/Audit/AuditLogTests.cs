using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Audit;

/// <summary>One audit_log row as the tests read it straight from the panel's database file.</summary>
public sealed record AuditEntry(long Id, string At, string UserEmail, string Action, string Target, string Detail, string Address, string Via);

/// <summary>
/// The audit log (issue 11): every listed action, driven through the real pages, API and CLI of the published binary,
/// leaves a row with the right user, action, target and address; the rows are append-only; retention prunes only old
/// rows; only admins can read them; bad filters are refused by name.
/// </summary>
public sealed class AuditLogTests
{
    const string Loopback = "127.0.0.1";

    static SqliteConnection Open(string dataDir)
    {
        var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(dataDir, "vpspanel.db"), Pooling = false }.ToString());
        c.Open();
        return c;
    }

    internal static List<AuditEntry> Entries(string dataDir)
    {
        using var c = Open(dataDir);
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT id, at, user_email, action, target, detail, address, via FROM audit_log ORDER BY id";
        using var r = cmd.ExecuteReader();
        var list = new List<AuditEntry>();
        while (r.Read())
            list.Add(new AuditEntry(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6), r.GetString(7)));
        return list;
    }

    static long Scalar(string dataDir, string sql) => long.Parse(Backups.BackupRestoreTests.Scalar(dataDir, sql)!);

    static void Execute(string dataDir, string sql)
    {
        using var c = Open(dataDir);
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    static string DaysAgo(double days) => DateTime.UtcNow.AddDays(-days).ToString("yyyy-MM-ddTHH:mm:ss.fffZ");

    /// <summary>Inserts a row as the panel would (INSERT is what the append-only table allows).</summary>
    static void InsertAt(string dataDir, string at, string action, string target)
    {
        using var c = Open(dataDir);
        using var cmd = c.CreateCommand();
        cmd.CommandText = "INSERT INTO audit_log (at, user_email, action, target, address, via) VALUES ($at, 'old@example.com', $action, $target, '192.0.2.1', 'web')";
        cmd.Parameters.AddWithValue("$at", at);
        cmd.Parameters.AddWithValue("$action", action);
        cmd.Parameters.AddWithValue("$target", target);
        cmd.ExecuteNonQuery();
    }

    /// <summary>Exactly one row for this action and target, by this user, from this address and door.</summary>
    static AuditEntry AssertRow(List<AuditEntry> rows, string action, string target, string user, string address, string via, string? detailContains = null)
    {
        var found = rows.Where(r => r.Action == action && r.Target == target && r.Via == via).ToList();
        Assert.True(found.Count == 1, $"expected one {action} row for {target} via {via}, found {found.Count}. All rows:\n{string.Join("\n", rows)}");
        var row = found[0];
        Assert.Equal(user, row.UserEmail);
        Assert.Equal(address, row.Address);
        if (detailContains is not null) Assert.Contains(detailContains, row.Detail);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", row.At);
        return row;
    }

    static void AssertRedirected(Page page, string what) =>
        Assert.True(page.Status is HttpStatusCode.Redirect or HttpStatusCode.SeeOther, $"{what} answered {page.Status}: {page.Text(".field-error") ?? page.Html[..Math.Min(page.Html.Length, 500)]}");

    [Fact]
    public async Task Every_listed_action_leaves_a_row_with_its_user_target_and_address_and_a_restored_panel_has_them()
    {
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string> { ["Backup__Schedule"] = "" });
        var data = env.Panel.DataDir;
        var admin = PanelSetup.AdminEmail;
        var outDir = Paths.NewTempDir();
        var restored = Paths.NewTempDir();
        try
        {
            // Sign-in: a wrong password, then the right one, then sign out.
            using (var browser = new PanelClient(env.Panel))
            {
                Assert.Equal(HttpStatusCode.UnprocessableEntity, (await browser.LoginAsync(admin, "not the password at all")).Status);
                AssertRedirected(await browser.LoginAsync(admin, PanelSetup.AdminPassword), "sign-in");
                AssertRedirected(await browser.SubmitAsync("/", new(), "/logout"), "sign-out");
            }

            // Users, on the pages and from the CLI.
            AssertRedirected(await env.Client.SubmitAsync("/users/new", new() { ["email"] = "bob@example.com", ["password"] = "bob's first password", ["role"] = "member" }), "add bob");
            var bobPage = $"/users/{Scalar(data, "SELECT id FROM users WHERE email = 'bob@example.com'")}";
            AssertRedirected(await env.Client.SubmitAsync(bobPage, new() { ["role"] = "admin" }, bobPage + "?handler=Access"), "make bob admin");
            AssertRedirected(await env.Client.SubmitAsync(bobPage, new() { ["role"] = "admin", ["disabled"] = "true" }, bobPage + "?handler=Access"), "disable bob");
            AssertRedirected(await env.Client.SubmitAsync(bobPage, new() { ["newPassword"] = "bob's second password" }, bobPage + "?handler=Password"), "reset bob");
            Assert.Equal(0, (await PanelCli.RunAsync(["user", "add", "--email", "carol@example.com", "--data-dir", data], "carol's password 1\n")).ExitCode);
            Assert.Equal(0, (await PanelCli.RunAsync(["user", "reset-password", "--email", "carol@example.com", "--data-dir", data], "carol's password 2\n")).ExitCode);
            Assert.Equal(0, (await PanelCli.RunAsync(["user", "disable", "--email", "carol@example.com", "--data-dir", data])).ExitCode);

            // Tokens: page, API, CLI.
            using var api = await TestApi.ForUserAsync(env.Panel, admin);
            Assert.Equal(HttpStatusCode.OK, (await env.Client.SubmitAsync("/tokens", new() { ["name"] = "page-token" }, "/tokens?handler=Create")).Status);
            var pageTokenId = Scalar(data, "SELECT id FROM api_tokens WHERE name = 'page-token'");
            AssertRedirected(await env.Client.SubmitAsync("/tokens", new() { ["id"] = pageTokenId.ToString() }, "/tokens?handler=Revoke"), "revoke on the page");
            var apiToken = await api.SendAsync(HttpMethod.Post, "/api/tokens", """{"name":"api-token","expiresInDays":5}""");
            Assert.Equal(HttpStatusCode.Created, apiToken.Status);
            var apiTokenId = (long)apiToken.Body!["id"]!;
            Assert.Equal(HttpStatusCode.NoContent, (await api.SendAsync(HttpMethod.Delete, $"/api/tokens/{apiTokenId}")).Status);
            Assert.Equal(0, (await PanelCli.RunAsync(["token", "create", "--user", admin, "--name", "cli-token", "--data-dir", data])).ExitCode);
            var cliTokenId = Scalar(data, "SELECT id FROM api_tokens WHERE name = 'cli-token'");
            Assert.Equal(0, (await PanelCli.RunAsync(["token", "revoke", cliTokenId.ToString(), "--data-dir", data])).ExitCode);

            // A project: create, edit, domains, variables (page and API), webhook secret (page and API).
            using var repo = TestRepo.WithBusyboxApp("audit v1", env.Label);
            var slug = env.Name();
            var domain = $"{slug}.test";
            var projectId = await env.CreateProjectAsync(repo, domain, slug);
            AssertRedirected(await env.Client.SubmitAsync($"/projects/{projectId}/edit", DeployEnv.ProjectFields(slug, repo.Bare, domain, repo.Branch)), "edit");
            AssertRedirected(await env.Client.SubmitAsync($"/projects/{projectId}/domains", new() { ["host"] = domain, ["primary"] = "0", ["aliasMode"] = "serve" }), "domains");
            const string apiSecret = "api-secret-value-8f3a";
            const string pageSecret = "page-secret-value-91c2";
            Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(HttpMethod.Put, $"/api/projects/{slug}/variables", $$"""[{"key":"API_KEY","value":"{{apiSecret}}","secret":true}]""")).Status);
            AssertRedirected(await env.Client.SubmitAsync($"/projects/{projectId}/variables", new()
            {
                ["key"] = "PAGE_KEY", ["value"] = pageSecret, ["secret"] = "true", ["runtime"] = "true",
            }, $"/projects/{projectId}/variables?handler=Save"), "variables");
            AssertRedirected(await env.Client.SubmitAsync($"/projects/{projectId}", new(), $"/projects/{projectId}?handler=NewWebhookSecret"), "new webhook secret");
            Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(HttpMethod.Post, $"/api/projects/{slug}/webhook-secret")).Status);

            // Deployments on the real engine: deploy (page, API), roll back (page, API), cancel (page, API).
            var d1 = await env.DeployAsync(projectId);
            await env.WaitForLiveAsync(d1);
            repo.CommitApp("audit v2", env.Label, "v2");
            var d2 = (long)(await api.SendAsync(HttpMethod.Post, $"/api/projects/{slug}/deployments")).Body!["id"]!;
            await env.WaitForLiveAsync(d2);
            var d3 = long.Parse((await env.DeploymentActionAsync(d1, "Rollback")).Split('/').Last());
            await env.WaitForLiveAsync(d3);
            var rollbackAnswer = await api.SendAsync(HttpMethod.Post, $"/api/deployments/{d2}/rollback");
            Assert.True(rollbackAnswer.Status == HttpStatusCode.Accepted, $"{rollbackAnswer.Status}: {rollbackAnswer.Body}");
            var d4 = (long)rollbackAnswer.Body!["id"]!;
            await env.WaitForLiveAsync(d4);
            var d5 = (long)(await api.SendAsync(HttpMethod.Post, $"/api/projects/{slug}/deployments")).Body!["id"]!;
            await env.DeploymentActionAsync(d5, "Cancel");
            var d6 = (long)(await api.SendAsync(HttpMethod.Post, $"/api/projects/{slug}/deployments")).Body!["id"]!;
            Assert.Equal(HttpStatusCode.Accepted, (await api.SendAsync(HttpMethod.Post, $"/api/deployments/{d6}/cancel")).Status);
            Assert.Equal("cancelled", await env.WaitForEndAsync(d5));
            Assert.Equal("cancelled", await env.WaitForEndAsync(d6));

            // Settings, then a backup, then the project goes (through the API).
            AssertRedirected(await env.Client.SubmitAsync("/settings", new() { ["baseDomain"] = "", ["panelDomain"] = "" }), "settings");
            var backup = await PanelCli.RunAsync(["backup", outDir, "--data-dir", data]);
            Assert.True(backup.ExitCode == 0, backup.Stderr);
            var archive = backup.Stdout.Trim();
            Assert.Equal(HttpStatusCode.NoContent, (await api.SendAsync(HttpMethod.Delete, $"/api/projects/{slug}")).Status);

            var rows = Entries(data);
            AssertRow(rows, "auth.sign_in_failed", admin, admin, Loopback, "web", "wrong password");
            AssertRow(rows, "auth.sign_in", admin, admin, Loopback, "web");
            AssertRow(rows, "auth.sign_out", admin, admin, Loopback, "web");
            AssertRow(rows, "user.create", "bob@example.com", admin, Loopback, "web", "role member");
            AssertRow(rows, "user.role_change", "bob@example.com", admin, Loopback, "web", "member to admin");
            AssertRow(rows, "user.disable", "bob@example.com", admin, Loopback, "web");
            AssertRow(rows, "user.password_reset", "bob@example.com", admin, Loopback, "web");
            AssertRow(rows, "user.create", "carol@example.com", "", "cli", "cli");
            AssertRow(rows, "user.password_reset", "carol@example.com", "", "cli", "cli");
            AssertRow(rows, "user.disable", "carol@example.com", "", "cli", "cli");
            AssertRow(rows, "token.create", "page-token", admin, Loopback, "web");
            AssertRow(rows, "token.revoke", $"token {pageTokenId}", admin, Loopback, "web");
            AssertRow(rows, "token.create", "api-token", admin, Loopback, "api", "expires in 5 days");
            AssertRow(rows, "token.revoke", $"token {apiTokenId}", admin, Loopback, "api");
            AssertRow(rows, "token.create", "cli-token", "", "cli", "cli", admin);
            AssertRow(rows, "token.revoke", $"token {cliTokenId}", "", "cli", "cli");
            AssertRow(rows, "project.create", slug, admin, Loopback, "web", repo.Bare);
            AssertRow(rows, "project.edit", slug, admin, Loopback, "web");
            AssertRow(rows, "domains.change", slug, admin, Loopback, "web", domain);
            AssertRow(rows, "variables.change", slug, admin, Loopback, "api", "API_KEY");
            AssertRow(rows, "variables.change", slug, admin, Loopback, "web", "PAGE_KEY");
            AssertRow(rows, "webhook_secret.rotate", slug, admin, Loopback, "web");
            AssertRow(rows, "webhook_secret.rotate", slug, admin, Loopback, "api");
            var queued = rows.Where(r => r.Action == "deploy.queue" && r.Target == slug).ToList();
            Assert.Contains(queued, r => r.Via == "web" && r.Detail.StartsWith($"deployment {d1} ") && r.UserEmail == admin && r.Address == Loopback);
            foreach (var d in new[] { d2, d5, d6 })
                Assert.Contains(queued, r => r.Via == "api" && r.Detail.StartsWith($"deployment {d} ") && r.UserEmail == admin && r.Address == Loopback);
            AssertRow(rows, "deploy.rollback", slug, admin, Loopback, "web", $"deployment {d3} restores deployment {d1}");
            AssertRow(rows, "deploy.rollback", slug, admin, Loopback, "api", $"deployment {d4} restores deployment {d2}");
            AssertRow(rows, "deploy.cancel", slug, admin, Loopback, "web", $"deployment {d5}");
            AssertRow(rows, "deploy.cancel", slug, admin, Loopback, "api", $"deployment {d6}");
            AssertRow(rows, "settings.change", "settings", admin, Loopback, "web");
            AssertRow(rows, "backup.create", archive, "", "cli", "cli");
            AssertRow(rows, "project.delete", slug, admin, Loopback, "api");
            // Keys only: no value, secret or not, reaches the log.
            Assert.DoesNotContain(rows, r => (r.Detail + r.Target).Contains(apiSecret) || (r.Detail + r.Target).Contains(pageSecret));

            // The backup carries the log: restored, a panel on it serves the rows (and the restore itself) to an admin.
            var restore = await PanelCli.RunAsync(["restore", archive, "--data-dir", restored]);
            Assert.True(restore.ExitCode == 0, restore.Stderr);
            AssertRow(Entries(restored), "backup.restore", archive, "", "cli", "cli");
            await using var back = await PanelProcess.StartAsync(new Dictionary<string, string> { ["Backup__Schedule"] = "" }, dataDir: restored);
            using var backApi = new TestApi(back, api.Token);
            var served = (await backApi.GetAsync("/api/audit?limit=1000")).AsArray();
            foreach (var (action, target) in new[] { ("auth.sign_in", admin), ("user.create", "bob@example.com"), ("deploy.rollback", slug), ("variables.change", slug), ("backup.restore", archive) })
                Assert.Contains(served, r => (string)r!["action"]! == action && (string)r["target"]! == target);
            Assert.DoesNotContain(served, r => (string)r!["action"]! == "project.delete");
        }
        finally
        {
            Paths.DeleteQuietly(outDir);
            Paths.DeleteQuietly(restored);
        }
    }

    [Fact]
    public async Task A_signed_webhook_push_is_recorded_as_a_deploy_with_no_user_and_the_sender_address()
    {
        await using var panel = await PanelProcess.StartAsync();
        using (await PanelSetup.SignedInAdminAsync(panel)) { }
        using var api = await TestApi.ForUserAsync(panel, PanelSetup.AdminEmail);
        // The repository does not exist: the queued deployment fails at cloning; only the queueing matters here.
        var project = await api.CreateProjectAsync("audit-hook", "/tmp/vpspanel-missing-audit-hook.git", "audit-hook.test");
        var body = Webhooks.WebhookMessageTests.Payload("gitea-push.json");
        var (status, answer) = await Webhooks.WebhookEndpointTests.PostAsync(api.Http, "/webhooks/audit-hook", body,
            Webhooks.WebhookEndpointTests.Signed("gitea", body, (string)project["webhookSecret"]!, delivery: "audit-delivery-1"));
        Assert.True(status == HttpStatusCode.Accepted, $"{status}: {answer}");
        var row = AssertRow(Entries(panel.DataDir), "deploy.queue", "audit-hook", "", Loopback, "webhook", $"deployment {(long)answer!["deploymentId"]!} of commit");
        Assert.Contains("audit-delivery-1", row.Detail);
        // An unsigned post queues nothing and writes no audit row (the delivery log has it).
        var (unsigned, _) = await Webhooks.WebhookEndpointTests.PostAsync(api.Http, "/webhooks/audit-hook", body, ("X-Gitea-Event", "push"), ("X-Gitea-Delivery", "x"));
        Assert.Equal(HttpStatusCode.Unauthorized, unsigned);
        Assert.Single(Entries(panel.DataDir), r => r.Action == "deploy.queue");
    }

    [Fact]
    public async Task The_database_refuses_to_change_or_delete_recent_rows_and_lets_only_rows_older_than_30_days_go()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        var data = panel.DataDir;
        var before = Entries(data);
        Assert.Contains(before, r => r.Action == "user.create" && r.Target == PanelSetup.AdminEmail);

        var update = Assert.Throws<SqliteException>(() => Execute(data, "UPDATE audit_log SET detail = 'rewritten', at = '2000-01-01T00:00:00.000Z'"));
        Assert.Contains("append-only", update.Message);
        var delete = Assert.Throws<SqliteException>(() => Execute(data, "DELETE FROM audit_log"));
        Assert.Contains("append-only", delete.Message);
        InsertAt(data, DaysAgo(29.9), "project.create", "almost-old");
        Assert.Throws<SqliteException>(() => Execute(data, "DELETE FROM audit_log WHERE target = 'almost-old'"));
        Assert.Equal(before, Entries(data).Where(r => r.Target != "almost-old").ToList());

        // What the retention prune deletes (rows older than 30 days and more) goes through.
        InsertAt(data, DaysAgo(31), "project.create", "old-enough");
        Execute(data, "DELETE FROM audit_log WHERE target = 'old-enough'");
        Assert.DoesNotContain(Entries(data), r => r.Target == "old-enough");
        Assert.Contains(Entries(data), r => r.Target == "almost-old");
    }

    [Fact]
    public async Task Retention_prunes_only_rows_older_than_Audit_RetentionDays_and_a_bad_value_stops_startup()
    {
        var settings = new Dictionary<string, string> { ["Audit__RetentionDays"] = "45" };
        await using var panel = await PanelProcess.StartAsync(settings);
        using (await PanelSetup.SignedInAdminAsync(panel)) { }
        await panel.StopAsync();
        var data = panel.DataDir;
        InsertAt(data, DaysAgo(400), "project.delete", "ancient");
        InsertAt(data, DaysAgo(46), "project.edit", "just-past");
        InsertAt(data, DaysAgo(44), "project.edit", "just-inside");
        InsertAt(data, DaysAgo(31), "project.edit", "recent");

        // The prune runs at startup (and every 6 hours).
        await using var again = await PanelProcess.StartAsync(settings, dataDir: data);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (Entries(data).Any(r => r.Target == "ancient") && DateTime.UtcNow < deadline) await Task.Delay(200);
        var targets = Entries(data).Select(r => r.Target).ToList();
        Assert.DoesNotContain("ancient", targets);
        Assert.DoesNotContain("just-past", targets);
        Assert.Contains("just-inside", targets);
        Assert.Contains("recent", targets);
        Assert.Contains(PanelSetup.AdminEmail, targets);
        Assert.Contains("2 row(s) older than 45 days removed", again.Log);

        // Below the trigger's 30-day floor (or not a number) is refused by name, before anything starts.
        foreach (var bad in new[] { "29", "0", "a year", "36501" })
        {
            var r = await PanelCli.RunAsync(["config"], env: new Dictionary<string, string> { ["Audit__RetentionDays"] = bad });
            Assert.Equal(2, r.ExitCode);
            Assert.Contains("Audit:RetentionDays", r.Stderr);
            Assert.Contains("30 to 36500", r.Stderr);
        }
    }

    [Fact]
    public async Task Only_admins_see_the_audit_page_its_link_and_the_API_and_the_page_pages_back()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        Assert.Equal(0, (await PanelCli.RunAsync(["user", "add", "--email", "member@example.com", "--data-dir", panel.DataDir], "member password 12\n")).ExitCode);
        using var member = new PanelClient(panel);
        AssertRedirected(await member.LoginAsync("member@example.com", "member password 12"), "member sign-in");

        // The page: members are sent to the 403 page, and their nav has no link to it.
        var denied = await member.GetAsync("/audit");
        Assert.Equal(HttpStatusCode.Redirect, denied.Status);
        Assert.StartsWith("/forbidden", denied.Response.Headers.Location!.OriginalString.Replace(panel.Url, ""));
        Assert.Equal(HttpStatusCode.Forbidden, (await member.GetAsync(denied.Response.Headers.Location!.OriginalString)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await member.Http.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/audit") { Headers = { { "HX-Request", "true" } } })).StatusCode);
        Assert.Null((await member.GetAsync("/")).Doc.QuerySelector("nav a[href='/audit']"));
        Assert.NotNull((await admin.GetAsync("/")).Doc.QuerySelector("nav a[href='/audit']"));
        using var anonymous = new PanelClient(panel);
        Assert.StartsWith("/login", (await anonymous.GetAsync("/audit")).Response.Headers.Location!.OriginalString.Replace(panel.Url, ""));

        // The API: problem+json 403 for a member, 401 without a token, the rows for an admin.
        using var memberApi = await TestApi.ForUserAsync(panel, "member@example.com");
        var forbidden = TestApi.Problem(await memberApi.SendAsync(HttpMethod.Get, "/api/audit"), HttpStatusCode.Forbidden);
        Assert.Contains("admins", (string)forbidden["detail"]!);
        Assert.DoesNotContain("member@example.com", forbidden.ToJsonString());
        using var noToken = new HttpClient { BaseAddress = new Uri(panel.Url) };
        Assert.Equal(HttpStatusCode.Unauthorized, (await noToken.GetAsync("/api/audit")).StatusCode);
        using var adminApi = await TestApi.ForUserAsync(panel, PanelSetup.AdminEmail);
        var all = (await adminApi.GetAsync("/api/audit")).AsArray();
        Assert.Contains(all, r => (string)r!["action"]! == "auth.sign_in" && (string)r["userEmail"]! == "member@example.com" && (string)r["address"]! == Loopback);

        // Paging: 60 more rows make a second page on the admin page, and ?before= pages the API.
        for (var i = 0; i < 60; i++) InsertAt(panel.DataDir, DaysAgo(1), "project.edit", $"bulk-{i:00}");
        var first = await admin.GetAsync("/audit?action=project.");
        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(50, first.Doc.QuerySelectorAll("#audit-log tbody tr").Length);
        Assert.Equal("bulk-59", first.Text("#audit-log tbody tr .audit-target"));
        var older = first.Doc.QuerySelector("#audit-older")!.GetAttribute("href")!;
        Assert.Contains("action=project.", older);
        var second = await admin.GetAsync(older);
        Assert.Equal(10, second.Doc.QuerySelectorAll("#audit-log tbody tr").Length);
        Assert.Equal("bulk-00", second.Texts("#audit-log tbody tr .audit-target").Last());
        Assert.Null(second.Doc.QuerySelector("#audit-older"));
        var page1 = (await adminApi.GetAsync("/api/audit?action=project.edit&limit=25")).AsArray();
        var page2 = (await adminApi.GetAsync($"/api/audit?action=project.edit&limit=25&before={(long)page1[^1]!["id"]!}")).AsArray();
        Assert.Equal("bulk-34", (string)page2[0]!["target"]!);
        Assert.Equal(25, page2.Count);
    }

    [Theory]
    [InlineData("since=yesterday", "since")]
    [InlineData("until=2026-13-45", "until")]
    [InlineData("since=2026-12-02&until=2026-12-01", "until")]
    [InlineData("action=DROP%20TABLE", "action")]
    [InlineData("action=auth%27--", "action")]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=1001", "limit")]
    [InlineData("limit=ten", "limit")]
    [InlineData("before=-5", "before")]
    public async Task A_bad_filter_is_a_422_naming_the_field_on_the_API_and_on_the_page(string query, string field)
    {
        await using var panel = await PanelProcess.StartAsync();
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        using var api = await TestApi.ForUserAsync(panel, PanelSetup.AdminEmail);
        var problem = TestApi.Problem(await api.SendAsync(HttpMethod.Get, "/api/audit?" + query), HttpStatusCode.UnprocessableEntity);
        Assert.NotNull(problem["errors"]![field]);
        Assert.Contains(field, (string)problem["detail"]!);
        Assert.Single(problem["errors"]!.AsObject());

        // The page has no limit/before; its own fields get the message next to them and no rows are listed.
        if (field is "since" or "until" or "action")
        {
            var page = await admin.GetAsync("/audit?" + query);
            Assert.Equal(HttpStatusCode.UnprocessableEntity, page.Status);
            Assert.False(string.IsNullOrWhiteSpace(page.Text($"#{field} + .field-error")));
            Assert.Null(page.Doc.QuerySelector("#audit-log"));
        }
        var user = TestApi.Problem(await api.SendAsync(HttpMethod.Get, "/api/audit?user=" + new string('u', 255)), HttpStatusCode.UnprocessableEntity);
        Assert.NotNull(user["errors"]!["user"]);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await admin.GetAsync("/audit?page=0")).Status);
    }

    [Fact]
    public async Task An_admin_filters_the_audit_page_in_the_browser()
    {
        await using var panel = await PanelProcess.StartAsync();
        using (await PanelSetup.SignedInAdminAsync(panel)) { }
        Assert.Equal(0, (await PanelCli.RunAsync(["token", "create", "--user", PanelSetup.AdminEmail, "--name", "browser-test", "--data-dir", panel.DataDir])).ExitCode);
        Assert.Equal(0, (await PanelCli.RunAsync(["user", "add", "--email", "dave@example.com", "--data-dir", panel.DataDir], "dave password 123\n")).ExitCode);

        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        await Browser.SignInAsync(page, panel.Url, PanelSetup.AdminEmail, PanelSetup.AdminPassword);
        await page.ClickAsync("nav a[href='/audit']");
        await page.WaitForSelectorAsync("#audit-log");
        var actions = await page.Locator("#audit-log .audit-action").AllTextContentsAsync();
        Assert.Contains("auth.sign_in", actions);
        Assert.Contains("token.create", actions);
        Assert.Contains("user.create", actions);
        Assert.Equal("auth.sign_in", actions[0].Trim()); // newest first

        await page.FillAsync("#action", "user.");
        await page.ClickAsync("#audit-filter button[type=submit]");
        await Browser.WaitForUrlAsync(page, u => u.Contains("action=user."));
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('#audit-log .audit-action')].every(a => a.textContent.trim().startsWith('user.'))");
        var filtered = (await page.Locator("#audit-log .audit-action").AllTextContentsAsync()).Select(a => a.Trim()).ToList();
        Assert.Equal(new[] { "user.create", "user.create" }, filtered.ToArray());
        Assert.Equal(new[] { "dave@example.com", PanelSetup.AdminEmail }, (await page.Locator("#audit-log .audit-target").AllTextContentsAsync()).Select(a => a.Trim()).ToArray());
        Assert.Equal("cli cli", (await page.Locator("#audit-log .audit-address").First.TextContentAsync())!.Trim().Replace("\n", " ").Replace("  ", " "));

        await page.FillAsync("#user", "nobody-here");
        await page.ClickAsync("#audit-filter button[type=submit]");
        await page.WaitForSelectorAsync("#audit-empty");

        await page.FillAsync("#since", "last tuesday");
        await page.ClickAsync("#audit-filter button[type=submit]");
        await page.WaitForSelectorAsync("#since + .field-error");
        Assert.Contains("2026-12-01", await page.Locator("#since + .field-error").TextContentAsync());
        await page.ScreenshotAsync(new() { Path = Path.Combine(Path.GetTempPath(), "vpspanel-audit.png"), FullPage = true });
    }
}
