using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;
using VpsPanel.Tests.Webhooks;

namespace VpsPanel.Tests.Previews;

/// <summary>
/// Issue 18, preview deployments, end to end with GitHub's own pull_request payloads (../shared/webhooks/github, their
/// commits, branches and repositories replaced by the test's): opened → live at pr-N.&lt;slug&gt;.&lt;base&gt; through
/// Caddy; synchronize → redeployed; closed → containers, images and the site file gone; reopened → back. A fork's
/// request gets the preview variables without their secrets, and with them once forks are allowed; production's never.
/// Real git, engine, Caddy, signed deliveries.
/// </summary>
public sealed class PreviewDeployTests
{
    static readonly string Payloads = Path.Combine(Paths.RepoRoot, "tests", "VpsPanel.Tests", "Previews", "payloads");

    /// <summary>GitHub's payload of this action, pointed at our request, commit, branch and repositories.</summary>
    static byte[] Payload(string action, int number, string sha, string branch, string headRepo, string headName, string baseRepo, string title = "Add a preview")
    {
        var o = JsonNode.Parse(File.ReadAllText(Path.Combine(Payloads, $"github-pull_request-{action}.json")))!.AsObject();
        o["number"] = number;
        var pr = o["pull_request"]!.AsObject();
        pr["number"] = number;
        pr["title"] = title;
        pr["head"]!["sha"] = sha;
        pr["head"]!["ref"] = branch;
        pr["head"]!["repo"]!["clone_url"] = headRepo;
        pr["head"]!["repo"]!["full_name"] = headName;
        pr["base"]!["repo"]!["clone_url"] = baseRepo;
        pr["base"]!["repo"]!["full_name"] = "team/app";
        o["repository"]!["full_name"] = "team/app";
        return Encoding.UTF8.GetBytes(o.ToJsonString());
    }

    static async Task<JsonNode> SendAsync(TestApi api, string slug, string secret, byte[] body, HttpStatusCode expected)
    {
        var (status, answer) = await WebhookEndpointTests.PostAsync(api.Http, $"/webhooks/{slug}", body, WebhookEndpointTests.Signed("github", body, secret, "pull_request"));
        Assert.True(status == expected, $"{status}: {answer}");
        return answer!;
    }

    static string Commit(TestRepo repo, string branch, string html, string label)
    {
        TestRepo.Run(repo.Work, "checkout", "--quiet", "-B", branch);
        TestDocker.WriteBusyboxApp(repo.Work, html, extraDockerfile: $"LABEL {TestDocker.TestLabel}={label}\n");
        TestRepo.Run(repo.Work, "add", "-A");
        TestRepo.Run(repo.Work, "commit", "--quiet", "-m", html);
        TestRepo.Run(repo.Work, "push", "--quiet", "--force", "origin", $"HEAD:refs/heads/{branch}");
        return TestRepo.Run(repo.Work, "rev-parse", "HEAD").Trim();
    }

    static async Task<Dictionary<string, string>> EnvOfAsync(string container)
    {
        using var docker = TestDocker.Client();
        return (await docker.Containers.InspectContainerAsync(container)).Config.Env.Select(e => e.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv[1]);
    }

