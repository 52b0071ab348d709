using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Webhooks;

/// <summary>
/// Issue 14: a project's watch paths. A signed push whose changes (from the live commit) touch none of them is skipped
/// and says why in the delivery log, the deployment and its log; one that touches them deploys; a deploy pressed in
/// the panel always runs. Real git, real engine, real Caddy, real signed webhook deliveries.
/// </summary>
public sealed class WatchPathsTests
{
    static async Task<long> PushAsync(TestApi api, string slug, string secret, string sha)
    {
        var body = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["ref"] = "refs/heads/main", ["before"] = new string('0', 40), ["after"] = sha,
            ["head_commit"] = new JsonObject { ["id"] = sha, ["message"] = "push", ["author"] = new JsonObject { ["name"] = "Test Author" } },
        }.ToJsonString());
        var (status, answer) = await WebhookEndpointTests.PostAsync(api.Http, $"/webhooks/{slug}", body, WebhookEndpointTests.Signed("gitea", body, secret));
        Assert.True(status == HttpStatusCode.Accepted, $"{status}: {answer}");
        return (long)answer!["deploymentId"]!;
    }

    [Fact]
    public async Task A_push_that_changes_nothing_watched_is_skipped_with_its_reason_and_a_manual_deploy_always_runs()
    {
        await using var env = await DeployEnv.StartAsync();
        using var repo = TestRepo.WithBusyboxApp("v1", env.Label);
        using var api = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);
        var (project, slug, domain, _, secret) = await WebhookOrderTests.WebhookProjectAsync(env, repo, api);

        // A bad pattern is refused with its line, and nothing is saved.
        var bad = TestApi.Problem(await api.SendAsync(HttpMethod.Patch, $"/api/projects/{slug}", """{"watchPaths":["www/**","src/[abc"]}"""), HttpStatusCode.UnprocessableEntity);
        Assert.Contains("line 2: \"src/[abc\" is not a valid pattern", (string)bad["errors"]!["watchPaths"]![0]!);
        Assert.Empty((await api.GetAsync($"/api/projects/{slug}"))["watchPaths"]!.AsArray());
        // On the page too, and the form keeps what was typed.
        var form = ProjectFields(env, repo, slug, "www/**\n[oops");
        var page = await env.Client.SubmitAsync($"/projects/{project}/edit", form);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, page.Status);
        Assert.Contains("line 2: \"[oops\" is not a valid pattern", page.Doc.QuerySelector("#watchPaths ~ .field-error")!.TextContent);
        Assert.Equal("www/**\n[oops", page.Doc.QuerySelector("#watchPaths")!.TextContent.Trim());

        var saved = await env.Client.SubmitAsync($"/projects/{project}/edit", ProjectFields(env, repo, slug, "Dockerfile\nwww/**\n!www/**/*.md"));
        Assert.True(saved.Status is HttpStatusCode.Redirect or HttpStatusCode.SeeOther, $"{saved.Status}: {saved.Html}");
        Assert.Equal(["Dockerfile", "www/**", "!www/**/*.md"], (await api.GetAsync($"/api/projects/{slug}"))["watchPaths"]!.AsArray().Select(p => (string)p!));

        // Nothing is live yet: the first push deploys whatever it changes.
        var first = await PushAsync(api, slug, secret, TestRepo.Run(repo.Work, "rev-parse", "HEAD").Trim());
        Assert.Equal("live", (string)(await api.WaitForEndAsync(first))["status"]!);

        // Outside the watch paths (a README, a note the exception leaves out): skipped, and said where it is looked for.
        File.WriteAllText(Path.Combine(repo.Work, "README.md"), "docs only\n");
        Directory.CreateDirectory(Path.Combine(repo.Work, "www", "notes"));
        File.WriteAllText(Path.Combine(repo.Work, "www", "notes", "todo.md"), "later\n");
        var docs = repo.CommitAll("docs only");
        var skipped = await PushAsync(api, slug, secret, docs);
        var end = await api.WaitForEndAsync(skipped);
        Assert.Equal("superseded", (string)end["status"]!);
        var reason = $"no file changed since the live commit {TestRepo.Run(repo.Work, "rev-parse", "HEAD~1").Trim()[..7]} (deployment #{first}) matches the watch paths (2 changed: README.md, www/notes/todo.md)";
        Assert.True(reason == (string)end["error"]!, (string)end["error"]!);
        var delivery = (await api.DeliveriesAsync(slug)).First(x => (string?)x!["commitSha"] == docs)!;
        Assert.Equal("skipped", (string)delivery["outcome"]!);
        Assert.Equal($"deployment #{skipped} skipped: {reason}", (string)delivery["reason"]!);
        Assert.Contains($"==> skipped: {reason}", await env.LogAsync(skipped));
        Assert.Equal("v1", await env.ServedAsync(domain));

        // A watched file changes: the diff from the live commit counts the skipped push's files too.
        var v2 = repo.CommitApp("v2", env.Label, "v2");
        var deployed = await PushAsync(api, slug, secret, v2);
        Assert.Equal("live", (string)(await api.WaitForEndAsync(deployed))["status"]!);
        Assert.Equal("v2", await env.ServedAsync(domain));
        Assert.Contains("watch paths: 1 of 3 changed files match (www/index.html)", await env.LogAsync(deployed));

        // A deploy pressed in the panel is never skipped, even for a commit that changes nothing watched.
        File.WriteAllText(Path.Combine(repo.Work, "README.md"), "docs again\n");
        var docs2 = repo.CommitAll("docs again");
        var manual = await env.DeployAsync(project);
        await env.WaitForLiveAsync(manual);
        Assert.Equal(docs2, (string)(await api.GetAsync($"/api/deployments/{manual}"))["commitSha"]!);
        Assert.DoesNotContain("skipped", await env.LogAsync(manual));
    }

    static Dictionary<string, string> ProjectFields(DeployEnv env, TestRepo repo, string slug, string watchPaths)
    {
        var f = DeployEnv.ProjectFields(env.Name(), repo.Bare, $"{slug}.test", repo.Branch);
        f.Remove("name");
        f.Remove("domains");
        f["autoDeploy"] = "true";
        f["watchPaths"] = watchPaths;
        return f;
    }
}
