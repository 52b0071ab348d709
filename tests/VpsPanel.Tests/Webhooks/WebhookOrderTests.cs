using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;
using Xunit.Abstractions;

namespace VpsPanel.Tests.Webhooks;

/// <summary>
/// Which push deploys, on the real pipeline (real git, Docker, Caddy): a captured signed push sent again under a new
/// delivery id changes nothing (issue 11), and a push of an older commit never replaces a newer one, whatever order
/// the deliveries come in (issue 12).
/// </summary>
public sealed class WebhookOrderTests(ITestOutputHelper output)
{
    /// <summary>A Gitea push delivery of <paramref name="sha"/> to main, as the post-receive hook in WebhookPushTests sends it.</summary>
    static byte[] GiteaPush(string sha, string message) => Encoding.UTF8.GetBytes(new JsonObject
    {
        ["ref"] = "refs/heads/main", ["before"] = new string('0', 40), ["after"] = sha,
        ["head_commit"] = new JsonObject { ["id"] = sha, ["message"] = message, ["author"] = new JsonObject { ["name"] = "Test Author" } },
    }.ToJsonString());

    static async Task<(HttpStatusCode Status, JsonNode Body)> PushAsync(TestApi api, string slug, string secret, string sha, string message, string? delivery = null)
    {
        var body = GiteaPush(sha, message);
        var (status, answer) = await WebhookEndpointTests.PostAsync(api.Http, $"/webhooks/{slug}", body, WebhookEndpointTests.Signed("gitea", body, secret, delivery: delivery));
        return (status, answer!);
    }

    /// <summary>The repo's project on the panel, and what a Git host needs to call its webhook.</summary>
    public static async Task<(long ProjectId, string Slug, string Domain, string Url, string Secret)> WebhookProjectAsync(DeployEnv env, TestRepo repo, TestApi api)
    {
        var domain = $"{env.Name()}.test";
        var projectId = await env.CreateProjectAsync(repo, domain);
        var project = await api.GetAsync($"/api/projects/{env.Name()}");
        return (projectId, env.Name(), domain, (string)project["webhookUrl"]!, (string)project["webhookSecret"]!);
    }

    static async Task<JsonNode> DeliveryOfAsync(TestApi api, string slug, string sha) =>
        (await api.DeliveriesAsync(slug)).First(d => (string?)d!["commitSha"] == sha)!;

    [Fact]
    public async Task A_captured_signed_push_sent_again_under_a_new_delivery_id_queues_nothing()
    {
        await using var env = await DeployEnv.StartAsync();
        using var repo = TestRepo.WithBusyboxApp("v1", env.Label);
        using var api = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);
        var (_, slug, domain, _, secret) = await WebhookProjectAsync(env, repo, api);
        var v2 = repo.CommitApp("v2", env.Label, "v2");

        var first = await PushAsync(api, slug, secret, v2, "v2");
        Assert.Equal(HttpStatusCode.Accepted, first.Status);
        var id = (long)first.Body["deploymentId"]!;

        // The same signed body under a new delivery id while that deployment is queued or running…
        var replay = await PushAsync(api, slug, secret, v2, "v2");
        output.WriteLine($"replay while deploying: {replay.Status} {replay.Body}");
        Assert.Equal(HttpStatusCode.OK, replay.Status);
        Assert.Equal("skipped", (string)replay.Body["outcome"]!);
        Assert.Matches($"^commit {v2[..7]} is already (queued|being deployed \\(\\w+\\)) \\(deployment #{id}\\); nothing new queued$", (string)replay.Body["reason"]!);
        Assert.Equal(id, (long)replay.Body["deploymentId"]!);

        var done = await api.WaitForEndAsync(id);
        Assert.True((string)done["status"]! == "live", $"{done}");
        Assert.Equal("v2", await env.ServedAsync(domain));

        // …and once it is live.
        var later = await PushAsync(api, slug, secret, v2, "v2");
        Assert.Equal(HttpStatusCode.OK, later.Status);
        Assert.Equal($"commit {v2[..7]} is already live (deployment #{id}); nothing new queued", (string)later.Body["reason"]!);