    [Fact]
    public async Task Opened_synchronize_closed_and_reopened_requests_make_update_remove_and_restore_a_live_preview_and_forks_get_no_secrets()
    {
        using var rx = new Notifications.Receiver();
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string> { ["Notifications__RetrySeconds"] = "1" });
        using var repo = TestRepo.WithBusyboxApp("production", env.Label);
        using var fork = TestRepo.WithBusyboxApp("fork base", env.Label);
        using var api = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);
        var (project, slug, _, _, secret) = await WebhookOrderTests.WebhookProjectAsync(env, repo, api);
        var baseDomain = $"{env.Label[7..]}.preview.test";
        var featureSha = Commit(repo, "feature-x", "preview one", env.Label);

        // Off by default: the delivery log says so, nothing is made.
        var off = await SendAsync(api, slug, secret, Payload("opened", 7, featureSha, "feature-x", repo.Bare, "team/app", repo.Bare), HttpStatusCode.OK);
        Assert.Contains("previews are off for this project", (string)off["reason"]!);
        Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(HttpMethod.Put, $"/api/projects/{slug}/previews", """{"enabled":true}""")).Status);
        // No wildcard base domain: a clear reason, nothing made.
        var noBase = await SendAsync(api, slug, secret, Payload("opened", 7, featureSha, "feature-x", repo.Bare, "team/app", repo.Bare), HttpStatusCode.OK);
        Assert.Contains("previews need a wildcard base domain", (string)noBase["reason"]!);
        Assert.Empty((await api.GetAsync($"/api/projects/{slug}/previews")).AsArray());
        Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(HttpMethod.Put, "/api/settings", new JsonObject { ["wildcardDomain"] = baseDomain }.ToJsonString())).Status);

        // Production's secret must never reach a preview; the preview environment's variables do.
        Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(HttpMethod.Put, $"/api/projects/{slug}/variables", """[{"key":"PROD_SECRET","value":"production only","secret":true}]""")).Status);
        Assert.Equal(HttpStatusCode.Created, (await api.SendAsync(HttpMethod.Post, $"/api/projects/{slug}/environments", """{"name":"preview","branch":""}""")).Status);
        Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(HttpMethod.Put, $"/api/projects/{slug}-preview/variables",
            """[{"key":"GREETING","value":"hello preview"},{"key":"PREVIEW_TOKEN","value":"preview secret","secret":true}]""")).Status);

        // The generic JSON notification of a channel limited to the project gets "preview ready" with the URL.
        using (var admin = await Notifications.NotifyKit.AdminApiAsync(env.Panel))
            await Notifications.NotifyKit.CreateAsync(admin, new JsonObject
            {
                ["type"] = "webhook", ["name"] = "previews", ["settings"] = new JsonObject { ["url"] = rx.Url + "/hook", ["secret"] = "preview-hook-secret" },
                ["events"] = new JsonArray("preview.ready"), ["projects"] = new JsonArray(slug), ["allowPrivateNetwork"] = true,
            });

        // opened → live at its domain.
        var opened = await SendAsync(api, slug, secret, Payload("opened", 7, featureSha, "feature-x", repo.Bare, "team/app", repo.Bare), HttpStatusCode.Accepted);
        var first = (long)opened["deploymentId"]!;
        await env.WaitForLiveAsync(first);
        var host = $"pr-7.{slug}.{baseDomain}";
        Assert.Equal("preview one", await env.ServedAsync(host));
        var previewSlug = $"{slug}-pr-7";
        var ready = (await rx.WaitForAsync("/hook", 1, TimeSpan.FromSeconds(60))).Single().Json;
        Assert.Equal("preview.ready", (string?)ready["event"]);
        Assert.Equal(previewSlug, (string?)ready["project"]);
        Assert.Contains($"#7 (Add a preview) of {previewSlug} is live at http://{host}/", (string)ready["message"]!);
        var vars = await EnvOfAsync($"vpspanel-{env.PanelId}-{previewSlug}-{first}");
        Assert.Equal("hello preview", vars["GREETING"]);
        Assert.Equal("preview secret", vars["PREVIEW_TOKEN"]);
        Assert.False(vars.ContainsKey("PROD_SECRET"));
        var listed = Assert.Single((await api.GetAsync($"/api/projects/{slug}/previews")).AsArray())!;
        Assert.Equal((7L, "Add a preview", "Codertocat", featureSha, $"http://{host}/"),
            ((long)listed["number"]!, (string)listed["title"]!, (string)listed["author"]!, (string)listed["commitSha"]!, (string)listed["url"]!));
        var page = await env.Client.GetAsync($"/projects/{project}");
        Assert.Contains(host, page.Doc.QuerySelector("#previews-table tr[data-number='7']")!.TextContent);
        Assert.True(File.Exists(Path.Combine(env.Caddy.SitesDir, previewSlug + ".caddy")));

        // synchronize with a new commit → redeployed.
        var secondSha = Commit(repo, "feature-x", "preview two", env.Label);
        var synced = await SendAsync(api, slug, secret, Payload("synchronize", 7, secondSha, "feature-x", repo.Bare, "team/app", repo.Bare), HttpStatusCode.Accepted);
        await env.WaitForLiveAsync((long)synced["deploymentId"]!);
        Assert.Equal("preview two", await env.ServedAsync(host));

        // closed → everything of it removed.
        var closed = await SendAsync(api, slug, secret, Payload("closed", 7, secondSha, "feature-x", repo.Bare, "team/app", repo.Bare), HttpStatusCode.OK);
        Assert.Equal("removed", (string?)closed["outcome"]);
        using (var docker = TestDocker.Client())
        {
            Assert.Empty(await TestDocker.ContainersAsync(docker, $"vpspanel.project={previewSlug}"));
            Assert.Empty(await TestDocker.ImagesAsync(docker, env.PanelLabel, $"vpspanel.project={previewSlug}"));
        }
        Assert.False(File.Exists(Path.Combine(env.Caddy.SitesDir, previewSlug + ".caddy")));
        Assert.Empty((await api.GetAsync($"/api/projects/{slug}/previews")).AsArray());
        Assert.NotEqual("preview two", await env.ServedOrErrorAsync(host));

        // reopened → back.
        var reopened = await SendAsync(api, slug, secret, Payload("reopened", 7, secondSha, "feature-x", repo.Bare, "team/app", repo.Bare), HttpStatusCode.Accepted);
        await env.WaitForLiveAsync((long)reopened["deploymentId"]!);
        Assert.Equal("preview two", await env.ServedAsync(host));

        // A fork's request: its own repository, the preview variables without their secrets.
        var forkSha = Commit(fork, "patch-1", "from a fork", env.Label);
        var fromFork = await SendAsync(api, slug, secret, Payload("opened", 8, forkSha, "patch-1", fork.Bare, "stranger/app", repo.Bare), HttpStatusCode.Accepted);
        var forkDeployment = (long)fromFork["deploymentId"]!;
        await env.WaitForLiveAsync(forkDeployment);
        Assert.Equal("from a fork", await env.ServedAsync($"pr-8.{slug}.{baseDomain}"));
        var forkVars = await EnvOfAsync($"vpspanel-{env.PanelId}-{slug}-pr-8-{forkDeployment}");
        Assert.Equal("hello preview", forkVars["GREETING"]);
        Assert.False(forkVars.ContainsKey("PREVIEW_TOKEN"));
        Assert.False(forkVars.ContainsKey("PROD_SECRET"));
        // Forks allowed: the preview variables, secrets included; still never production's.
        Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(HttpMethod.Put, $"/api/projects/{slug}/previews", """{"allowForks":true}""")).Status);
        var forkSha2 = Commit(fork, "patch-1", "from a fork, again", env.Label);
        var trusted = await SendAsync(api, slug, secret, Payload("synchronize", 8, forkSha2, "patch-1", fork.Bare, "stranger/app", repo.Bare), HttpStatusCode.Accepted);
        var trustedDeployment = (long)trusted["deploymentId"]!;
        await env.WaitForLiveAsync(trustedDeployment);
        var trustedVars = await EnvOfAsync($"vpspanel-{env.PanelId}-{slug}-pr-8-{trustedDeployment}");
        Assert.Equal("preview secret", trustedVars["PREVIEW_TOKEN"]);
        Assert.False(trustedVars.ContainsKey("PROD_SECRET"));
        Assert.True((bool)(await api.GetAsync($"/api/projects/{slug}/previews")).AsArray().Single(p => (long)p!["number"]! == 8)!["fromFork"]!);

        // Deleting the project takes its previews too.
        var deleted = await env.Client.SubmitAsync($"/projects/{project}/edit", new() { ["confirm"] = slug }, $"/projects/{project}/edit?handler=Delete");
        Assert.Equal(HttpStatusCode.SeeOther, deleted.Status);
        Assert.Empty(await env.PanelContainersAsync());
    }

    [Fact]
    public async Task A_preview_nobody_updated_for_its_time_to_live_is_removed_with_its_container_by_the_sweep()
    {
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string> { ["Previews__TtlHours"] = "1" });
        using var repo = TestRepo.WithBusyboxApp("production", env.Label);
        using var api = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);
        var (_, slug, _, _, secret) = await WebhookOrderTests.WebhookProjectAsync(env, repo, api);
        Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(HttpMethod.Put, "/api/settings", new JsonObject { ["wildcardDomain"] = $"{env.Label[7..]}.ttl.test" }.ToJsonString())).Status);
        Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(HttpMethod.Put, $"/api/projects/{slug}/previews", """{"enabled":true}""")).Status);
        var sha = Commit(repo, "stale", "stale preview", env.Label);
        var opened = await SendAsync(api, slug, secret, Payload("opened", 3, sha, "stale", repo.Bare, "team/app", repo.Bare), HttpStatusCode.Accepted);
        await env.WaitForLiveAsync((long)opened["deploymentId"]!);
        Assert.Single(await TestDocker.ContainersAsync(TestDocker.Client(), $"vpspanel.project={slug}-pr-3"));

        // Two hours without an event (written while the panel is down), then the sweep, which runs at start and every 10 minutes.
        env.Panel.KillHard();
        using (var c = VpsPanel.Features.Data.Db.OpenFile(Path.Combine(env.Panel.DataDir, "vpspanel.db")))
            Dapper.SqlMapper.Execute(c, "UPDATE previews SET updated_at = @at", new { at = VpsPanel.Features.Shared.Clock.Format(DateTime.UtcNow.AddHours(-2)) });
        await env.RestartHardAsync();
        await TestDocker.WaitUntilAsync(async () => (await api.GetAsync($"/api/projects/{slug}/previews")).AsArray().Count == 0, TimeSpan.FromSeconds(90), "the stale preview removed");
        Assert.Empty(await TestDocker.ContainersAsync(TestDocker.Client(), $"vpspanel.project={slug}-pr-3"));
        Assert.False(File.Exists(Path.Combine(env.Caddy.SitesDir, $"{slug}-pr-3.caddy")));
    }

    [Fact]
    public async Task A_burst_of_100_opened_requests_keeps_at_most_the_limit_and_says_which_were_removed()
    {
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string>
        {
            ["Previews__MaxPerProject"] = "3", ["Webhooks__MaxDeliveriesPerMinute"] = "1000",
        });
        using var repo = TestRepo.WithBusyboxApp("production", env.Label);
        using var api = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);
        var (_, slug, _, _, secret) = await WebhookOrderTests.WebhookProjectAsync(env, repo, api);
        Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(HttpMethod.Put, "/api/settings", new JsonObject { ["wildcardDomain"] = $"{env.Label[7..]}.burst.test" }.ToJsonString())).Status);
        Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(HttpMethod.Put, $"/api/projects/{slug}/previews", """{"enabled":true}""")).Status);
        var sha = Commit(repo, "feature-y", "burst", env.Label);
        using var http = new HttpClient { BaseAddress = new Uri(env.Panel.Url), Timeout = TimeSpan.FromMinutes(10) };
        var started = DateTime.UtcNow;
        var answers = await Task.WhenAll(Enumerable.Range(1, 100).Select(async n =>
        {
            var body = Payload("opened", n, sha, "feature-y", repo.Bare, "team/app", repo.Bare, $"request {n}");
            return await WebhookEndpointTests.PostAsync(http, $"/webhooks/{slug}", body, WebhookEndpointTests.Signed("github", body, secret, "pull_request"));
        }));
        Console.WriteLine($"100 opened deliveries answered in {(DateTime.UtcNow - started).TotalSeconds:0.0} s");
        Assert.All(answers, a => Assert.True(a.Status == HttpStatusCode.Accepted, $"{a.Status}: {a.Body}"));
        var previews = (await api.GetAsync($"/api/projects/{slug}/previews")).AsArray();
        Assert.Equal(3, previews.Count);
        // Each removal is said in the delivery log of the request that made room.
        Assert.Equal(97, answers.Count(a => ((string)a.Body!["reason"]!).Contains("the least recently updated")));
        // The survivors' deployments run to the end; nothing of the 97 removed stays behind.
        foreach (var p in previews)
        {
            var d = (await api.GetAsync($"/api/projects/{p!["slug"]}/deployments")).AsArray();
            await env.WaitForLiveAsync((long)d[0]!["id"]!, TimeSpan.FromMinutes(5));
        }
        using var docker = TestDocker.Client();
        Assert.Equal(3, (await env.PanelContainersAsync()).Count(c => c.Name.Contains($"{slug}-pr-")));
    }
}
