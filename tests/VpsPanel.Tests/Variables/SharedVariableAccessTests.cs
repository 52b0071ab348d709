using System.Net;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Playwright;
using VpsPanel.Features.Data;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;
using static VpsPanel.Tests.Variables.VariableTestKit;

namespace VpsPanel.Tests.Variables;

/// <summary>
/// Who may use a shared variable (finding 4): a member's project sees, includes and gets only the shared variables an
/// admin opened to it, checked again at every deployment, rollbacks included.
/// </summary>
public sealed class SharedVariableAccessTests
{
    const string MemberEmail = "member@example.com";
    const string MemberPassword = "member password 1";
    const string NotUsable = "is not a shared variable this project may use";

    static async Task AddMemberAsync(PanelClient admin)
    {
        var added = await admin.SubmitAsync("/users/new", new() { ["email"] = MemberEmail, ["password"] = MemberPassword, ["role"] = "member" });
        Assert.Equal(HttpStatusCode.SeeOther, added.Status);
    }

    static async Task<PanelClient> MemberClientAsync(PanelProcess panel)
    {
        var member = new PanelClient(panel);
        await member.LoginAsync(MemberEmail, MemberPassword);
        return member;
    }

    /// <summary>
    /// Hands a project the admin made to the member. Members may not deploy from local paths and the test machine has no
    /// git host, so the admin creates the project on the local test repository; the rule keys on the project's owner.
    /// </summary>
    static void GiveProjectToMember(PanelProcess panel, long projectId)
    {
        using var c = Db.OpenFile(Path.Combine(panel.DataDir, "vpspanel.db"));
        Assert.Equal(1, c.Execute("UPDATE projects SET owner_id = (SELECT id FROM users WHERE email = @MemberEmail) WHERE id = @projectId", new { MemberEmail, projectId }));
    }

    static long CountIncludes(PanelProcess panel, long projectId)
    {
        using var c = Db.OpenFile(Path.Combine(panel.DataDir, "vpspanel.db"));
        return c.ExecuteScalar<long>("SELECT count(*) FROM project_shared_variables WHERE project_id = @projectId", new { projectId });
    }

    static async Task SetAccessAsync(PanelClient admin, string key, string mode, Dictionary<string, string>? ticks = null)
    {
        var fields = new Dictionary<string, string> { ["key"] = key, ["mode"] = mode };
        foreach (var (k, v) in ticks ?? []) fields[k] = v;
        var saved = await admin.SubmitAsync($"/variables/access?key={key}", fields, "/variables/access?handler=Save");
        Assert.True(saved.Status == HttpStatusCode.SeeOther, $"saving the rule answered {saved.Status}: {saved.Text(".field-error")}");
    }

    /// <summary>The environment Docker started the deployment's container with (docker inspect), as one string.</summary>
    static async Task<string> ContainerEnvAsync(DeployEnv env, long deploymentId)
    {
        var container = (await env.PanelContainersAsync()).Single(c => c.Labels["vpspanel.deployment"] == deploymentId.ToString());
        var inspect = await TestDebian.RunAsync("docker", ["inspect", "--format", "{{json .Config.Env}}", container.Id]);
        Assert.True(inspect.ExitCode == 0, inspect.Stderr);
        return inspect.Stdout;
    }

    static async Task<long> DeployAsync(TestApi api, string slug)
    {
        var (status, body, _) = await api.SendAsync(HttpMethod.Post, $"/api/projects/{slug}/deployments");
        Assert.True(status == HttpStatusCode.Accepted, $"deploy answered {status}: {body}");
        var id = (long)body!["id"]!;
        var done = await api.WaitForEndAsync(id);
        Assert.True((string)done["status"]! == "live", $"deployment {id} ended {done["status"]}: {await api.Http.GetStringAsync($"/api/deployments/{id}/log")}");
        return id;
    }

