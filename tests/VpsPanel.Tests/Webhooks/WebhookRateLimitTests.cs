using System.Net;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Harness;
using static VpsPanel.Tests.Webhooks.WebhookMessageTests;

namespace VpsPanel.Tests.Webhooks;

public sealed class WebhookRateLimitTests
{
    /// <summary>
    /// With Webhooks:MaxDeliveriesPerMinute = 3, the fourth delivery within the minute is a 429 that says why and when
    /// to retry; it is not logged and queues nothing (a flood must not fill the log or the queue), even when it is a
    /// correctly signed push. The limit is per project: another project's webhook still answers.
    /// </summary>
    [Fact]
    public async Task Over_the_configured_limit_a_projects_webhook_answers_429_records_nothing_and_other_projects_still_work()
    {
        await using var panel = await PanelProcess.StartAsync(new Dictionary<string, string> { ["Webhooks__MaxDeliveriesPerMinute"] = "3" });
        (await PanelSetup.SignedInAdminAsync(panel)).Dispose();
        using var api = await TestApi.ForUserAsync(panel, PanelSetup.AdminEmail);
        var a = await api.CreateProjectAsync("flooded", "/tmp/vpspanel-missing-flooded.git", "flooded.test");
        var b = await api.CreateProjectAsync("quiet", "/tmp/vpspanel-missing-quiet.git", "quiet.test");
        var (slug, secret) = ((string)a["slug"]!, (string)a["webhookSecret"]!);

        var ignored = GitHubPayload("push-with-new-branch.payload.json");
        for (var i = 0; i < 3; i++)
            Assert.Equal(HttpStatusCode.OK, (await WebhookEndpointTests.PostAsync(api.Http, $"/webhooks/{slug}", ignored, WebhookEndpointTests.Signed("github", ignored, secret))).Status);

        var push = Payload("gitea-push.json");
        foreach (var path in new[] { $"/webhooks/{slug}", $"/webhooks/{slug.ToUpperInvariant()}" })
        {
            using var req = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(push) };
            req.Content.Headers.ContentType = new("application/json");
            foreach (var (n, v) in WebhookEndpointTests.Signed("gitea", push, secret)) req.Headers.TryAddWithoutValidation(n, v);
            using var res = await api.Http.SendAsync(req);
            var answer = new Answer(res.StatusCode, System.Text.Json.Nodes.JsonNode.Parse(await res.Content.ReadAsStringAsync()), res.Content.Headers.ContentType?.MediaType);
            var detail = (string)TestApi.Problem(answer, HttpStatusCode.TooManyRequests)["detail"]!;
            Assert.Contains("accepts 3 a minute (setting Webhooks:MaxDeliveriesPerMinute)", detail);
            Assert.Contains("nothing was deployed", detail);
            var retryAfter = int.Parse(res.Headers.GetValues("Retry-After").Single());
            Assert.InRange(retryAfter, 1, 60);
        }

        Assert.Equal(3, (await api.DeliveriesAsync(slug)).Count);
        Assert.Empty(await api.DeploymentsAsync(slug));

        var other = (string)b["slug"]!;
        var quiet = await WebhookEndpointTests.PostAsync(api.Http, $"/webhooks/{other}", push, WebhookEndpointTests.Signed("gitea", push, (string)b["webhookSecret"]!));
        Assert.Equal(HttpStatusCode.Accepted, quiet.Status);
        Assert.Single(await api.DeploymentsAsync(other));
    }
}
