using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Dapper;
using VpsPanel.Features.Data;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Harness;
using Xunit.Abstractions;
using static VpsPanel.Tests.Webhooks.WebhookMessageTests;

namespace VpsPanel.Tests.Webhooks;

/// <summary>One panel for the endpoint tests; each test makes its own projects (unique names), so they do not interfere.</summary>
public sealed class WebhookPanel : IAsyncLifetime
{
    public PanelProcess Panel { get; private set; } = null!;
    public TestApi Api { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Panel = await PanelProcess.StartAsync();
        (await PanelSetup.SignedInAdminAsync(Panel)).Dispose();
        Api = await TestApi.ForUserAsync(Panel, PanelSetup.AdminEmail);
    }

    public async Task DisposeAsync()
    {
        Api.Dispose();
        await Panel.DisposeAsync();
    }
}

/// <summary>
/// The real endpoint of the real binary, fed the real GitHub payloads and the other hosts' documented ones, signed in
/// the test as each host signs. Each delivery: the status, the outcome and reason in the delivery log, and how many
/// deployments exist afterwards (none when nothing should be queued). The projects point at a repository that does not
/// exist, so a queued deployment fails at cloning without building anything; only the queue row matters here.
/// </summary>
public sealed class WebhookEndpointTests(WebhookPanel world, ITestOutputHelper output) : IClassFixture<WebhookPanel>
{
    TestApi Api => world.Api;

    async Task<(string Slug, string Secret)> ProjectAsync(string branch = "main", bool autoDeploy = true)
    {
        var name = "wh-" + Guid.NewGuid().ToString("N")[..10];
        var p = await Api.CreateProjectAsync(name, $"/tmp/vpspanel-missing-{name}.git", $"{name}.test", branch, autoDeploy);
        Assert.Equal($"{world.Panel.Url}/webhooks/{p["slug"]}", (string)p["webhookUrl"]!);
        Assert.Matches("^[0-9a-f]{64}$", (string)p["webhookSecret"]!);
        return ((string)p["slug"]!, (string)p["webhookSecret"]!);
    }

    public static (string, string)[] Signed(string provider, byte[] body, string secret, string? eventName = null, string? delivery = null)
    {
        delivery ??= Guid.NewGuid().ToString();
        var sig = Hmac(body, secret);
        return provider switch
        {
            "github" => [("X-GitHub-Event", eventName ?? "push"), ("X-GitHub-Delivery", delivery), ("X-Hub-Signature-256", "sha256=" + sig)],
            "gitlab" => [("X-Gitlab-Event", eventName ?? "Push Hook"), ("X-Gitlab-Event-UUID", delivery), ("X-Gitlab-Token", secret)],
            "gitea" => [("X-Gitea-Event", eventName ?? "push"), ("X-Gitea-Delivery", delivery), ("X-Gitea-Signature", sig)],
            // Forgejo sends its own headers and Gitea's.
            "forgejo" => [("X-Forgejo-Event", eventName ?? "push"), ("X-Forgejo-Delivery", delivery), ("X-Forgejo-Signature", sig),
                          ("X-Gitea-Event", eventName ?? "push"), ("X-Gitea-Delivery", delivery), ("X-Gitea-Signature", sig)],
            "bitbucket" => [("X-Event-Key", eventName ?? "repo:push"), ("X-Request-UUID", delivery), ("X-Hub-Signature", "sha256=" + sig)],
            _ => throw new ArgumentException(provider),
        };
    }

    public static async Task<(HttpStatusCode Status, JsonNode? Body)> PostAsync(HttpClient http, string url, byte[] body, params (string Name, string Value)[] headers)
    {
        using var req = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        req.Content.Headers.ContentType = new("application/json");
        foreach (var (n, v) in headers) req.Headers.TryAddWithoutValidation(n, v);
        using var res = await http.SendAsync(req);
        var text = await res.Content.ReadAsStringAsync();
        return (res.StatusCode, text.Length > 0 ? JsonNode.Parse(text) : null);
    }

    Task<(HttpStatusCode Status, JsonNode? Body)> SendAsync(string slug, byte[] body, params (string, string)[] headers) =>
        PostAsync(Api.Http, $"/webhooks/{slug}", body, headers);