    [Fact]
    public async Task A_member_cannot_list_include_or_receive_an_admin_only_shared_secret_until_granted_and_loses_it_when_revoked()
    {
        await using var env = await DeployEnv.StartAsync();
        using var repo = EnvPrintingRepo(env.Label);
        var domain = $"{env.Name()}.test";
        var slug = env.Name();
        var projectId = await env.CreateProjectAsync(repo, domain);
        var secret = "admin-only-" + Guid.NewGuid().ToString("N");
        var shared = await env.Client.SubmitAsync("/variables", new() { ["env"] = $"ADMIN_SECRET={secret}\n", ["newSecret"] = "true", ["newRuntime"] = "true" }, "/variables?handler=Env");
        Assert.Equal(HttpStatusCode.SeeOther, shared.Status);
        await AddMemberAsync(env.Client);
        GiveProjectToMember(env.Panel, projectId);
        using var member = await MemberClientAsync(env.Panel);
        using var api = await TestApi.ForUserAsync(env.Panel, MemberEmail);

        // A new shared variable is closed: the member neither sees it on the page nor in the API.
        var page = await member.GetAsync($"/projects/{projectId}/variables");
        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.DoesNotContain("ADMIN_SECRET", page.Html);
        Assert.Empty((await api.GetAsync($"/api/projects/{slug}/shared-variables")).AsArray());
        Assert.Contains("admins' projects only", (await env.Client.GetAsync("/variables")).Text("#shared-access tr[data-key=ADMIN_SECRET] .access"));

        // Including it anyway: the page form, the API and a pasted .env are refused with a message, and nothing changes.
        var viaPage = await member.SubmitAsync($"/projects/{projectId}/variables", new() { ["include"] = "ADMIN_SECRET" }, $"/projects/{projectId}/variables?handler=Shared");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, viaPage.Status);
        Assert.Contains($"ADMIN_SECRET {NotUsable}", viaPage.Text(".field-error"));
        // A key that does not exist gets the same words: the answer does not tell which names exist.
        var missing = await member.SubmitAsync($"/projects/{projectId}/variables", new() { ["include"] = "NO_SUCH_KEY" }, $"/projects/{projectId}/variables?handler=Shared");
        Assert.Contains($"NO_SUCH_KEY {NotUsable}", missing.Text(".field-error"));
        // An admin cannot include it into a member's project either: the rule is about who can read the project's app.
        var byAdmin = await env.Client.SubmitAsync($"/projects/{projectId}/variables", new() { ["include"] = "ADMIN_SECRET" }, $"/projects/{projectId}/variables?handler=Shared");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, byAdmin.Status);
        var viaApi = TestApi.Problem(await api.SendAsync(HttpMethod.Put, $"/api/projects/{slug}/shared-variables", """["ADMIN_SECRET"]"""), HttpStatusCode.UnprocessableEntity);
        Assert.Contains(NotUsable, (string)viaApi["detail"]!);
        var pasted = await member.SubmitAsync($"/projects/{projectId}/variables", new() { ["env"] = "ADMIN_SECRET=********\n", ["newSecret"] = "true", ["newRuntime"] = "true" }, $"/projects/{projectId}/variables?handler=Env");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, pasted.Status);
        Assert.Contains("no stored secret value", pasted.Text(".field-error"));
        Assert.Equal(0, CountIncludes(env.Panel, projectId));
        Assert.Empty((await api.GetAsync($"/api/projects/{slug}/variables")).AsArray());

        // An include from before the rule existed (the migration keeps it): the deployment still leaves the value out.
        using (var c = Db.OpenFile(Path.Combine(env.Panel.DataDir, "vpspanel.db")))
            c.Execute("INSERT INTO project_shared_variables (project_id, key) VALUES (@projectId, 'ADMIN_SECRET')", new { projectId });
        Assert.Contains("ADMIN_SECRET", (await member.GetAsync($"/projects/{projectId}/variables")).Text("#closed-includes"));
        var closed = await DeployAsync(api, slug);
        Assert.DoesNotContain(secret, await ServedEnvAsync(env, domain));
        Assert.DoesNotContain("ADMIN_SECRET", await ContainerEnvAsync(env, closed));

        // The admin opens it to the member: listed (masked), included through the API, and the next deploy gets it.
        await SetAccessAsync(env.Client, "ADMIN_SECRET", "chosen", new() { ["user"] = UserId(env.Panel, MemberEmail).ToString() });
        Assert.Contains($"projects of {MemberEmail}", (await env.Client.GetAsync("/variables")).Text("#shared-access tr[data-key=ADMIN_SECRET] .access"));
        var listed = (await api.GetAsync($"/api/projects/{slug}/shared-variables")).AsArray().Single()!;
        Assert.Equal("ADMIN_SECRET", (string)listed["key"]!);
        Assert.Equal("********", (string)listed["value"]!);
        var included = await api.SendAsync(HttpMethod.Put, $"/api/projects/{slug}/shared-variables", """["ADMIN_SECRET"]""");
        Assert.True(included.Status == HttpStatusCode.OK, $"{included.Status}: {included.Body}");
        Assert.True((bool)included.Body!.AsArray().Single()!["included"]!);
        Assert.DoesNotContain(secret, included.Body.ToJsonString());
        var granted = await DeployAsync(api, slug);
        Assert.Contains($"ADMIN_SECRET={secret}", await ServedEnvAsync(env, domain));
        Assert.Contains($"ADMIN_SECRET={secret}", await ContainerEnvAsync(env, granted));

        // Closed again: the project is marked for a redeploy, and neither the next deploy nor a rollback gets it.
        await SetAccessAsync(env.Client, "ADMIN_SECRET", "admins");
        Assert.NotNull((await member.GetAsync($"/projects/{projectId}")).Doc.QuerySelector("#redeploy-banner"));
        Assert.Empty((await api.GetAsync($"/api/projects/{slug}/shared-variables")).AsArray());
        var revoked = await DeployAsync(api, slug);
        Assert.DoesNotContain(secret, await ServedEnvAsync(env, domain));
        Assert.DoesNotContain("ADMIN_SECRET", await ContainerEnvAsync(env, revoked));
        var (status, body, _) = await api.SendAsync(HttpMethod.Post, $"/api/deployments/{granted}/rollback");
        Assert.True(status == HttpStatusCode.Accepted, $"rollback answered {status}: {body}");
        var rollback = (long)body!["id"]!;
        Assert.Equal("live", (string)(await api.WaitForEndAsync(rollback))["status"]!);
        Assert.DoesNotContain(secret, await ServedEnvAsync(env, domain));
        Assert.DoesNotContain("ADMIN_SECRET", await ContainerEnvAsync(env, rollback));
        Assert.Contains("left out the shared variable ADMIN_SECRET", await api.Http.GetStringAsync($"/api/deployments/{rollback}/log"));
    }

    static long UserId(PanelProcess panel, string email)
    {
        using var c = Db.OpenFile(Path.Combine(panel.DataDir, "vpspanel.db"));
        return c.ExecuteScalar<long>("SELECT id FROM users WHERE email = @email", new { email });
    }

    [Fact]
    public async Task Opening_to_all_projects_or_one_project_shows_the_variable_to_that_member_only_and_bad_rules_change_nothing()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        Assert.Equal(HttpStatusCode.SeeOther, (await admin.SubmitAsync("/variables", new() { ["env"] = "REGION=eu-west\nOTHER=x\n", ["newRuntime"] = "true" }, "/variables?handler=Env")).Status);
        await AddMemberAsync(admin);
        using var api = await TestApi.ForUserAsync(panel, MemberEmail);
        var mine = (string)(await api.CreateProjectAsync("mine", "https://git.example.com/me/app.git", "mine.test"))["slug"]!;
        var other = (string)(await api.CreateProjectAsync("other", "https://git.example.com/me/other.git", "other.test"))["slug"]!;
        using var adminApi = await TestApi.ForUserAsync(panel, PanelSetup.AdminEmail);
        var mineId = (long)(await adminApi.GetAsync($"/api/projects/{mine}"))["id"]!;

        // A project's own grant: that project sees it, the member's other project does not.
        await SetAccessAsync(admin, "REGION", "chosen", new() { ["project"] = mineId.ToString() });
        Assert.Equal(["REGION"], (await api.GetAsync($"/api/projects/{mine}/shared-variables")).AsArray().Select(v => (string)v!["key"]!));
        Assert.Empty((await api.GetAsync($"/api/projects/{other}/shared-variables")).AsArray());
        TestApi.Problem(await api.SendAsync(HttpMethod.Put, $"/api/projects/{other}/shared-variables", """["REGION"]"""), HttpStatusCode.UnprocessableEntity);

        // All projects.
        await SetAccessAsync(admin, "REGION", "all");
        Assert.Equal(["REGION"], (await api.GetAsync($"/api/projects/{other}/shared-variables")).AsArray().Select(v => (string)v!["key"]!));

        // Bad rules: an unknown mode, "chosen" with nothing ticked, an id that is not a member: 422, the rule stays "all".
        foreach (var fields in new Dictionary<string, string>[] { new() { ["mode"] = "everyone" }, new() { ["mode"] = "chosen" }, new() { ["mode"] = "chosen", ["user"] = "1" } })
        {
            fields["key"] = "REGION";
            var bad = await admin.SubmitAsync("/variables/access?key=REGION", fields, "/variables/access?handler=Save");
            Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.Status);
            Assert.False(string.IsNullOrWhiteSpace(bad.Text(".field-error")));
        }
        Assert.Equal("all projects", (await admin.GetAsync("/variables")).Text("#shared-access tr[data-key=REGION] .access"));
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/variables/access?key=NOPE")).Status);
        // Members cannot reach the rule page.
        using var member = await MemberClientAsync(panel);
        Assert.NotEqual(HttpStatusCode.OK, (await member.GetAsync("/variables/access?key=REGION")).Status);

        // Deleting the variable drops its rule: a new variable of the same name starts closed again.
        Assert.Equal(HttpStatusCode.SeeOther, (await admin.SubmitAsync("/variables", new() { ["key"] = "REGION" }, "/variables?handler=Delete")).Status);
        Assert.Equal(HttpStatusCode.SeeOther, (await admin.SubmitAsync("/variables", new() { ["key"] = "REGION", ["value"] = "us-east", ["runtime"] = "true" }, "/variables?handler=Save")).Status);
        Assert.Empty((await api.GetAsync($"/api/projects/{other}/shared-variables")).AsArray());
        Assert.Equal(PanelSetup.AdminEmail, (await admin.GetAsync("/variables")).Text("#shared-access tr[data-key=REGION] td:nth-child(2)"));
    }

    [Fact]
    public async Task An_admin_opens_a_shared_variable_to_a_member_in_the_browser()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        Assert.Equal(HttpStatusCode.SeeOther, (await admin.SubmitAsync("/variables", new() { ["env"] = "MAIL_TOKEN=a-long-mail-token-value\n", ["newSecret"] = "true", ["newRuntime"] = "true" }, "/variables?handler=Env")).Status);
        await AddMemberAsync(admin);
        using var api = await TestApi.ForUserAsync(panel, MemberEmail);
        var slug = (string)(await api.CreateProjectAsync("mail", "https://git.example.com/me/mail.git", "mail.test"))["slug"]!;
        Assert.Empty((await api.GetAsync($"/api/projects/{slug}/shared-variables")).AsArray());

        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        await Browser.SignInAsync(page, panel.Url, PanelSetup.AdminEmail, PanelSetup.AdminPassword);
        await page.WaitForSelectorAsync("nav a:has-text('Shared variables')");
        await page.ClickAsync("nav a:has-text('Shared variables')");
        await page.WaitForSelectorAsync("#shared-access tr[data-key=MAIL_TOKEN]");
        Assert.Equal("admins' projects only", (await page.TextContentAsync("#shared-access tr[data-key=MAIL_TOKEN] .access"))!.Trim());
        await page.ClickAsync("#shared-access tr[data-key=MAIL_TOKEN] a:has-text('Change')");
        await page.WaitForSelectorAsync("#access-form");
        await page.CheckAsync("#access-form input[name=mode][value=chosen]");
        await page.CheckAsync($"#access-form label:has-text('{MemberEmail}') input[name=user]");
        await page.ClickAsync("#access-form button[type=submit]");
        await page.WaitForSelectorAsync($"#shared-access tr[data-key=MAIL_TOKEN] .access:has-text('projects of {MemberEmail}')");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Path.GetTempPath(), "vpspanel-shared-access.png"), FullPage = true });

        // What the admin chose is what the member's project sees.
        var listed = (await api.GetAsync($"/api/projects/{slug}/shared-variables")).AsArray().Single()!;
        Assert.Equal("MAIL_TOKEN", (string)listed["key"]!);
        Assert.DoesNotContain("a-long-mail-token-value", listed.ToJsonString());
    }
}
