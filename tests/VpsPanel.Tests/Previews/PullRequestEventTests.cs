using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using VpsPanel.Features.Previews;
using VpsPanel.Features.Webhooks;
using VpsPanel.Tests.Harness;
using VpsPanel.Tests.Webhooks;

namespace VpsPanel.Tests.Previews;

/// <summary>
/// Pull/merge request deliveries of the four hosts read into one record. GitHub's are its published examples (copied
/// from the team's shared/webhooks/github, as github-pull_request-*.json); the others are built from each host's
/// documented payloads (GitLab's webhook_events page, Gitea's modules/structs hook and pull request types, Bitbucket
/// Cloud's event payloads page). Every delivery goes through what the endpoint uses: provider from the headers, event
/// name, signature as the host signs it, then the parse.
/// </summary>
public sealed class PullRequestEventTests
{
    const string Secret = "preview-webhook-secret";
    const string Base = "https://gitlab.example.com/acme/shop.git";

    static byte[] Payload(string name) => File.ReadAllBytes(Path.Combine(Paths.RepoRoot, "tests", "VpsPanel.Tests", "Previews", "payloads", name));

    /// <summary>The headers each host sends with a delivery of <paramref name="eventName"/>, signed as that host signs.</summary>
    static HeaderDictionary SignedHeaders(Provider p, string eventName, byte[] body, string secret = Secret)
    {
        var h = new HeaderDictionary();
        switch (p)
        {
            case Provider.GitHub:
                h["X-GitHub-Event"] = eventName;
                h["X-GitHub-Delivery"] = Guid.NewGuid().ToString();
                h["X-Hub-Signature-256"] = "sha256=" + WebhookMessageTests.Hmac(body, secret);
                break;
            case Provider.GitLab:
                h["X-Gitlab-Event"] = eventName;
                h["X-Gitlab-Event-UUID"] = Guid.NewGuid().ToString();
                h["X-Gitlab-Token"] = secret; // GitLab sends the secret itself
                break;
            case Provider.Gitea:
                h["X-Gitea-Event"] = eventName;
                h["X-Gitea-Event-Type"] = eventName;
                h["X-Gitea-Delivery"] = Guid.NewGuid().ToString();
                h["X-Gitea-Signature"] = WebhookMessageTests.Hmac(body, secret);
                break;
            case Provider.Forgejo:
                // Forgejo sends its own headers and Gitea's, both signed.
                h["X-Forgejo-Event"] = eventName;
                h["X-Gitea-Event"] = eventName;
                h["X-Forgejo-Delivery"] = Guid.NewGuid().ToString();
                h["X-Forgejo-Signature"] = WebhookMessageTests.Hmac(body, secret);
                h["X-Gitea-Signature"] = WebhookMessageTests.Hmac(body, secret);
                break;
            case Provider.Bitbucket:
                h["X-Event-Key"] = eventName;
                h["X-Request-UUID"] = Guid.NewGuid().ToString();
                h["X-Hook-UUID"] = "{3b1fc6e4-7f2a-4d8e-9c5b-1a2b3c4d5e6f}";
                h["X-Hub-Signature"] = "sha256=" + WebhookMessageTests.Hmac(body, secret);
                break;
        }
        return h;
    }

    /// <summary>A delivery as the endpoint reads it: provider, signature (must be right), event name, parse.</summary>
    static PullRequestParse Deliver(Provider p, string eventName, byte[] body)
    {
        var h = SignedHeaders(p, eventName, body);
        Assert.Equal(p, WebhookMessage.DetectProvider(h));
        Assert.Null(WebhookMessage.SignatureProblem(p, h, body, Secret));
        return PullRequestEvent.Parse(p, WebhookMessage.EventName(p, h), body);
    }

    static PullRequestEvent Event(Provider p, string eventName, string file)
    {
        var r = Deliver(p, eventName, Payload(file));
        Assert.True(r.Kind == PullRequestParseKind.Event, $"{file}: {r.Kind}: {r.Reason}");
        Assert.Null(r.Reason);
        return r.Event!;
    }

    static (PullRequestParseKind Kind, string? Reason) Skipped(Provider p, string eventName, byte[] body)
    {
        var r = PullRequestEvent.Parse(p, eventName, body);
        Assert.Null(r.Event);
        Assert.NotNull(r.Reason);
        return (r.Kind, r.Reason);
    }

