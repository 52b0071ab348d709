using System.Net;
using System.Text.Json.Nodes;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;
using VpsPanel.Tests.Projects;
using static VpsPanel.Tests.Api.TestApi;

namespace VpsPanel.Tests.Api;

/// <summary>The projects and deployments API on the real binary: its shapes, its rules (the pages' own), its access rules.</summary>
public sealed class ProjectApiTests
{
    static JsonObject Body(string name, string gitUrl = "/srv/repos/app.git", string? domain = null) => new()
    {
        ["name"] = name, ["gitUrl"] = gitUrl, ["branch"] = "main", ["port"] = 8080, ["domains"] = new JsonArray(domain ?? $"{name}.test"),
    };

    [Fact]
    public async Task Create_get_list_change_and_delete_a_project_with_the_documented_shapes()
    {
        // Deleting drops the project's Caddy site, so this panel has a real Caddy.
        await using var caddy = await TestCaddy.StartAsync();
        await using var panel = await PanelProcess.StartAsync(caddy.PanelSettings());
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        using var api = await ForUserAsync(panel, PanelSetup.AdminEmail);

        var body = Body("Shop Front", domain: "shopfront.test");
        body["dockerfile"] = "docker/Dockerfile";
        body["contextDir"] = ".";
        body["healthPath"] = "/healthz";
        var (status, created, _) = await api.SendAsync(HttpMethod.Post, "/api/projects", body.ToJsonString());
        Assert.True(status == HttpStatusCode.Created, $"{status}: {created}");
        Assert.Equal("shop-front", (string)created!["slug"]!);
        Assert.Equal($"{panel.Url}/webhooks/shop-front", (string)created["webhookUrl"]!);
        var secret = (string)created["webhookSecret"]!;
        Assert.Matches("^[0-9a-f]{64}$", secret);
        Assert.Equal("docker/Dockerfile", (string)created["dockerfile"]!);
        Assert.Equal("/healthz", (string)created["healthPath"]!);
        Assert.Equal(8080, (int)created["port"]!);
        Assert.True((bool)created["autoDeploy"]!);

        // The page shows the same URL and secret; the database holds the secret encrypted, not as is.
        var page = await admin.GetAsync($"/projects/{created["id"]}");
        Assert.Equal((string)created["webhookUrl"]!, page.Doc.QuerySelector("#webhook-url")!.GetAttribute("value"));
        Assert.Equal(secret, page.Doc.QuerySelector("#webhook-secret")!.GetAttribute("value"));
        var db = await File.ReadAllBytesAsync(Path.Combine(panel.DataDir, "vpspanel.db"));
        var wal = Path.Combine(panel.DataDir, "vpspanel.db-wal");
        Assert.DoesNotContain(secret, System.Text.Encoding.Latin1.GetString([.. db, .. File.Exists(wal) ? await File.ReadAllBytesAsync(wal) : []]));

        Assert.Equal(secret, (string)(await api.GetAsync("/api/projects/shop-front"))["webhookSecret"]!);
        Assert.Equal(["shop-front"], (await api.GetAsync("/api/projects")).AsArray().Select(p => (string)p!["slug"]!));

        var changed = await api.SendAsync(HttpMethod.Patch, "/api/projects/shop-front", """{"branch":"develop","port":9090,"domains":["shop.test","www.shop.test"],"autoDeploy":false}""");
        Assert.Equal(HttpStatusCode.OK, changed.Status);
        Assert.Equal("develop", (string)changed.Body!["branch"]!);
        Assert.Equal(9090, (int)changed.Body["port"]!);
        Assert.Equal(["shop.test", "www.shop.test"], changed.Body["domains"]!.AsArray().Select(d => (string)d!));
        Assert.False((bool)changed.Body["autoDeploy"]!);
        Assert.Equal("docker/Dockerfile", (string)changed.Body["dockerfile"]!);
        // The edit page agrees: the checkbox is off.
        Assert.Null((await admin.GetAsync($"/projects/{created["id"]}/edit")).Doc.QuerySelector("#autoDeploy")!.GetAttribute("checked"));

        // A bad change is refused field by field and changes nothing.
        var bad = Problem(await api.SendAsync(HttpMethod.Patch, "/api/projects/shop-front", """{"port":70000,"branch":"-x","name":"Renamed"}"""), HttpStatusCode.UnprocessableEntity);
        Assert.Contains("cannot be changed", (string)bad["errors"]!["name"]![0]!);
        bad = Problem(await api.SendAsync(HttpMethod.Patch, "/api/projects/shop-front", """{"port":70000,"branch":"-x"}"""), HttpStatusCode.UnprocessableEntity);
        Assert.Contains("from 1 to 65535", (string)bad["errors"]!["port"]![0]!);
        Assert.Contains("cannot start with '-'", (string)bad["errors"]!["branch"]![0]!);
        // Domains in a PATCH follow the Domains page's rules: a bad name is refused naming its entry, and nothing else is saved.
        bad = Problem(await api.SendAsync(HttpMethod.Patch, "/api/projects/shop-front", """{"branch":"main","domains":["shop.test","a.com {"]}"""), HttpStatusCode.UnprocessableEntity);
        Assert.Contains("not allowed", (string)bad["errors"]!["domains[1]"]![0]!);
        var after = await api.GetAsync("/api/projects/shop-front");
        Assert.Equal(["shop.test", "www.shop.test"], after["domains"]!.AsArray().Select(d => (string)d!));
        Assert.Equal(("develop", 9090), ((string)after["branch"]!, (int)after["port"]!));

        // Same name again, a domain another project has: the page's messages.
        var dup = Problem(await api.SendAsync(HttpMethod.Post, "/api/projects", Body("shop front", domain: "new.test").ToJsonString()), HttpStatusCode.UnprocessableEntity);
        Assert.Contains("already exists", (string)dup["errors"]!["name"]![0]!);
        var taken = Problem(await api.SendAsync(HttpMethod.Post, "/api/projects", Body("other", domain: "www.shop.test").ToJsonString()), HttpStatusCode.UnprocessableEntity);
        Assert.Contains("www.shop.test already belongs to project \"Shop Front\"", (string)taken["errors"]!["domains"]![0]!);

        var deleted = await api.SendAsync(HttpMethod.Delete, "/api/projects/shop-front");
        Assert.True(deleted.Status == HttpStatusCode.NoContent, $"{deleted.Status} {deleted.Body}\n{panel.Log}");
        Problem(await api.SendAsync(HttpMethod.Get, "/api/projects/shop-front"), HttpStatusCode.NotFound);
        Problem(await api.SendAsync(HttpMethod.Delete, "/api/projects/shop-front"), HttpStatusCode.NotFound);
        Assert.Empty((await api.GetAsync("/api/projects")).AsArray());
    }