    async Task<JsonNode> LastDeliveryAsync(string slug) => (await Api.DeliveriesAsync(slug))[0]!;

    [Fact]
    public async Task GitHub_real_payloads_push_to_master_queues_that_commit_and_ping_and_tag_deletion_queue_nothing()
    {
        var (slug, secret) = await ProjectAsync(branch: "master");

        var ping = await SendAsync(slug, GitHubPayload("ping-payload.json"), Signed("github", GitHubPayload("ping-payload.json"), secret, "ping"));
        Assert.Equal(HttpStatusCode.OK, ping.Status);
        Assert.Equal("ping", (string)ping.Body!["outcome"]!);
        Assert.Empty(await Api.DeploymentsAsync(slug));

        foreach (var file in new[] { "push-payload.json", "push-with-organization.payload.json" })
        {
            var tag = await SendAsync(slug, GitHubPayload(file), Signed("github", GitHubPayload(file), secret));
            Assert.Equal(HttpStatusCode.OK, tag.Status);
            Assert.Equal("ignored", (string)tag.Body!["outcome"]!);
            Assert.Equal("tag simple-tag was deleted", (string)tag.Body["reason"]!);
        }
        Assert.Empty(await Api.DeploymentsAsync(slug));

        var body = GitHubPayload("push-with-new-branch.payload.json");
        var clock = Stopwatch.StartNew();
        var push = await SendAsync(slug, body, Signed("github", body, secret));
        clock.Stop();
        output.WriteLine($"push webhook answered {push.Status} in {clock.Elapsed.TotalMilliseconds:0} ms");
        Assert.Equal(HttpStatusCode.Accepted, push.Status);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"the webhook took {clock.Elapsed} to answer");
        var deployments = await Api.DeploymentsAsync(slug);
        var d = Assert.Single(deployments)!;
        Assert.Equal((long)push.Body!["deploymentId"]!, (long)d["id"]!);
        Assert.Equal("webhook", (string)d["trigger"]!);
        Assert.Equal("6113728f27ae82c7b1a177c8d03f9e96e0adf246", (string)d["requestedCommit"]!);