    static byte[] Edit(string file, Action<JsonObject> change)
    {
        var o = JsonNode.Parse(Payload(file))!.AsObject();
        change(o);
        return Encoding.UTF8.GetBytes(o.ToJsonString());
    }

    [Theory]
    [InlineData("opened", PullRequestEvent.Opened)]
    [InlineData("synchronize", PullRequestEvent.Updated)]
    [InlineData("closed", PullRequestEvent.Closed)]
    [InlineData("reopened", PullRequestEvent.Reopened)]
    public void GitHubs_published_payloads(string file, string action)
    {
        var ev = Event(Provider.GitHub, "pull_request", $"github-pull_request-{file}.json");
        Assert.Equal(new PullRequestEvent(action, 2, "Update the README with new information.", "Codertocat",
            "ec26c3e57ca3a959ca5aad62de7213c562f8c821", "changes", "https://github.com/Codertocat/Hello-World.git",
            "master", "https://github.com/Codertocat/Hello-World.git", false, "https://github.com/Codertocat/Hello-World/pull/2"), ev);
    }

    [Fact]
    public void GitHub_fork_by_head_repository_and_by_a_deleted_head_repository()
    {
        var fork = PullRequestEvent.Parse(Provider.GitHub, "pull_request", Edit("github-pull_request-opened.json", o =>
        {
            var repo = o["pull_request"]!["head"]!["repo"]!;
            repo["full_name"] = "mallory/Hello-World";
            repo["clone_url"] = "https://github.com/mallory/Hello-World.git";
        })).Event!;
        Assert.True(fork.FromFork);
        Assert.Equal("https://github.com/mallory/Hello-World.git", fork.HeadCloneUrl);
        Assert.Equal("https://github.com/Codertocat/Hello-World.git", fork.BaseCloneUrl);

        // A request whose fork was deleted: GitHub sends head.repo null. Still a fork; no clone URL to give.
        var orphan = PullRequestEvent.Parse(Provider.GitHub, "pull_request", Edit("github-pull_request-closed.json",
            o => o["pull_request"]!["head"]!["repo"] = null)).Event!;
        Assert.True(orphan.FromFork);
        Assert.Equal("", orphan.HeadCloneUrl);
        Assert.Equal(PullRequestEvent.Closed, orphan.Action);

        // Same repository spelled in another case is the same repository (GitHub names are case-insensitive).
        var same = PullRequestEvent.Parse(Provider.GitHub, "pull_request", Edit("github-pull_request-opened.json",
            o => o["pull_request"]!["head"]!["repo"]!["full_name"] = "codertocat/hello-world")).Event!;
        Assert.False(same.FromFork);
    }

    [Theory]
    [InlineData("labeled")]
    [InlineData("edited")]
    [InlineData("assigned")]
    [InlineData("review_requested")]
    [InlineData("ready_for_review")]
    public void GitHub_actions_that_deploy_nothing_are_ignored_by_name(string action)
    {
        var (kind, why) = Skipped(Provider.GitHub, "pull_request", Edit("github-pull_request-opened.json", o => o["action"] = action));
        Assert.Equal(PullRequestParseKind.Ignored, kind);
        Assert.Equal($"pull request action \"{action}\" changes nothing to deploy", why);
    }

    [Fact]
    public void Events_that_are_not_pull_requests_say_so()
    {
        var body = Payload("github-pull_request-opened.json");
        Assert.Equal((PullRequestParseKind.NotAPullRequest, "event push is not a pull request event"), Skipped(Provider.GitHub, "push", body));
        Assert.Equal((PullRequestParseKind.NotAPullRequest, "event pull_request_review is not a pull request event"), Skipped(Provider.GitHub, "pull_request_review", body));
        Assert.Equal((PullRequestParseKind.NotAPullRequest, "event Push Hook is not a merge request event"), Skipped(Provider.GitLab, "Push Hook", body));
        Assert.Equal((PullRequestParseKind.NotAPullRequest, "event push is not a pull request event"), Skipped(Provider.Gitea, "push", body));
        Assert.Equal((PullRequestParseKind.NotAPullRequest, "event repo:push is not a pull request (pullrequest:…) event"), Skipped(Provider.Bitbucket, "repo:push", body));
        Assert.Equal((PullRequestParseKind.NotAPullRequest, "event (none) is not a pull request event"), Skipped(Provider.Forgejo, "", body));
    }