    /// <summary>The page form's bad-input table, sent through the API: the same message for the same field, nothing created.</summary>
    [Fact]
    public async Task Every_bad_value_the_project_form_refuses_the_API_refuses_with_the_same_message()
    {
        await using var panel = await PanelProcess.StartAsync();
        (await PanelSetup.SignedInAdminAsync(panel)).Dispose();
        using var api = await ForUserAsync(panel, PanelSetup.AdminEmail);
        var apiName = new Dictionary<string, string> { ["containerPort"] = "port", ["dockerfilePath"] = "dockerfile" };
        var failures = new List<string>();
        foreach (var row in ProjectInputTests.BadInputs())
        {
            var (field, value, message) = ((string)row[0], (string)row[1], (string)row[2]);
            var key = apiName.GetValueOrDefault(field, field);
            var body = Body("good-name");
            body[key] = key switch
            {
                "domains" => value == "" ? new JsonArray() : new JsonArray(value),
                "port" when int.TryParse(value, out var n) => n,
                _ => value,
            };
            var answer = await api.SendAsync(HttpMethod.Post, "/api/projects", body.ToJsonString());
            if (key == "port" && !int.TryParse(value, out _))
            {
                // Not a number at all: the JSON does not fit the request, a 400 that says where.
                if (answer.Status != HttpStatusCode.BadRequest || !((string?)answer.Body?["detail"] ?? "").Contains("$.port"))
                    failures.Add($"{key}={value}: {(int)answer.Status} {answer.Body}");
                continue;
            }
            var shown = (string?)answer.Body?["errors"]?[key]?[0] ?? "";
            if (answer.Status != HttpStatusCode.UnprocessableEntity || answer.MediaType != "application/problem+json" || !shown.Contains(message))
                failures.Add($"{key}={value}: {(int)answer.Status} {answer.Body}");
        }
        Assert.Empty(failures);
        Assert.Empty((await api.GetAsync("/api/projects")).AsArray());
        // Required fields of the documented shape; branch and port may be left out (detected at deploy, issue 14).
        var empty = Problem(await api.SendAsync(HttpMethod.Post, "/api/projects", "{}"), HttpStatusCode.UnprocessableEntity);
        foreach (var f in new[] { "name", "gitUrl", "domains" }) Assert.NotNull(empty["errors"]![f]);
        foreach (var f in new[] { "branch", "port" }) Assert.Null(empty["errors"]![f]);
    }