        var log = await Api.DeliveriesAsync(slug);
        Assert.Equal(["queued", "ignored", "ignored", "ping"], log.Select(x => (string)x!["outcome"]!));
        Assert.Equal("master", (string)log[0]!["branch"]!);
        Assert.Equal("GitHub", (string)log[0]!["provider"]!);
        Assert.Equal((long)d["id"]!, (long)log[0]!["deploymentId"]!);
    }

    [Theory]
    [InlineData("gitlab", "gitlab-push.json", "da1560886d4f094c3e6c9ef40349f7d38b5d27d7")]
    [InlineData("gitea", "gitea-push.json", "bffeb74224043ba2feb48d137756c8a9331c449a")]
    [InlineData("forgejo", "forgejo-push.json", "2222222222222222222222222222222222222222")]
    [InlineData("bitbucket", "bitbucket-push.json", "4444444444444444444444444444444444444444")]
    public async Task A_push_to_the_branch_from_each_host_queues_exactly_the_pushed_commit(string provider, string file, string sha)
    {
        var (slug, secret) = await ProjectAsync();
        var body = Payload(file);
        var (status, answer) = await SendAsync(slug, body, Signed(provider, body, secret));
        Assert.Equal(HttpStatusCode.Accepted, status);
        Assert.Equal("queued", (string)answer!["outcome"]!);
        var d = Assert.Single(await Api.DeploymentsAsync(slug))!;
        Assert.Equal(sha, (string)d["requestedCommit"]!);
        Assert.Equal("webhook", (string)d["trigger"]!);
        var delivery = await LastDeliveryAsync(slug);
        Assert.Equal(sha, (string)delivery["commitSha"]!);
        Assert.Equal("main", (string)delivery["branch"]!);
    }

    [Theory]
    [InlineData("gitlab", "gitlab-branch-delete.json", null, "branch main was deleted")]
    [InlineData("gitea", "gitea-delete.json", "delete", "a branch was deleted")]
    [InlineData("forgejo", "gitea-delete.json", "delete", "a branch was deleted")]
    [InlineData("bitbucket", "bitbucket-branch-delete.json", null, "branch main was deleted")]
    public async Task Branch_deletions_are_accepted_and_ignored_and_queue_nothing(string provider, string file, string? eventName, string reason)
    {
        var (slug, secret) = await ProjectAsync();
        var body = Payload(file);
        var (status, answer) = await SendAsync(slug, body, Signed(provider, body, secret, eventName));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("ignored", (string)answer!["outcome"]!);
        Assert.Equal(reason, (string)answer["reason"]!);
        Assert.Empty(await Api.DeploymentsAsync(slug));
        Assert.Equal(reason, (string)(await LastDeliveryAsync(slug))["reason"]!);
    }

    /// <summary>
    /// Deliveries that arrive together are stored together (WebhookEndpoint.Writer: one transaction for all that
    /// waited), yet each gets its own answer: distinct pushes each queue their own commit, the two copies of a
    /// redelivery sent at the same moment queue one deployment between them, a bad signature in the same burst is
    /// refused without taking the others down, and pushes to another project land there.
    /// </summary>
    [Fact]
    public async Task Pushes_sent_at_once_are_each_answered_for_themselves_and_stored()
    {
        var (slug, secret) = await ProjectAsync();
        var (other, otherSecret) = await ProjectAsync();
        var template = Encoding.UTF8.GetString(Payload("gitea-push.json"));
        byte[] PushOf(string sha) => Encoding.UTF8.GetBytes(template.Replace("bffeb74224043ba2feb48d137756c8a9331c449a", sha));
        string Sha(int i) => Convert.ToHexString(System.Security.Cryptography.SHA1.HashData(Encoding.UTF8.GetBytes($"{slug}-{i}"))).ToLowerInvariant();

        var sends = new List<(string Kind, string Sha, Task<(HttpStatusCode Status, JsonNode? Body)> Answer)>();
        for (var i = 0; i < 20; i++)
        {
            var body = PushOf(Sha(i));
            var headers = Signed("gitea", body, secret);
            sends.Add(("push", Sha(i), SendAsync(slug, body, headers)));
            // Every fifth push is sent twice at the same moment (same delivery id): a redelivery racing its original.
            if (i % 5 == 0) sends.Add(("copy", Sha(i), SendAsync(slug, body, headers)));
            if (i % 7 == 0) sends.Add(("bad", Sha(i), SendAsync(slug, body, Signed("gitea", body, "not-the-secret"))));
            if (i % 4 == 0) { var o = PushOf(Sha(100 + i)); sends.Add(("other", Sha(100 + i), SendAsync(other, o, Signed("gitea", o, otherSecret)))); }
        }
        await Task.WhenAll(sends.Select(x => x.Answer));
        foreach (var (kind, sha, answer) in sends) output.WriteLine($"{kind} {sha[..7]}: {(int)answer.Result.Status} {answer.Result.Body?["outcome"]}");

        Assert.All(sends.Where(x => x.Kind == "bad"), x => Assert.Equal(HttpStatusCode.Unauthorized, x.Answer.Result.Status));
        // Per commit: exactly one 202 "queued", and the copy (if any) a 200 "duplicate" naming the same deployment.
        var queued = new Dictionary<string, long>();
        foreach (var group in sends.Where(x => x.Kind is "push" or "copy").GroupBy(x => x.Sha))
        {
            var answers = group.Select(x => x.Answer.Result).ToList();
            var accepted = Assert.Single(answers, a => a.Status == HttpStatusCode.Accepted);
            Assert.Equal("queued", (string)accepted.Body!["outcome"]!);
            queued[group.Key] = (long)accepted.Body["deploymentId"]!;
            foreach (var dup in answers.Where(a => a.Status != HttpStatusCode.Accepted))
            {
                Assert.Equal(HttpStatusCode.OK, dup.Status);
                Assert.Equal("duplicate", (string)dup.Body!["outcome"]!);
                Assert.Equal(queued[group.Key], (long)dup.Body["deploymentId"]!);
            }
        }
        Assert.Equal(20, queued.Count);
        Assert.Equal(20, queued.Values.Distinct().Count());
        // Stored: a deployment row of each commit, with the id its answer gave; nothing of the refused ones.
        var rows = (await Api.DeploymentsAsync(slug)).Select(d => ((string)d!["requestedCommit"]!, (long)d["id"]!)).ToList();
        Assert.Equal(queued.OrderBy(q => q.Value).Select(q => (q.Key, q.Value)), rows.OrderBy(r => r.Item2));
        var otherRows = (await Api.DeploymentsAsync(other)).Select(d => (string)d!["requestedCommit"]!).Order().ToList();
        Assert.Equal(sends.Where(x => x.Kind == "other").Select(x => x.Sha).Order(), otherRows);
        Assert.All(sends.Where(x => x.Kind == "other"), x => Assert.Equal(HttpStatusCode.Accepted, x.Answer.Result.Status));
        // The delivery log has each push once as queued and each copy once as duplicate.
        var log = await Api.DeliveriesAsync(slug);
        Assert.Equal(20, log.Count(d => (string)d!["outcome"]! == "queued"));
        Assert.Equal(sends.Count(x => x.Kind == "copy"), log.Count(d => (string)d!["outcome"]! == "duplicate"));
    }

    [Fact]
    public async Task Another_branch_and_a_tag_push_are_ignored_with_the_reason()
    {
        var (slug, secret) = await ProjectAsync(branch: "main");
        var master = GitHubPayload("push-with-new-branch.payload.json");
        var other = await SendAsync(slug, master, Signed("github", master, secret));
        Assert.Equal(HttpStatusCode.OK, other.Status);
        Assert.Equal("branch master is not main", (string)other.Body!["reason"]!);

        var tag = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(Payload("gitea-push.json")).Replace("refs/heads/main", "refs/tags/v1.0"));
        var tagged = await SendAsync(slug, tag, Signed("gitea", tag, secret));
        Assert.Equal(HttpStatusCode.OK, tagged.Status);
        Assert.Equal("tag v1.0 was pushed; only pushes to branch main deploy", (string)tagged.Body!["reason"]!);

        Assert.Empty(await Api.DeploymentsAsync(slug));
        Assert.All(await Api.DeliveriesAsync(slug), d => Assert.Equal("ignored", (string)d!["outcome"]!));
    }

    [Fact]
    public async Task Bad_deliveries_are_refused_with_the_reason_and_change_nothing()
    {
        var (slug, secret) = await ProjectAsync();
        var body = Payload("gitea-push.json");
        var malformed = Encoding.UTF8.GetBytes("{\"ref\": \"refs/heads/main\", ");
        var oversized = new byte[5 * 1024 * 1024 + 1];
        Array.Fill(oversized, (byte)' ');
        (string What, byte[] Body, (string, string)[] Headers, HttpStatusCode Status, string Reason)[] cases =
        [
            ("bad signature", body, Signed("gitea", body, "not-the-secret"), HttpStatusCode.Unauthorized, "signature mismatch"),
            ("tampered body", [.. body, (byte)' '], Signed("gitea", body, secret), HttpStatusCode.Unauthorized, "signature mismatch"),
            ("missing signature", body, [("X-Gitea-Event", "push"), ("X-Gitea-Delivery", "x")], HttpStatusCode.Unauthorized, "missing X-Gitea-Signature header"),
            ("missing GitHub signature", body, [("X-GitHub-Event", "push")], HttpStatusCode.Unauthorized, "missing X-Hub-Signature-256 header"),
            ("wrong GitLab token", Payload("gitlab-push.json"), [("X-Gitlab-Event", "Push Hook"), ("X-Gitlab-Token", "guess")], HttpStatusCode.Unauthorized, "X-Gitlab-Token does not match"),
            ("no provider", body, [("X-Hub-Signature-256", "sha256=" + Hmac(body, secret))], HttpStatusCode.Unauthorized, "no Git host recognised"),
            ("malformed JSON", malformed, Signed("github", malformed, secret), HttpStatusCode.BadRequest, "is not the JSON of a GitHub event"),
            ("oversized", oversized, Signed("github", oversized, secret), HttpStatusCode.RequestEntityTooLarge, "larger than 5 MB"),
        ];
        foreach (var (what, b, headers, expected, reason) in cases)
        {
            var (status, answer) = await SendAsync(slug, b, headers);
            Assert.True(status == expected, $"{what}: expected {expected}, got {status}: {answer}");
            Assert.Contains(reason, (string)answer!["detail"]!);
            Assert.Contains("Nothing was deployed", (string)answer["detail"]!);
            var logged = await LastDeliveryAsync(slug);
            Assert.Equal("rejected", (string)logged["outcome"]!);
            Assert.Contains(reason, (string)logged["reason"]!);
        }
        Assert.Empty(await Api.DeploymentsAsync(slug));
        // Refusals are counted one row a minute (two if the posts straddled a minute), not one row each.
        var refused = await Api.DeliveriesAsync(slug);
        Assert.InRange(refused.Count, 1, 2);
        Assert.Equal(cases.Length, refused.Sum(d => (long)d!["times"]!));

        // An unknown project: the same 401 as a wrong signature (its existence is not given away), and no other
        // project's log or queue changes.
        var unknown = await SendAsync("no-such-project", body, Signed("gitea", body, secret));
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.Status);
        Assert.Equal("Rejected: signature mismatch. Nothing was deployed.", (string)unknown.Body!["detail"]!);
        Assert.Equal(cases.Length, (await Api.DeliveriesAsync(slug)).Sum(d => (long)d!["times"]!));
        Assert.Empty(await Api.DeploymentsAsync(slug));
    }

    [Fact]
    public async Task A_redelivery_with_the_same_delivery_id_queues_nothing_new()
    {
        var (slug, secret) = await ProjectAsync();
        var body = Payload("gitlab-push.json");
        var headers = Signed("gitlab", body, secret, delivery: "77777777-aaaa-bbbb-cccc-000000000001");
        var first = await SendAsync(slug, body, headers);
        Assert.Equal(HttpStatusCode.Accepted, first.Status);
        var again = await SendAsync(slug, body, headers);
        Assert.Equal(HttpStatusCode.OK, again.Status);
        Assert.Equal("duplicate", (string)again.Body!["outcome"]!);
        Assert.Contains($"queued deployment #{first.Body!["deploymentId"]}", (string)again.Body["reason"]!);
        Assert.Single(await Api.DeploymentsAsync(slug));

        // Once that deployment has failed (the repository does not exist), a new delivery of the same push is a
        // retry: it deploys. (While the commit is queued, running or live it would not: see WebhookOrderTests.)
        Assert.Equal("failed", (string)(await Api.WaitForEndAsync((long)first.Body["deploymentId"]!))["status"]!);
        var fresh = await SendAsync(slug, body, Signed("gitlab", body, secret));
        Assert.Equal(HttpStatusCode.Accepted, fresh.Status);
        Assert.Equal(2, (await Api.DeploymentsAsync(slug)).Count);
    }

    [Fact]
    public async Task With_auto_deploy_off_a_push_is_logged_not_deployed_until_it_is_switched_back_on()
    {
        var (slug, secret) = await ProjectAsync(autoDeploy: false);
        var body = Payload("bitbucket-push.json");
        var (status, answer) = await SendAsync(slug, body, Signed("bitbucket", body, secret));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("ignored", (string)answer!["outcome"]!);
        Assert.StartsWith("auto-deploy is off for this project", (string)answer["reason"]!);
        Assert.Empty(await Api.DeploymentsAsync(slug));
        Assert.Equal("4444444444444444444444444444444444444444", (string)(await LastDeliveryAsync(slug))["commitSha"]!);

        var on = await Api.SendAsync(HttpMethod.Patch, $"/api/projects/{slug}", """{"autoDeploy":true}""");
        Assert.Equal(HttpStatusCode.OK, on.Status);
        Assert.True((bool)on.Body!["autoDeploy"]!);
        Assert.Equal(HttpStatusCode.Accepted, (await SendAsync(slug, body, Signed("bitbucket", body, secret))).Status);
        Assert.Single(await Api.DeploymentsAsync(slug));
    }

    [Fact]
    public async Task A_new_secret_from_the_API_refuses_deliveries_signed_with_the_old_one_and_deploys_with_the_new_one()
    {
        var (slug, old) = await ProjectAsync();
        var renewed = await Api.SendAsync(HttpMethod.Post, $"/api/projects/{slug}/webhook-secret");
        Assert.Equal(HttpStatusCode.OK, renewed.Status);
        var secret = (string)renewed.Body!["webhookSecret"]!;
        Assert.Matches("^[0-9a-f]{64}$", secret);
        Assert.NotEqual(old, secret);
        Assert.Equal($"{world.Panel.Url}/webhooks/{slug}", (string)renewed.Body["webhookUrl"]!);
        Assert.Equal(secret, (string)(await Api.GetAsync($"/api/projects/{slug}"))["webhookSecret"]!);

        var body = Payload("gitea-push.json");
        var stale = await SendAsync(slug, body, Signed("gitea", body, old));
        Assert.Equal(HttpStatusCode.Unauthorized, stale.Status);
        Assert.Equal("rejected", (string)(await LastDeliveryAsync(slug))["outcome"]!);
        Assert.Equal("signature mismatch", (string)(await LastDeliveryAsync(slug))["reason"]!);
        Assert.Empty(await Api.DeploymentsAsync(slug));

        var fresh = await SendAsync(slug, body, Signed("gitea", body, secret));
        Assert.Equal(HttpStatusCode.Accepted, fresh.Status);
        Assert.Equal("queued", (string)(await LastDeliveryAsync(slug))["outcome"]!);
        Assert.Single(await Api.DeploymentsAsync(slug));

        // An unknown project: the API's 404, and no secret changed anywhere.
        var unknown = await Api.SendAsync(HttpMethod.Post, "/api/projects/no-such-project/webhook-secret");
        Assert.Contains("no-such-project", (string)TestApi.Problem(unknown, HttpStatusCode.NotFound)["detail"]!);
        Assert.Equal(secret, (string)(await Api.GetAsync($"/api/projects/{slug}"))["webhookSecret"]!);
        var openApi = await Api.Http.GetStringAsync("/api/openapi.json");
        Assert.Contains("/api/projects/{slug}/webhook-secret", openApi);
    }

    [Fact]
    public async Task The_delivery_log_keeps_only_the_newest_100_deliveries_of_each_project()
    {
        var (slug, secret) = await ProjectAsync(branch: "main");
        var (other, otherSecret) = await ProjectAsync(branch: "main");
        // Pushes to master: cheap, each is logged as ignored and queues nothing.
        var body = GitHubPayload("push-with-new-branch.payload.json");
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(other, body, Signed("github", body, otherSecret, delivery: "other-1"))).Status);
        const int sent = 107;
        for (var i = 1; i <= sent; i++)
        {
            var (status, answer) = await SendAsync(slug, body, Signed("github", body, secret, delivery: $"delivery-{i:000}"));
            Assert.True(status == HttpStatusCode.OK, $"delivery {i}: {status} {answer}");
        }

        var log = await Api.DeliveriesAsync(slug);
        Assert.Equal(Enumerable.Range(sent - 99, 100).Reverse().Select(i => $"delivery-{i:000}"), log.Select(d => (string)d!["deliveryId"]!));
        var projectId = (long)(await Api.GetAsync($"/api/projects/{slug}"))["id"]!;
        using (var c = Db.OpenFile(Path.Combine(world.Panel.DataDir, "vpspanel.db")))
        {
            // The rows themselves are gone, not just hidden by the listing's LIMIT.
            Assert.Equal(100, c.ExecuteScalar<long>("SELECT count(*) FROM webhook_deliveries WHERE project_id = @projectId", new { projectId }));
        }
        // Another project's log is its own: one project's traffic does not trim it.
        Assert.Equal("other-1", (string)Assert.Single(await Api.DeliveriesAsync(other))!["deliveryId"]!);
        Assert.Empty(await Api.DeploymentsAsync(slug));
    }

    [Fact]
    public async Task Opening_the_webhook_URL_in_a_browser_says_what_it_is_instead_of_asking_to_sign_in()
    {
        var (slug, _) = await ProjectAsync();
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(world.Panel.Url) };
        using var res = await http.GetAsync($"/webhooks/{slug}");
        var answer = new Answer(res.StatusCode, JsonNode.Parse(await res.Content.ReadAsStringAsync()), res.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith($"This is the push webhook of project \"{slug}\": Git hosts POST push events to it.", (string)TestApi.Problem(answer, HttpStatusCode.MethodNotAllowed)["detail"]!);
        Assert.Equal(["POST"], res.Content.Headers.Allow);
        Assert.Empty(await Api.DeliveriesAsync(slug));
    }
}
