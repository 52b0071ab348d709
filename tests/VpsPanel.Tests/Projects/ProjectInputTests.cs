using System.Net;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Projects;

/// <summary>
/// Every project field a user can send, with values meant to reach a shell, git's option parser or Caddy: each gets
/// a clear message (422), no project is created, nothing is cloned or run, and the canary file never appears.
/// </summary>
public sealed class ProjectInputTests
{
    static readonly string Canary = $"/tmp/vpspanel-canary-{Guid.NewGuid():N}";

    public static IEnumerable<object[]> BadInputs()
    {
        var c = Canary;
        (string Field, string Value, string Message)[] cases =
        [
            ("gitUrl", $"--upload-pack=touch {c}", "cannot start with '-'"),
            ("gitUrl", $"ext::sh -c touch% {c}", "may not contain spaces"),
            ("gitUrl", $"ext::sh%20-c%20touch%25%20{c}", "transport helpers"),
            ("gitUrl", $"-oProxyCommand=touch {c}", "cannot start with '-'"),
            ("gitUrl", $"ssh://-oProxyCommand=touch%20{c}/repo.git", "not a Git URL the panel accepts"),
            ("gitUrl", $"https://x/y.git';curl evil", "may not contain"),
            ("gitUrl", "ftp://example.com/repo.git", "not a Git URL the panel accepts"),
            ("gitUrl", "", "Enter the repository's Git URL"),
            ("branch", "-x", "cannot start with '-'"),
            ("branch", $"main; touch {c}", "letters, digits"),
            ("branch", $"$(touch {c})", "letters, digits"),
            ("branch", $"`touch {c}`", "letters, digits"),
            ("branch", "main${IFS}id", "letters, digits"),
            ("branch", "a..b", "not a valid Git branch name"),
            ("branch", "with space", "letters, digits"),
            ("branch", "ma\u0001in", "letters, digits"),
            ("dockerfilePath", "../../etc/passwd", "stay inside the repository"),
            ("dockerfilePath", "/etc/passwd", "not an absolute path"),
            ("contextDir", "../outside", "stay inside the repository"),
            ("containerPort", "70000", "from 1 to 65535"),
            ("containerPort", "80; rm", "from 1 to 65535"),
            ("healthPath", "health", "starting with /"),
            ("healthPath", "/a b", "starting with /"),
            ("domains", "app.test\n}\nevil.test {", "braces"),
            ("domains", "app_1.test", "not allowed in a domain"),
            ("domains", "", "at least one domain"),
            ("name", "", "Enter a name"),
            ("name", "-rf", "starting with a letter or digit"),
            ("name", "a\u0007b", "Use letters, digits"),
        ];
        return cases.Select(x => new object[] { x.Field, x.Value, x.Message });
    }