    [Fact]
    public async Task A_members_token_cannot_see_or_touch_another_users_project_or_deployments()
    {
        await using var panel = await PanelProcess.StartAsync();
        (await PanelSetup.SignedInAdminAsync(panel)).Dispose();
        var added = await PanelCli.RunAsync(["user", "add", "--email", "member@example.com", "--data-dir", panel.DataDir], stdin: "member password 1\n");
        Assert.True(added.ExitCode == 0, added.Stderr);
        using var admin = await ForUserAsync(panel, PanelSetup.AdminEmail);
        using var member = await ForUserAsync(panel, "member@example.com");

        var project = await admin.CreateProjectAsync("admins", "/srv/repos/nope.git", "admins.test");
        var deployment = await admin.SendAsync(HttpMethod.Post, "/api/projects/admins/deployments");
        Assert.Equal(HttpStatusCode.Accepted, deployment.Status);
        var id = (long)deployment.Body!["id"]!;
        await admin.WaitForEndAsync(id);

        Assert.Empty((await member.GetAsync("/api/projects")).AsArray());
        (HttpMethod, string, string?)[] attempts =
        [
            (HttpMethod.Get, "/api/projects/admins", null),
            (HttpMethod.Patch, "/api/projects/admins", """{"branch":"evil"}"""),
            (HttpMethod.Delete, "/api/projects/admins", null),
            (HttpMethod.Post, "/api/projects/admins/deployments", "{}"),
            (HttpMethod.Get, "/api/projects/admins/deployments", null),
            (HttpMethod.Get, "/api/projects/admins/webhook-deliveries", null),
            (HttpMethod.Get, $"/api/deployments/{id}", null),
            (HttpMethod.Get, $"/api/deployments/{id}/log", null),
            (HttpMethod.Get, $"/api/deployments/{id}/log?follow=true", null),
            (HttpMethod.Post, $"/api/deployments/{id}/rollback", null),
            (HttpMethod.Post, $"/api/deployments/{id}/cancel", null),
        ];
        foreach (var (method, path, json) in attempts)
        {
            var answer = Problem(await member.SendAsync(method, path, json), HttpStatusCode.NotFound);
            Assert.Contains("does not exist, or you do not have access to it", (string)answer["detail"]!);
        }
        // The same 404 as for a project that does not exist at all: nothing to learn from it.
        Problem(await member.SendAsync(HttpMethod.Get, "/api/projects/nothing-here"), HttpStatusCode.NotFound);

        // The member's own projects follow the page's rule: no local repositories for members.
        var local = Problem(await member.SendAsync(HttpMethod.Post, "/api/projects", Body("mine").ToJsonString()), HttpStatusCode.UnprocessableEntity);
        Assert.Contains("Only an admin", (string)local["errors"]!["gitUrl"]![0]!);
        await member.CreateProjectAsync("mine", "https://git.example.com/me/app.git", "mine.test");
        Assert.Equal(["mine"], (await member.GetAsync("/api/projects")).AsArray().Select(p => (string)p!["slug"]!));
        Assert.Equal(["admins", "mine"], (await admin.GetAsync("/api/projects")).AsArray().Select(p => (string)p!["slug"]!));

        // Nothing of the admin's changed.
        var still = await admin.GetAsync("/api/projects/admins");
        Assert.Equal("main", (string)still["branch"]!);
        Assert.Equal(project["webhookSecret"]!.ToString(), still["webhookSecret"]!.ToString());
        Assert.Single(await admin.DeploymentsAsync("admins"));
    }