        Assert.Single(await api.DeploymentsAsync(slug));
        var log = await api.DeliveriesAsync(slug);
        Assert.Equal(["skipped", "skipped", "queued"], log.Select(d => (string)d!["outcome"]!));
        Assert.All(log, d => Assert.Equal(id, (long)d!["deploymentId"]!));

        // A real new push still deploys.
        var v3 = repo.CommitApp("v3", env.Label, "v3");
        var next = await PushAsync(api, slug, secret, v3, "v3");
        Assert.Equal(HttpStatusCode.Accepted, next.Status);
        Assert.Equal("live", (string)(await api.WaitForEndAsync((long)next.Body["deploymentId"]!))["status"]!);
        Assert.Equal("v3", await env.ServedAsync(domain));
    }

    /// <summary>
    /// c11 is being deployed (its build sleeps, so the project is busy) when the pushes of c12 and c13 arrive, in
    /// either order. Before the fix, c12 arriving second superseded the queued c13 and went live. Now c13 is live
    /// both times, and the delivery log (and c12's deployment) say why c12 was skipped.
    /// </summary>
    [Theory]
    [InlineData("c13 first")]
    [InlineData("c12 first")]
    public async Task A_push_of_an_older_commit_never_replaces_a_newer_one(string order)
    {
        await using var env = await DeployEnv.StartAsync();
        using var repo = TestRepo.WithBusyboxApp("c11", env.Label, extraDockerfile: """RUN ["/bin/busybox", "sleep", "6"]""");
        using var api = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);
        var (projectId, slug, domain, _, secret) = await WebhookProjectAsync(env, repo, api);

        // c11 by its exact commit, or the fetch could already see c12 or c13 at the branch's head.
        var c11Deploy = await env.DeployAsync(projectId, TestRepo.Run(repo.Work, "rev-parse", "HEAD").Trim());
        var c12 = repo.CommitApp("c12", env.Label, "c12");
        var c13 = repo.CommitApp("c13", env.Label, "c13");
        var pushes = order == "c13 first" ? new[] { (c13, "c13"), (c12, "c12") } : [(c12, "c12"), (c13, "c13")];
        var ids = new Dictionary<string, long>();
        foreach (var (sha, name) in pushes)
        {
            var (status, answer) = await PushAsync(api, slug, secret, sha, name);
            Assert.True(status == HttpStatusCode.Accepted, $"{name}: {status} {answer}");
            ids[name] = (long)answer["deploymentId"]!;
        }
        // Both arrived while c11 was still being deployed: the order they run in is the worker's decision.
        Assert.NotEqual("live", await env.StatusAsync(c11Deploy));

        var c13End = await api.WaitForEndAsync(ids["c13"]);
        var c12End = await api.WaitForEndAsync(ids["c12"]);
        output.WriteLine($"{order}: c13 #{ids["c13"]} {c13End["status"]}; c12 #{ids["c12"]} {c12End["status"]}: {c12End["error"]}");
        Assert.True((string)c13End["status"]! == "live", $"{c13End}\n{await env.LogAsync(ids["c13"])}");
        Assert.Equal("c13", await env.ServedAsync(domain));
        Assert.Equal(c13, (string)(await api.GetAsync($"/api/deployments/{ids["c13"]}"))["commitSha"]!);

        Assert.Equal("superseded", (string)c12End["status"]!);
        var why = $"commit {c12[..7]} is older than {c13[..7]}, which ";
        Assert.StartsWith(why, (string)c12End["error"]!);
        Assert.EndsWith("a push never moves the live commit backwards", (string)c12End["error"]!);
        // Its own log says why, whether it was skipped when its turn came or while still queued.
        Assert.Matches($"skipped( before it ran \\(decided by deployment \\d+\\))?: {why}", await env.LogAsync(ids["c12"]));
        var delivery = await DeliveryOfAsync(api, slug, c12);
        Assert.Equal("skipped", (string)delivery["outcome"]!);
        Assert.StartsWith($"deployment #{ids["c12"]} skipped: {why}", (string)delivery["reason"]!);
        Assert.Equal("queued", (string)(await DeliveryOfAsync(api, slug, c13))["outcome"]!);

        // The page says it too, as a skip rather than a failure.
        var page = await env.Client.GetAsync($"/deployments/{ids["c12"]}");
        Assert.StartsWith("Skipped: " + why, page.Text("#deploy-error"));
        Assert.Equal("c13", await env.ServedAsync(domain));
    }

    /// <summary>
    /// Pushes of commits the repository does not have (random SHAs here; in life a flood, or commits force-pushed
    /// away) queue up while c1 builds. Each used to run a deploy of its own, a fetch each, to fail at its checkout
    /// (issue 20); now the first one's fetch ends the whole queue: the others fail with the same error without
    /// running (no step, no start time), their logs and deliveries say so, and the live deployment is untouched.
    /// </summary>
    [Fact]
    public async Task A_queue_of_pushes_whose_commits_are_not_in_the_repository_ends_after_one_fetch()
    {
        await using var env = await DeployEnv.StartAsync();
        using var repo = TestRepo.WithBusyboxApp("c1", env.Label, extraDockerfile: """RUN ["/bin/busybox", "sleep", "6"]""");
        using var api = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);
        var (projectId, slug, domain, _, secret) = await WebhookProjectAsync(env, repo, api);

        var c1Deploy = await env.DeployAsync(projectId, TestRepo.Run(repo.Work, "rev-parse", "HEAD").Trim());
        var absent = Enumerable.Range(0, 5).Select(_ => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(20))).ToList();
        var ids = new List<long>();
        foreach (var sha in absent)
        {
            var (status, answer) = await PushAsync(api, slug, secret, sha, "gone");
            Assert.True(status == HttpStatusCode.Accepted, $"{status} {answer}");
            ids.Add((long)answer["deploymentId"]!);
        }
        // All queued behind c1, so the first to be claimed fetches while the others are still queued.
        Assert.NotEqual("live", await env.StatusAsync(c1Deploy));
        Assert.Equal("live", await env.WaitForLiveAsync(c1Deploy));

        var ends = new List<JsonNode>();
        foreach (var id in ids) ends.Add(await api.WaitForEndAsync(id));
        foreach (var (end, sha) in ends.Zip(absent))
        {
            Assert.True((string)end["status"]! == "failed", $"{end}");
            Assert.Equal($"the commit {sha} is not in the repository (on any fetched branch)", (string)end["error"]!);
            Assert.Equal("cloning", (string)end["step"]!);
        }
        // One of them ran (the first claimed, ids[0]) and its fetch answered for the rest: they never started.
        Assert.NotNull((string?)ends[0]["startedAt"]);
        foreach (var (end, id) in ends.Zip(ids).Skip(1))
        {
            Assert.True(end["startedAt"] is null, $"{end}");
            var log = await env.LogAsync(id);
            Assert.Contains($"FAILED at cloning before it ran (decided by deployment {ids[0]}, whose fetch did not bring the commit): the commit ", log);
            Assert.DoesNotContain("==> cloning", log);
            // That line is kept in the row, not in a file of its own (issue 20); the page's live stream reads it too.
            Assert.Empty(Directory.GetFiles(Path.Combine(env.Panel.DataDir, "logs"), $"{id}-*.log"));
            Assert.Contains("FAILED at cloning before it ran", await env.Client.Http.GetStringAsync($"/deployments/{id}/events"));
        }
        Assert.Contains("FAILED at cloning: the commit " + absent[0], await env.LogAsync(ids[0]));
        foreach (var (sha, id) in absent.Zip(ids).Skip(1))
        {
            var delivery = await DeliveryOfAsync(api, slug, sha);
            Assert.Equal("queued", (string)delivery["outcome"]!);
            Assert.Equal(id, (long)delivery["deploymentId"]!);
            Assert.Equal($"deployment #{id} failed: the commit {sha} is not in the repository (on any fetched branch) (after the fetch of deployment #{ids[0]})",
                (string)delivery["reason"]!);
        }
        Assert.Equal("c1", await env.ServedAsync(domain));
        Assert.Equal("live", await env.StatusAsync(c1Deploy));
    }
}