    [Fact]
    public void GitLab_open_close_merge_reopen()
    {
        var open = Event(Provider.GitLab, "Merge Request Hook", "gitlab-mr-open.json");
        Assert.Equal(new PullRequestEvent(PullRequestEvent.Opened, 7, "Faster checkout", "alice", "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
            "feature/checkout", Base, "main", Base, false, "https://gitlab.example.com/acme/shop/-/merge_requests/7"), open);
        Assert.Equal(open with { Action = PullRequestEvent.Closed }, Event(Provider.GitLab, "Merge Request Hook", "gitlab-mr-close.json"));
        Assert.Equal(open with { Action = PullRequestEvent.Closed, Author = "bea" }, Event(Provider.GitLab, "Merge Request Hook", "gitlab-mr-merge.json"));
        Assert.Equal(open with { Action = PullRequestEvent.Reopened }, Event(Provider.GitLab, "Merge Request Hook", "gitlab-mr-reopen.json"));
    }

    [Fact]
    public void GitLab_update_is_new_commits_only_with_oldrev()
    {
        var push = Event(Provider.GitLab, "Merge Request Hook", "gitlab-mr-update-push.json");
        Assert.Equal(PullRequestEvent.Updated, push.Action);
        Assert.Equal("b83d6e391c22777fca1ed3012fce84f633d7fed0", push.HeadSha);

        var labels = Deliver(Provider.GitLab, "Merge Request Hook", Payload("gitlab-mr-update-labels.json"));
        Assert.Equal(PullRequestParseKind.Ignored, labels.Kind);
        Assert.Equal("the merge request was updated without new commits (no object_attributes.oldrev)", labels.Reason);

        var approved = Deliver(Provider.GitLab, "Merge Request Hook", Payload("gitlab-mr-approved.json"));
        Assert.Equal((PullRequestParseKind.Ignored, "merge request action \"approved\" changes nothing to deploy"), (approved.Kind, approved.Reason));
    }

    [Fact]
    public void GitLab_fork_is_a_source_project_other_than_the_target()
    {
        var fork = Event(Provider.GitLab, "Merge Request Hook", "gitlab-mr-open-fork.json");
        Assert.True(fork.FromFork);
        Assert.Equal("https://gitlab.example.com/mallory/shop.git", fork.HeadCloneUrl);
        Assert.Equal(Base, fork.BaseCloneUrl);
        Assert.Equal("mallory", fork.Author);
        Assert.False(Event(Provider.GitLab, "Merge Request Hook", "gitlab-mr-open.json").FromFork);
    }

    [Fact]
    public void Gitea_opened_synchronized_closed_reopened_and_label_changes_ignored()
    {
        const string clone = "https://gitea.example.com/acme/shop.git";
        var opened = Event(Provider.Gitea, "pull_request", "gitea-pr-opened.json");
        Assert.Equal(new PullRequestEvent(PullRequestEvent.Opened, 5, "Faster checkout", "alice", "8a5c3b2e1f0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b",
            "feature/checkout", clone, "main", clone, false, "https://gitea.example.com/acme/shop/pulls/5"), opened);
        Assert.Equal(opened with { Action = PullRequestEvent.Updated, HeadSha = "3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e" },
            Event(Provider.Gitea, "pull_request", "gitea-pr-synchronized.json"));
        Assert.Equal(opened with { Action = PullRequestEvent.Closed }, Event(Provider.Gitea, "pull_request", "gitea-pr-closed-merged.json"));
        Assert.Equal(opened with { Action = PullRequestEvent.Reopened }, Event(Provider.Gitea, "pull_request", "gitea-pr-reopened.json"));

        var label = Deliver(Provider.Gitea, "pull_request", Payload("gitea-pr-label_updated.json"));
        Assert.Equal((PullRequestParseKind.Ignored, "pull request action \"label_updated\" changes nothing to deploy"), (label.Kind, label.Reason));
        // GitHub's word for new commits is not Gitea's.
        var githubWord = PullRequestEvent.Parse(Provider.Gitea, "pull_request", Edit("gitea-pr-synchronized.json", o => o["action"] = "synchronize"));
        Assert.Equal(PullRequestParseKind.Ignored, githubWord.Kind);
    }

