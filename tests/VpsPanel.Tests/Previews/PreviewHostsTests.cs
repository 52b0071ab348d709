using System.Net;
using System.Text.Json.Nodes;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;
using VpsPanel.Tests.Webhooks;

namespace VpsPanel.Tests.Previews;

/// <summary>
/// Issue 18: the other hosts' pull/merge request deliveries (GitLab, Gitea, Forgejo, Bitbucket; payloads built from
/// their documentation, signed as each signs) reach the preview code through the project's webhook: opened makes a
/// listed preview and queues its deployment, closed/merged removes it. (Their branches are not in the test's
/// repository, so those deployments fail at the fetch; GitHub's payloads go live end to end in PreviewDeployTests.)
/// </summary>
public sealed class PreviewHostsTests
{
    static byte[] Payload(string name) => File.ReadAllBytes(Path.Combine(Paths.RepoRoot, "tests", "VpsPanel.Tests", "Previews", "payloads", name));

    [Theory]
    [InlineData("gitlab", "Merge Request Hook", "gitlab-mr-open.json", "Merge Request Hook", "gitlab-mr-close.json", 7)]
    [InlineData("gitea", "pull_request", "gitea-pr-opened.json", "pull_request", "gitea-pr-closed-merged.json", 5)]
    [InlineData("forgejo", "pull_request", "forgejo-pr-opened-fork.json", "pull_request", "forgejo-pr-closed.json", 5)]
    [InlineData("bitbucket", "pullrequest:created", "bitbucket-pullrequest-created.json", "pullrequest:fulfilled", "bitbucket-pullrequest-fulfilled.json", 12)]
    public async Task Opened_and_closed_requests_of_each_host_make_and_remove_a_preview(string host, string openEvent, string opened, string closeEvent, string closed, int number)
    {
        await using var env = await DeployEnv.StartAsync();
        using var repo = TestRepo.WithBusyboxApp("production", env.Label);
        using var api = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);
        var (_, slug, _, _, secret) = await WebhookOrderTests.WebhookProjectAsync(env, repo, api);
        Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(HttpMethod.Put, "/api/settings", new JsonObject { ["wildcardDomain"] = $"{env.Label[7..]}.{host}.test" }.ToJsonString())).Status);
        Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(HttpMethod.Put, $"/api/projects/{slug}/previews", """{"enabled":true}""")).Status);

        var open = Payload(opened);
        var (status, answer) = await WebhookEndpointTests.PostAsync(api.Http, $"/webhooks/{slug}", open, WebhookEndpointTests.Signed(host, open, secret, openEvent));
        Assert.True(status == HttpStatusCode.Accepted, $"{status}: {answer}");
        Assert.Equal("queued", (string?)answer!["outcome"]);
        var preview = Assert.Single((await api.GetAsync($"/api/projects/{slug}/previews")).AsArray())!;
        Assert.Equal(number, (int)preview["number"]!);
        Assert.Equal("Faster checkout", (string?)preview["title"]);
        Assert.False(string.IsNullOrEmpty((string?)preview["author"]));
        Assert.Equal($"http://pr-{number}.{slug}.{env.Label[7..]}.{host}.test/", (string?)preview["url"]);
        Assert.Equal("queued", (string?)(await api.GetAsync("/api/projects/" + slug + "/webhook-deliveries")).AsArray()[0]!["outcome"]);
        // A wrong signature is refused before anything is read.
        var (refused, _) = await WebhookEndpointTests.PostAsync(api.Http, $"/webhooks/{slug}", open, WebhookEndpointTests.Signed(host, open, "not-the-secret", openEvent));
        Assert.Equal(HttpStatusCode.Unauthorized, refused);

        var close = Payload(closed);
        (status, answer) = await WebhookEndpointTests.PostAsync(api.Http, $"/webhooks/{slug}", close, WebhookEndpointTests.Signed(host, close, secret, closeEvent));
        Assert.True(status == HttpStatusCode.OK, $"{status}: {answer}");
        Assert.Equal("removed", (string?)answer!["outcome"]);
        Assert.Empty((await api.GetAsync($"/api/projects/{slug}/previews")).AsArray());
        Assert.Equal(HttpStatusCode.NotFound, (await api.SendAsync(HttpMethod.Get, $"/api/projects/{slug}-pr-{number}")).Status);
    }
}
