using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using VpsPanel.Features.Webhooks;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Webhooks;

/// <summary>
/// Real GitHub payloads (copied from the team's shared/webhooks/github into Webhooks/github-payloads, so a clone
/// tests the same wherever it is) and the other providers' documented formats.
/// </summary>
public sealed class WebhookMessageTests
{
    const string Secret = "s3cret-webhook-key";

    public static byte[] GitHubPayload(string name) => File.ReadAllBytes(Path.Combine(Paths.RepoRoot, "tests", "VpsPanel.Tests", "Webhooks", "github-payloads", name));
    public static byte[] Payload(string name) => File.ReadAllBytes(Path.Combine(Paths.RepoRoot, "tests", "VpsPanel.Tests", "Webhooks", "payloads", name));
    public static string Hmac(byte[] body, string secret = Secret) => Convert.ToHexString(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body)).ToLowerInvariant();

    static HeaderDictionary Headers(params (string, string)[] h)
    {
        var d = new HeaderDictionary();
        foreach (var (k, v) in h) d[k] = v;
        return d;
    }

    [Fact]
    public void GitHub_ping_push_with_new_branch_and_tag_deletion()
    {
        var ping = WebhookMessage.Parse(Provider.GitHub, "ping", GitHubPayload("ping-payload.json"));
        Assert.Equal(WebhookEvent.Ping, ping.Kind);

        var push = WebhookMessage.Parse(Provider.GitHub, "push", GitHubPayload("push-with-new-branch.payload.json")).Refs.Single();
        Assert.Equal(new PushedRef(false, "master", "6113728f27ae82c7b1a177c8d03f9e96e0adf246", "Initial commit", "Codertocat", false), push);

        foreach (var file in new[] { "push-payload.json", "push-with-organization.payload.json" })
        {
            var tag = WebhookMessage.Parse(Provider.GitHub, "push", GitHubPayload(file)).Refs.Single();
            Assert.True(tag.IsTag);
            Assert.True(tag.Deleted);
            Assert.Equal("simple-tag", tag.Name);
            Assert.Null(tag.CommitSha);
        }
    }

    [Fact]
    public void GitLab_push_and_branch_deletion()
    {
        var push = WebhookMessage.Parse(Provider.GitLab, "Push Hook", Payload("gitlab-push.json")).Refs.Single();
        Assert.Equal(new PushedRef(false, "main", "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", "fixed readme", "GitLab dev user", false), push);
        var deleted = WebhookMessage.Parse(Provider.GitLab, "Push Hook", Payload("gitlab-branch-delete.json")).Refs.Single();
        Assert.True(deleted.Deleted);
        Assert.Equal("main", deleted.Name);
        Assert.Equal(WebhookEvent.Other, WebhookMessage.Parse(Provider.GitLab, "Merge Request Hook", Payload("gitlab-push.json")).Kind);
    }

    [Fact]
    public void Gitea_and_Forgejo_push_and_Giteas_separate_delete_event()
    {
        var gitea = WebhookMessage.Parse(Provider.Gitea, "push", Payload("gitea-push.json")).Refs.Single();
        Assert.Equal(new PushedRef(false, "main", "bffeb74224043ba2feb48d137756c8a9331c449a", "Webhooks Yay!\n", "Gitea", false), gitea);
        var forgejo = WebhookMessage.Parse(Provider.Forgejo, "push", Payload("forgejo-push.json")).Refs.Single();
        Assert.Equal("2222222222222222222222222222222222222222", forgejo.CommitSha);
        Assert.Equal("Alice", forgejo.CommitAuthor);
        var delete = WebhookMessage.Parse(Provider.Gitea, "delete", Payload("gitea-delete.json"));
        Assert.Equal(WebhookEvent.Other, delete.Kind);
        Assert.Equal("a branch was deleted", delete.IgnoredBecause);
    }

    [Fact]
    public void Bitbucket_push_and_branch_deletion()
    {
        var push = WebhookMessage.Parse(Provider.Bitbucket, "repo:push", Payload("bitbucket-push.json")).Refs.Single();
        Assert.Equal(new PushedRef(false, "main", "4444444444444444444444444444444444444444", "Fix the footer\n", "Bob <bob@example.com>", false), push);
        var deleted = WebhookMessage.Parse(Provider.Bitbucket, "repo:push", Payload("bitbucket-branch-delete.json")).Refs.Single();
        Assert.True(deleted.Deleted);
    }

    [Fact]
    public void Providers_are_told_apart_by_their_headers()
    {
        Assert.Equal(Provider.GitHub, WebhookMessage.DetectProvider(Headers(("X-GitHub-Event", "push"))));
        Assert.Equal(Provider.GitLab, WebhookMessage.DetectProvider(Headers(("X-Gitlab-Event", "Push Hook"))));
        Assert.Equal(Provider.Gitea, WebhookMessage.DetectProvider(Headers(("X-Gitea-Event", "push"))));
        // Forgejo sends Gitea's headers too.
        Assert.Equal(Provider.Forgejo, WebhookMessage.DetectProvider(Headers(("X-Gitea-Event", "push"), ("X-Forgejo-Event", "push"))));
        Assert.Equal(Provider.Bitbucket, WebhookMessage.DetectProvider(Headers(("X-Event-Key", "repo:push"))));
        Assert.Null(WebhookMessage.DetectProvider(Headers(("Content-Type", "application/json"))));
    }

    [Fact]
    public void Signatures_are_checked_per_provider_and_any_change_to_the_body_fails()
    {
        var body = Payload("gitea-push.json");
        var sig = Hmac(body);
        Assert.Null(WebhookMessage.SignatureProblem(Provider.GitHub, Headers(("X-Hub-Signature-256", "sha256=" + sig)), body, Secret));
        Assert.Null(WebhookMessage.SignatureProblem(Provider.Bitbucket, Headers(("X-Hub-Signature", "sha256=" + sig)), body, Secret));
        Assert.Null(WebhookMessage.SignatureProblem(Provider.Gitea, Headers(("X-Gitea-Signature", sig)), body, Secret));
        Assert.Null(WebhookMessage.SignatureProblem(Provider.Forgejo, Headers(("X-Forgejo-Signature", sig)), body, Secret));
        Assert.Null(WebhookMessage.SignatureProblem(Provider.GitLab, Headers(("X-Gitlab-Token", Secret)), body, Secret));

        var tampered = body.Append((byte)' ').ToArray();
        Assert.Equal("signature mismatch", WebhookMessage.SignatureProblem(Provider.GitHub, Headers(("X-Hub-Signature-256", "sha256=" + sig)), tampered, Secret));
        Assert.Equal("signature mismatch", WebhookMessage.SignatureProblem(Provider.Gitea, Headers(("X-Gitea-Signature", Hmac(body, "other"))), body, Secret));
        Assert.Equal("missing X-Hub-Signature-256 header", WebhookMessage.SignatureProblem(Provider.GitHub, Headers(), body, Secret));
        Assert.Equal("X-Hub-Signature-256 is not hex", WebhookMessage.SignatureProblem(Provider.GitHub, Headers(("X-Hub-Signature-256", "sha256=zz")), body, Secret));
        Assert.NotNull(WebhookMessage.SignatureProblem(Provider.GitLab, Headers(("X-Gitlab-Token", "wrong")), body, Secret));
        Assert.NotNull(WebhookMessage.SignatureProblem(Provider.GitLab, Headers(), body, Secret));
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("[1,2]")]
    [InlineData("null")]
    [InlineData("{\"after\":\"abc\"}")]
    public void Malformed_bodies_throw_JsonException(string body) =>
        Assert.ThrowsAny<JsonException>(() => WebhookMessage.Parse(Provider.GitHub, "push", Encoding.UTF8.GetBytes(body)));
}