    [Fact]
    public void Gitea_and_Forgejo_forks_by_head_and_base_repository()
    {
        var giteaFork = Event(Provider.Gitea, "pull_request", "gitea-pr-opened-fork.json");
        Assert.True(giteaFork.FromFork);
        Assert.Equal("https://gitea.example.com/mallory/shop.git", giteaFork.HeadCloneUrl);
        Assert.Equal("mallory", giteaFork.Author);

        var forgejoFork = Event(Provider.Forgejo, "pull_request", "forgejo-pr-opened-fork.json");
        Assert.Equal(new PullRequestEvent(PullRequestEvent.Opened, 5, "Faster checkout", "mallory", "8a5c3b2e1f0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b",
            "feature/checkout", "https://forgejo.example.org/mallory/shop.git", "main", "https://forgejo.example.org/acme/shop.git", true,
            "https://forgejo.example.org/acme/shop/pulls/5"), forgejoFork);

        var sync = Event(Provider.Forgejo, "pull_request", "forgejo-pr-synchronized.json");
        Assert.Equal((PullRequestEvent.Updated, false, "3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e"), (sync.Action, sync.FromFork, sync.HeadSha));
        Assert.Equal(PullRequestEvent.Closed, Event(Provider.Forgejo, "pull_request", "forgejo-pr-closed.json").Action);
    }

    [Fact]
    public void Bitbucket_created_updated_fulfilled_rejected()
    {
        const string clone = "https://bitbucket.org/acme/shop.git";
        var created = Event(Provider.Bitbucket, "pullrequest:created", "bitbucket-pullrequest-created.json");
        // Bitbucket Cloud sends the commit abbreviated to 12 hex digits; it is passed on as sent.
        Assert.Equal(new PullRequestEvent(PullRequestEvent.Opened, 12, "Faster checkout", "alice", "9fceb02d0ae5", "feature/checkout",
            clone, "main", clone, false, "https://bitbucket.org/acme/shop/pull-requests/12"), created);
        Assert.Equal(created with { Action = PullRequestEvent.Updated, HeadSha = "4c7e9a1b3d5f" },
            Event(Provider.Bitbucket, "pullrequest:updated", "bitbucket-pullrequest-updated.json"));
        Assert.Equal(created with { Action = PullRequestEvent.Closed }, Event(Provider.Bitbucket, "pullrequest:fulfilled", "bitbucket-pullrequest-fulfilled.json"));
        Assert.Equal(created with { Action = PullRequestEvent.Closed }, Event(Provider.Bitbucket, "pullrequest:rejected", "bitbucket-pullrequest-rejected.json"));

        var approved = Deliver(Provider.Bitbucket, "pullrequest:approved", Payload("bitbucket-pullrequest-approved.json"));
        Assert.Equal((PullRequestParseKind.Ignored, "pull request (pullrequest:…) action \"approved\" changes nothing to deploy"), (approved.Kind, approved.Reason));
        Assert.Equal(PullRequestParseKind.Ignored, PullRequestEvent.Parse(Provider.Bitbucket, "pullrequest:comment_created", Payload("bitbucket-pullrequest-created.json")).Kind);
    }

    [Fact]
    public void Bitbucket_fork_is_a_source_repository_other_than_the_destination()
    {
        var fork = Event(Provider.Bitbucket, "pullrequest:created", "bitbucket-pullrequest-created-fork.json");
        Assert.True(fork.FromFork);
        Assert.Equal("https://bitbucket.org/mallory/shop.git", fork.HeadCloneUrl);
        Assert.Equal("https://bitbucket.org/acme/shop.git", fork.BaseCloneUrl);
        Assert.Equal("mallory", fork.Author);
        Assert.False(Event(Provider.Bitbucket, "pullrequest:created", "bitbucket-pullrequest-created.json").FromFork);
    }

