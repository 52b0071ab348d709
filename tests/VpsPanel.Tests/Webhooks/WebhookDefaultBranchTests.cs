using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Webhooks;

/// <summary>
/// A project that deploys the repository's default branch (branch left empty) learns the branch's name at its first
/// deploy; a push that comes before that is judged by the default branch the push itself names.
/// </summary>
public sealed class WebhookDefaultBranchTests
{
    static byte[] GitHubPush(string branch, string sha, string? defaultBranch)
    {
        var body = new JsonObject
        {
            ["ref"] = $"refs/heads/{branch}", ["before"] = new string('0', 40), ["after"] = sha,
            ["head_commit"] = new JsonObject { ["id"] = sha, ["message"] = "pushed", ["author"] = new JsonObject { ["name"] = "Test Author" } },
        };
        if (defaultBranch is not null) body["repository"] = new JsonObject { ["name"] = "app", ["default_branch"] = defaultBranch };
        return Encoding.UTF8.GetBytes(body.ToJsonString());
    }

    [Fact]
    public async Task Before_the_first_deploy_a_push_to_the_default_branch_the_push_names_deploys_and_others_are_ignored_with_the_reason()
    {
        await using var env = await DeployEnv.StartAsync();
        using var repo = TestRepo.WithBusyboxApp("on trunk", env.Label, branch: "trunk");
        TestRepo.Run(repo.Dir, "--git-dir", repo.Bare, "symbolic-ref", "HEAD", "refs/heads/trunk");
        using var api = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);
        var domain = $"{env.Name()}.test";
        await env.CreateProjectAsync(DeployEnv.ProjectFields(env.Name(), repo.Bare, domain, branch: ""));
        var project = await api.GetAsync($"/api/projects/{env.Name()}");
        Assert.Equal("", (string)project["branch"]!);
        var (url, secret) = ($"/webhooks/{env.Name()}", (string)project["webhookSecret"]!);
        var sha = TestRepo.Run(repo.Work, "rev-parse", "HEAD").Trim();

        async Task<(HttpStatusCode Status, JsonNode Body)> Push(byte[] body)
        {
            var (status, answer) = await WebhookEndpointTests.PostAsync(api.Http, url, body, WebhookEndpointTests.Signed("github", body, secret));
            return (status, answer!);
        }

        // No default branch in the push (as Bitbucket's): nothing to judge it by yet.
        var unnamed = await Push(GitHubPush("trunk", sha, null));
        Assert.Equal(HttpStatusCode.OK, unnamed.Status);
        Assert.Equal("ignored", (string)unnamed.Body["outcome"]!);
        Assert.Equal("the project deploys the repository's default branch, which is not known before its first deploy and this push does not name it; deploy once from the panel",
            (string)unnamed.Body["reason"]!);
        // Another branch than the default the push names.
        var other = await Push(GitHubPush("feature", sha, "trunk"));
        Assert.Equal("ignored", (string)other.Body["outcome"]!);
        Assert.Equal("branch feature is not trunk", (string)other.Body["reason"]!);
        Assert.Empty(await api.DeploymentsAsync(env.Name()));

        // The default branch: deployed, and the deploy finds the same branch itself.
        var pushed = await Push(GitHubPush("trunk", sha, "trunk"));
        Assert.Equal(HttpStatusCode.Accepted, pushed.Status);
        Assert.Equal($"push to trunk at {sha[..7]} queued deployment #{pushed.Body["deploymentId"]}", (string)pushed.Body["reason"]!);
        var done = await api.WaitForEndAsync((long)pushed.Body["deploymentId"]!);
        Assert.True((string)done["status"]! == "live", $"{done}");
        Assert.Equal(sha, (string)done["commitSha"]!);
        Assert.Equal("on trunk", await env.ServedAsync(domain));
        Assert.Contains("branch: trunk, the repository's default branch", await env.LogAsync((long)done["id"]!));
    }
}
