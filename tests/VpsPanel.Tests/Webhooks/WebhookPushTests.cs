using System.Text.Json.Nodes;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;
using Xunit.Abstractions;

namespace VpsPanel.Tests.Webhooks;

/// <summary>
/// A real `git push` to a local bare repository whose post-receive hook calls the webhook as a self-hosted Gitea
/// does (its headers, its HMAC computed by openssl over the exact body, sent by curl): the pushed version goes live
/// through the real pipeline and Caddy, with no one pressing Deploy.
/// </summary>
public sealed class WebhookPushTests(ITestOutputHelper output)
{
    /// <summary>The hook: one Gitea-style push delivery per updated ref; each answer's status code goes to a file.</summary>
    static void InstallGiteaHook(TestRepo repo, string url, string secret, string answers)
    {
        var hook = Path.Combine(repo.Bare, "hooks", "post-receive");
        File.WriteAllText(hook, """
            #!/bin/sh
            # What a self-hosted Gitea does after a push: a signed JSON delivery to the webhook URL.
            while read old new ref; do
              body=$(printf '{"ref":"%s","before":"%s","after":"%s","head_commit":{"id":"%s","message":"pushed","author":{"name":"Test Author"}}}' "$ref" "$old" "$new" "$new")
              sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac '__SECRET__' -r | cut -d' ' -f1)
              curl -sS -o /dev/null -w '%{http_code}\n' -X POST -H 'Content-Type: application/json' -H 'X-Gitea-Event: push' \
                -H "X-Gitea-Delivery: $(cat /proc/sys/kernel/random/uuid)" -H "X-Gitea-Signature: $sig" \
                --data-binary "$body" '__URL__' >> '__ANSWERS__'
            done
            """.Replace("__SECRET__", secret).Replace("__URL__", url).Replace("__ANSWERS__", answers));
        File.SetUnixFileMode(hook, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    [Fact]
    public async Task A_git_push_with_a_Gitea_style_hook_goes_live_and_pushes_in_a_row_coalesce()
    {
        await using var env = await DeployEnv.StartAsync();
        using var repo = TestRepo.WithBusyboxApp("v1", env.Label);
        using var api = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);
        var (_, slug, domain, url, secret) = await WebhookOrderTests.WebhookProjectAsync(env, repo, api);
        var answers = Path.Combine(repo.Dir, "answers.txt");
        InstallGiteaHook(repo, url, secret, answers);

        // One push: nobody presses Deploy, yet v2 goes live.
        var v2 = repo.CommitApp("v2", env.Label, "v2");
        Assert.Equal("202", File.ReadAllText(answers).Trim());
        var first = Assert.Single(await api.DeploymentsAsync(slug))!;
        Assert.Equal("webhook", (string)first["trigger"]!);
        Assert.Equal(v2, (string)first["requestedCommit"]!);
        var done = await api.WaitForEndAsync((long)first["id"]!);
        Assert.True((string)done["status"]! == "live", $"{done}");
        Assert.Equal(v2, (string)done["commitSha"]!);
        Assert.Equal("v2", await env.ServedAsync(domain));

        // Three pushes in a row while the first of them builds: the middle one is superseded, the last goes live. v3's
        // build sleeps (its RUN names this test, so BuildKit cannot answer it from cache): without that a cached build
        // could go live before v4 was even pushed, and nothing would be superseded.
        var slowStep = $"RUN [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox sleep 8 # {env.Label}\"]\n";
        var shas = new[] { repo.CommitApp("v3", env.Label, "v3", slowStep), repo.CommitApp("v4", env.Label, "v4"), repo.CommitApp("v5", env.Label, "v5") };
        Assert.Equal(["202", "202", "202", "202"], File.ReadAllLines(answers));
        var rows = (await api.DeploymentsAsync(slug)).Take(3).Reverse().ToList();
        Assert.Equal(shas, rows.Select(r => (string)r!["requestedCommit"]!));
        var ends = new List<JsonNode>();
        foreach (var r in rows) ends.Add(await api.WaitForEndAsync((long)r!["id"]!));
        output.WriteLine(string.Join(", ", ends.Select(e => $"#{e["id"]} {e["requestedCommit"]!.ToString()[..7]} {e["status"]}")));
        Assert.Equal("superseded", (string)ends[1]["status"]!);
        Assert.Equal("live", (string)(await api.GetAsync($"/api/deployments/{ends[2]["id"]}"))["status"]!);
        Assert.Equal("v5", await env.ServedAsync(domain));

        // v4 was not built: by the time it could run, the newer v5 was queued (the delivery log says so).
        var log = await api.DeliveriesAsync(slug);
        var v4 = log.Single(d => (string?)d!["commitSha"] == shas[1])!;
        Assert.Equal("skipped", (string)v4["outcome"]!);
        Assert.Contains($"is older than {shas[2][..7]}", (string)v4["reason"]!);
        Assert.All(log, d => Assert.Contains((string)d!["outcome"]!, new[] { "queued", "skipped" }));
        Assert.All(log, d => Assert.Equal("Gitea", (string)d!["provider"]!));
    }
}