    [Fact]
    public async Task Error_answers_are_problem_json_with_an_actionable_detail()
    {
        await using var panel = await PanelProcess.StartAsync();
        (await PanelSetup.SignedInAdminAsync(panel)).Dispose();
        using var api = await ForUserAsync(panel, PanelSetup.AdminEmail);
        using var anonymous = new TestApi(panel, "");
        anonymous.Http.DefaultRequestHeaders.Authorization = null;

        Assert.Contains("needs a token", (string)Problem(await anonymous.SendAsync(HttpMethod.Get, "/api/projects"), HttpStatusCode.Unauthorized)["detail"]!);
        Problem(await anonymous.SendAsync(HttpMethod.Post, "/api/projects", Body("x").ToJsonString()), HttpStatusCode.Unauthorized);
        Assert.Contains("not valid JSON", (string)Problem(await api.SendAsync(HttpMethod.Post, "/api/projects", "{\"name\":"), HttpStatusCode.BadRequest)["detail"]!);
        using (var form = await api.Http.PostAsync("/api/projects", new FormUrlEncodedContent(new Dictionary<string, string> { ["name"] = "x" })))
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, form.StatusCode);
        Assert.Contains("The project \"nope\"", (string)Problem(await api.SendAsync(HttpMethod.Post, "/api/projects/nope/deployments"), HttpStatusCode.NotFound)["detail"]!);
        Problem(await api.SendAsync(HttpMethod.Get, "/api/deployments/999"), HttpStatusCode.NotFound);

        await api.CreateProjectAsync("errs", "/srv/repos/nope.git", "errs.test");
        var badCommit = Problem(await api.SendAsync(HttpMethod.Post, "/api/projects/errs/deployments", """{"commit":"HEAD~1"}"""), HttpStatusCode.UnprocessableEntity);
        Assert.Contains("40-character", (string)badCommit["errors"]!["commit"]![0]!);
        Assert.Empty(await api.DeploymentsAsync("errs"));

        // An empty body sent as JSON (a script's `curl -H 'Content-Type: application/json' -X POST`) is the same as none.
        var failed = await api.WaitForEndAsync((long)(await api.SendAsync(HttpMethod.Post, "/api/projects/errs/deployments", "")).Body!["id"]!);
        Assert.Equal("failed", (string)failed["status"]!);
        Assert.Equal("cloning", (string)failed["step"]!);
        Assert.Contains("/srv/repos/nope.git", (string)failed["error"]!);
        Assert.Contains("nothing to cancel", (string)Problem(await api.SendAsync(HttpMethod.Post, $"/api/deployments/{failed["id"]}/cancel"), HttpStatusCode.Conflict)["detail"]!);
        Assert.Contains("Only a retired deployment", (string)Problem(await api.SendAsync(HttpMethod.Post, $"/api/deployments/{failed["id"]}/rollback"), HttpStatusCode.Conflict)["detail"]!);
        Assert.Single(await api.DeploymentsAsync("errs"));