    public static TheoryData<Provider, string, string, string, string> MissingFields => new()
    {
        { Provider.GitHub, "pull_request", "github-pull_request-opened.json", "pull_request.head.sha", "missing pull_request.head.sha" },
        { Provider.GitHub, "pull_request", "github-pull_request-synchronize.json", "pull_request.number", "missing pull_request.number" },
        { Provider.GitHub, "pull_request", "github-pull_request-opened.json", "pull_request.head", "missing pull_request.head" },
        { Provider.GitHub, "pull_request", "github-pull_request-opened.json", "action", "missing action" },
        { Provider.GitLab, "Merge Request Hook", "gitlab-mr-open.json", "object_attributes.last_commit", "missing object_attributes.last_commit.id" },
        { Provider.GitLab, "Merge Request Hook", "gitlab-mr-open.json", "object_attributes.iid", "missing object_attributes.iid" },
        { Provider.GitLab, "Merge Request Hook", "gitlab-mr-open.json", "object_attributes.source_branch", "missing object_attributes.source_branch" },
        { Provider.Gitea, "pull_request", "gitea-pr-opened.json", "pull_request.head.sha", "missing pull_request.head.sha" },
        { Provider.Forgejo, "pull_request", "forgejo-pr-synchronized.json", "pull_request.number", "missing pull_request.number" },
        { Provider.Bitbucket, "pullrequest:created", "bitbucket-pullrequest-created.json", "pullrequest.source.commit", "missing pullrequest.source.commit.hash" },
        { Provider.Bitbucket, "pullrequest:updated", "bitbucket-pullrequest-updated.json", "pullrequest.id", "missing pullrequest.id" },
        { Provider.Bitbucket, "pullrequest:created", "bitbucket-pullrequest-created.json", "pullrequest.destination.branch", "missing pullrequest.destination.branch.name" },
    };

    [Theory]
    [MemberData(nameof(MissingFields))]
    public void A_payload_without_a_needed_field_is_malformed_and_names_it(Provider p, string eventName, string file, string remove, string reason)
    {
        var body = Edit(file, o =>
        {
            var path = remove.Split('.');
            var parent = path[..^1].Aggregate((JsonNode)o, (n, name) => n[name]!).AsObject();
            Assert.True(parent.Remove(path[^1]), $"{file} has no {remove} to remove");
            // GitHub and Gitea/Forgejo also send the number at the top level; gone too, or it would stand in.
            if (remove == "pull_request.number") o.Remove("number");
        });
        Assert.Equal((PullRequestParseKind.Malformed, reason), Skipped(p, eventName, body));
    }

    [Theory]
    [InlineData("{not json", "the body is not JSON: ")]
    [InlineData("[1,2]", "the body is not a JSON object")]
    [InlineData("null", "the body is not a JSON object")]
    [InlineData("{\"action\":\"opened\",\"number\":3}", "missing pull_request")]
    [InlineData("{\"action\":7}", "missing action (not a string)")]
    [InlineData("{\"action\":\"opened\",\"pull_request\":{\"number\":\"3\"}}", "missing pull_request.number (not a whole number)")]
    public void Bodies_that_are_no_pull_request_are_malformed(string body, string reasonStart)
    {
        var (kind, why) = Skipped(Provider.GitHub, "pull_request", Encoding.UTF8.GetBytes(body));
        Assert.Equal(PullRequestParseKind.Malformed, kind);
        Assert.StartsWith(reasonStart, why);
    }

    [Theory]
    [InlineData("--upload-pack=touch /tmp/x", "the head commit \"--upload-pack=touch /tmp/x\" is not a commit id")]
    [InlineData("abc12", "the head commit \"abc12\" is not a commit id")]
    [InlineData("ec26c3e57ca3a959ca5aad62de7213c562f8c82z", "the head commit \"ec26c3e57ca3a959ca5aad62de7213c562f8c82z\" is not a commit id")]
    public void A_head_commit_that_is_no_commit_id_is_malformed(string sha, string reason) =>
        Assert.Equal((PullRequestParseKind.Malformed, reason),
            Skipped(Provider.GitHub, "pull_request", Edit("github-pull_request-opened.json", o => o["pull_request"]!["head"]!["sha"] = sha)));