    [Fact]
    public async Task Each_bad_value_gets_its_message_and_nothing_is_created_or_run()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var client = await PanelSetup.SignedInAdminAsync(panel);
        var failures = new List<string>();
        foreach (var row in BadInputs())
        {
            var (field, value, message) = ((string)row[0], (string)row[1], (string)row[2]);
            var fields = DeployEnv.ProjectFields("good-name", "/srv/repos/app.git", "app.test");
            fields[field] = value;
            var page = await client.SubmitAsync("/projects/new", fields);
            var shown = page.Doc.QuerySelector($"#{field} ~ .field-error")?.TextContent ?? string.Join(" | ", page.Texts(".field-error"));
            if (page.Status != HttpStatusCode.UnprocessableEntity || !shown.Contains(message))
                failures.Add($"{field}={value}: {(int)page.Status} \"{shown}\"");
            // The form comes back with what was typed, so nothing is lost.
            if (field is not ("domains" or "name") && value.Length > 0 && !value.Contains('\u0001') && !value.Contains('\u0007')
                && page.Doc.QuerySelector($"#{field}")?.GetAttribute("value") != value)
                failures.Add($"{field}={value}: the form did not keep the value");
        }
        Assert.Empty(failures);
        var list = await client.GetAsync("/projects");
        Assert.Null(list.Doc.QuerySelector("#projects"));
        Assert.False(Directory.Exists(Path.Combine(panel.DataDir, "repos")) && Directory.EnumerateFileSystemEntries(Path.Combine(panel.DataDir, "repos")).Any());
        Assert.False(File.Exists(Canary));
    }

    [Fact]
    public async Task A_deploy_of_a_commit_that_is_not_a_sha_is_refused_and_nothing_is_queued()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var client = await PanelSetup.SignedInAdminAsync(panel);
        var created = await client.SubmitAsync("/projects/new", DeployEnv.ProjectFields("shas", "/srv/repos/app.git", "shas.test"));
        var id = created.Response.Headers.Location!.OriginalString.Split('/').Last();
        foreach (var bad in new[] { "HEAD", $"--output={Canary}", "abc123", "$(id)" })
        {
            var page = await client.SubmitAsync($"/projects/{id}", new Dictionary<string, string> { ["commit"] = bad }, $"/projects/{id}?handler=Deploy");
            Assert.Equal(HttpStatusCode.UnprocessableEntity, page.Status);
            Assert.Contains("full 40-character commit SHA", page.Text("#commit ~ .field-error"));
        }
        Assert.Null((await client.GetAsync($"/projects/{id}")).Doc.QuerySelector("#deployments"));
        Assert.False(File.Exists(Canary));
    }

    [Fact]
    public async Task Members_see_and_act_on_their_own_projects_only_and_cannot_deploy_from_local_paths()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        var adminProject = (await admin.SubmitAsync("/projects/new", DeployEnv.ProjectFields("admins", "/srv/repos/nope.git", "admins.test")))
            .Response.Headers.Location!.OriginalString;
        var deploy = await admin.SubmitAsync(adminProject, new Dictionary<string, string>(), adminProject + "?handler=Deploy");
        var deployment = deploy.Response.Headers.Location!.OriginalString;
        var member = await admin.SubmitAsync("/users/new", new Dictionary<string, string> { ["email"] = "member@example.com", ["password"] = "member password 1", ["role"] = "member" });
        Assert.Equal(HttpStatusCode.SeeOther, member.Status);

        using var m = new PanelClient(panel);
        await m.LoginAsync("member@example.com", "member password 1");
        var local = await m.SubmitAsync("/projects/new", DeployEnv.ProjectFields("mine", "/srv/repos/app.git", "mine.test"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, local.Status);
        Assert.Contains("Only an admin", local.Text("#gitUrl ~ .field-error"));
        var own = await m.SubmitAsync("/projects/new", DeployEnv.ProjectFields("mine", "https://git.example.com/me/app.git", "mine.test"));
        Assert.Equal(HttpStatusCode.SeeOther, own.Status);

        var list = await m.GetAsync("/projects");
        Assert.Equal(["mine"], list.Texts("#projects tbody td:first-child").ToArray());
        foreach (var path in new[] { adminProject, adminProject + "/edit", deployment, deployment + "/log", deployment + "/events", deployment + "/log/chunk?before=10" })
            Assert.Equal(HttpStatusCode.NotFound, (await m.GetAsync(path)).Status);
        var token = PanelClient.AntiforgeryToken(await m.GetAsync("/projects"))!;
        foreach (var action in new[] { adminProject + "?handler=Deploy", adminProject + "/edit?handler=Delete", deployment + "?handler=Rollback", deployment + "?handler=Cancel" })
        {
            var res = await m.Http.PostAsync(action, new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = token, ["confirm"] = "admins" }));
            Assert.Equal(HttpStatusCode.NotFound, res.StatusCode);
        }
        // Nothing changed for the admin: still one deployment, the project still there.
        var adminPage = await admin.GetAsync(adminProject);
        Assert.Equal(HttpStatusCode.OK, adminPage.Status);
        Assert.Single(adminPage.Doc.QuerySelectorAll("#deployments tbody tr"));
    }
}