        // This panel's Caddy admin address points nowhere: a delete is refused whole, and the project stays.
        Assert.Contains("Nothing was deleted", (string)Problem(await api.SendAsync(HttpMethod.Delete, "/api/projects/errs"), HttpStatusCode.Conflict)["detail"]!);
        Assert.Equal("errs", (string)(await api.GetAsync("/api/projects/errs"))["slug"]!);
    }

    [Fact]
    public async Task The_OpenAPI_document_lists_the_project_deployment_and_webhook_routes()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(panel.Url) };
        var doc = JsonNode.Parse(await http.GetStringAsync("/api/openapi.json"))!;
        var paths = doc["paths"]!.AsObject();
        string[] expected =
        [
            "/api/projects", "/api/projects/{slug}", "/api/projects/{slug}/deployments", "/api/projects/{slug}/webhook-deliveries",
            "/api/projects/{slug}/webhook-secret",
            "/api/deployments/{id}", "/api/deployments/{id}/log", "/api/deployments/{id}/rollback", "/api/deployments/{id}/cancel",
        ];
        foreach (var p in expected) Assert.True(paths.ContainsKey(p), $"{p} is not in the document: {string.Join(", ", paths.Select(x => x.Key))}");
        Assert.NotNull(paths["/api/projects"]!["post"]);
        Assert.NotNull(paths["/api/projects/{slug}"]!["patch"]);
        Assert.NotNull(paths["/api/projects/{slug}"]!["delete"]);
        Assert.All(paths.Where(p => p.Key.StartsWith("/api/")), p => Assert.All(p.Value!.AsObject(), op => Assert.False(string.IsNullOrWhiteSpace((string?)op.Value!["summary"]), $"{op.Key} {p.Key} has no summary")));
        Assert.DoesNotContain(paths, p => p.Key.StartsWith("/webhooks"));
    }

    /// <summary>Deploy, follow, roll back and cancel through the API, on the real pipeline and Caddy.</summary>
    [Fact]
    public async Task Deploy_follow_roll_back_and_cancel_through_the_API()
    {
        await using var env = await DeployEnv.StartAsync();
        using var repo = TestRepo.WithBusyboxApp("v1", env.Label);
        using var api = await ForUserAsync(env.Panel, PanelSetup.AdminEmail);
        var name = env.Name();
        var domain = $"{name}.test";
        await api.CreateProjectAsync(name, repo.Bare, domain);

        var queued = await api.SendAsync(HttpMethod.Post, $"/api/projects/{name}/deployments");
        Assert.Equal(HttpStatusCode.Accepted, queued.Status);
        // The answer shows the row as it is when read back: the worker, woken by the request, may already have taken it.
        Assert.Contains((string)queued.Body!["status"]!, new[] { "queued", "cloning", "building" });
        Assert.Equal("api", (string)queued.Body["requestedVia"]!);
        var first = (long)queued.Body["id"]!;

        // Follow the log as Server-Sent Events until the end.
        using (var stream = await api.Http.GetAsync($"/api/deployments/{first}/log?follow=true", HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal("text/event-stream", stream.Content.Headers.ContentType?.MediaType);
            var sse = await stream.Content.ReadAsStringAsync();
            Assert.Contains("==> building", sse);
            Assert.EndsWith("event: done\ndata: live\n\n", sse);
        }
        var v1 = await api.GetAsync($"/api/deployments/{first}");
        Assert.Equal("live", (string)v1["status"]!);
        Assert.Equal(TestRepo.Run(repo.Work, "rev-parse", "HEAD").Trim(), (string)v1["commitSha"]!);
        Assert.Equal(["cloning", "building", "starting", "health_checking", "switching"], v1["steps"]!.AsArray().Select(s => (string)s!["step"]!));
        Assert.All(v1["steps"]!.AsArray(), s => Assert.NotNull(s!["durationSeconds"]));
        Assert.Contains("==> live", await api.Http.GetStringAsync($"/api/deployments/{first}/log"));
        Assert.Equal("v1", await env.ServedAsync(domain));

        repo.CommitApp("v2", env.Label, "v2");
        var second = (long)(await api.SendAsync(HttpMethod.Post, $"/api/projects/{name}/deployments")).Body!["id"]!;
        Assert.Equal("live", (string)(await api.WaitForEndAsync(second))["status"]!);
        Assert.Equal("v2", await env.ServedAsync(domain));

        var rollback = await api.SendAsync(HttpMethod.Post, $"/api/deployments/{first}/rollback");
        Assert.Equal(HttpStatusCode.Accepted, rollback.Status);
        Assert.Equal("rollback", (string)rollback.Body!["trigger"]!);
        Assert.Equal(first, (long)rollback.Body["rollbackOf"]!);
        Assert.Equal("live", (string)(await api.WaitForEndAsync((long)rollback.Body["id"]!))["status"]!);
        Assert.Equal("v1", await env.ServedAsync(domain));

        // Cancelled while queued or while building: either way it ends cancelled and v1 keeps serving.
        var third = (long)(await api.SendAsync(HttpMethod.Post, $"/api/projects/{name}/deployments")).Body!["id"]!;
        var cancel = await api.SendAsync(HttpMethod.Post, $"/api/deployments/{third}/cancel");
        Assert.Equal(HttpStatusCode.Accepted, cancel.Status);
        Assert.Equal("cancelled", (string)(await api.WaitForEndAsync(third))["status"]!);
        Assert.Equal("v1", await env.ServedAsync(domain));
        Assert.Equal(4, (await api.DeploymentsAsync(name)).Count);
    }
}