    [Fact]
    public void A_field_of_the_wrong_kind_is_malformed_not_a_crash()
    {
        var (kind, why) = Skipped(Provider.Bitbucket, "pullrequest:created",
            Edit("bitbucket-pullrequest-created.json", o => o["pullrequest"]!["links"] = new JsonArray(1, 2)));
        Assert.Equal(PullRequestParseKind.Malformed, kind);
        Assert.StartsWith("a field has the wrong type: ", why);
        Assert.Equal((PullRequestParseKind.Malformed, "missing pull_request.head.sha (not a string)"),
            Skipped(Provider.Gitea, "pull_request", Edit("gitea-pr-opened.json", o => o["pull_request"]!["head"]!["sha"] = 12345678)));
    }

    [Fact]
    public void A_zero_or_negative_number_is_malformed() =>
        Assert.Equal((PullRequestParseKind.Malformed, "the request number 0 is not positive"),
            Skipped(Provider.GitLab, "Merge Request Hook", Edit("gitlab-mr-open.json", o => o["object_attributes"]!["iid"] = 0)));

    [Theory]
    [InlineData(Provider.GitHub, "pull_request", "github-pull_request-opened.json")]
    [InlineData(Provider.GitLab, "Merge Request Hook", "gitlab-mr-open.json")]
    [InlineData(Provider.Gitea, "pull_request", "gitea-pr-opened.json")]
    [InlineData(Provider.Forgejo, "pull_request", "forgejo-pr-opened-fork.json")]
    [InlineData(Provider.Bitbucket, "pullrequest:created", "bitbucket-pullrequest-created.json")]
    public void Each_hosts_signature_fails_on_a_changed_body_or_another_secret(Provider p, string eventName, string file)
    {
        var body = Payload(file);
        var headers = SignedHeaders(p, eventName, body);
        Assert.Null(WebhookMessage.SignatureProblem(p, headers, body, Secret));
        var wrongSecret = SignedHeaders(p, eventName, body, "someone-else");
        Assert.NotNull(WebhookMessage.SignatureProblem(p, wrongSecret, body, Secret));
        var tampered = Edit(file, o => o["tampered"] = true);
        if (p == Provider.GitLab)
            // GitLab signs nothing: its token proves the sender, not the body.
            Assert.Null(WebhookMessage.SignatureProblem(p, headers, tampered, Secret));
        else
            Assert.Equal("signature mismatch", WebhookMessage.SignatureProblem(p, headers, tampered, Secret));
    }

    [Fact]
    public void Preview_host_is_pr_number_slug_base_and_says_when_it_cannot_be_a_host_name()
    {
        Assert.Equal("pr-42.shop.preview.example.com", PullRequestEvent.PreviewHost(42, "shop", "preview.example.com"));
        Assert.Null(PullRequestEvent.PreviewHostProblem(42, "shop", "preview.example.com"));
        var slug63 = new string('a', 63);
        Assert.Null(PullRequestEvent.PreviewHostProblem(7, slug63, "example.com"));

        var slug64 = new string('a', 64);
        var problem = PullRequestEvent.PreviewHostProblem(7, slug64, "example.com");
        Assert.NotNull(problem);
        // The long names are cut to one readable line in the message; the cause is said in full.
        Assert.StartsWith("the preview domain pr-7.aaaa", problem);
        Assert.EndsWith("has 64 characters and a DNS label holds at most 63", problem);

        Assert.Equal("previews need a wildcard base domain; set one in Settings", PullRequestEvent.PreviewHostProblem(7, "shop", ""));
        Assert.Equal("the request number 0 is not positive", PullRequestEvent.PreviewHostProblem(0, "shop", "example.com"));
        Assert.Contains("at most 253 are allowed", PullRequestEvent.PreviewHostProblem(7, "shop", string.Join('.', Enumerable.Repeat(new string('b', 60), 5)) + ".com"));
        Assert.Equal("the preview domain is not a valid host name: \"pr-7.shop.exa_mple.com\" contains characters that are not allowed in a domain.",
            PullRequestEvent.PreviewHostProblem(7, "shop", "exa_mple.com"));
        Assert.Equal("the preview domain pr-7.Shop.example.com is not in canonical form (expected pr-7.shop.example.com); slugs and base domains are lower-case ASCII",
            PullRequestEvent.PreviewHostProblem(7, "Shop", "example.com"));
        Assert.Contains("has a label longer than 63 characters", PullRequestEvent.PreviewHostProblem(7, "shop", new string('c', 64) + ".com"));
    }
}
