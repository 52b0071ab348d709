using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Notifications;

/// <summary>
/// Real deploys that fail (a Dockerfile whose COPY has nothing to copy) against real receivers on loopback: one
/// message per subscribed channel in each service's documented shape, and ten failures within the flood window
/// collapsed into the first message plus one follow-up carrying the count.
/// </summary>
public sealed class DeployNotificationTests
{
    const string Secret = "webhook-secret-for-the-hmac-check";
    const string TelegramToken = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";

    [Fact]
    public async Task A_failing_deploy_sends_one_message_per_subscribed_channel_and_ten_failures_collapse()
    {
        using var rx = new Receiver();
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string>
        {
            ["Notifications__RetrySeconds"] = "1",
            ["Notifications__CollapseSeconds"] = "180",
            ["Notifications__TelegramApiUrl"] = rx.Url,
        });
        using var api = await NotifyKit.AdminApiAsync(env.Panel);
        using var repo = TestRepo.WithBusyboxApp("v1", env.Label);
        repo.CommitDockerfile($"FROM scratch\nLABEL {TestDocker.TestLabel}={env.Label}\nCOPY no-such-file-{env.Label} /x\n", "broken build");
        var project = await env.CreateProjectAsync(repo, $"{env.Name()}.test");
        var slug = env.Name();

        JsonObject Channel(string type, string name, JsonObject settings, JsonArray? projects = null) => new()
        {
            ["type"] = type, ["name"] = name, ["settings"] = settings, ["events"] = new JsonArray("deployment.failed"),
            ["projects"] = projects, ["allowPrivateNetwork"] = true,
        };
        var webhook = await NotifyKit.CreateAsync(api, Channel("webhook", "hook", new JsonObject { ["url"] = rx.Url + "/hook", ["secret"] = Secret }));
        await NotifyKit.CreateAsync(api, Channel("slack", "slack", new JsonObject { ["url"] = rx.Url + "/slack/T000/B000/XXXX" }));
        await NotifyKit.CreateAsync(api, Channel("discord", "discord", new JsonObject { ["url"] = rx.Url + "/discord/api/webhooks/1/abc" }));
        await NotifyKit.CreateAsync(api, Channel("telegram", "telegram", new JsonObject { ["token"] = TelegramToken, ["chatId"] = "-100123" }));
        await NotifyKit.CreateAsync(api, Channel("ntfy", "ntfy", new JsonObject { ["server"] = rx.Url + "/ntfy", ["topic"] = "deploys", ["token"] = "tk_ntfytoken" }));
        // Subscribed to no project: a project's events never reach it.
        await NotifyKit.CreateAsync(api, Channel("webhook", "none", new JsonObject { ["url"] = rx.Url + "/none", ["secret"] = Secret }, new JsonArray()));
        // Secrets never come back.
        var listed = await api.GetStringAsync("/api/notification-channels");
        Assert.DoesNotContain(Secret, listed);
        Assert.DoesNotContain(TelegramToken, listed);
        Assert.DoesNotContain("XXXX", listed);
        Assert.Contains("********", listed);

        var first = await env.DeployAsync(project);
        Assert.Equal("failed", await env.WaitForEndAsync(first));
        var hook = (await rx.WaitForAsync("/hook", 1, TimeSpan.FromSeconds(60))).Single();
        var slack = (await rx.WaitForAsync("/slack/", 1, TimeSpan.FromSeconds(60))).Single();
        var discord = (await rx.WaitForAsync("/discord/", 1, TimeSpan.FromSeconds(60))).Single();
        var telegram = (await rx.WaitForAsync($"/bot{TelegramToken}/sendMessage", 1, TimeSpan.FromSeconds(60))).Single();
        var ntfy = (await rx.WaitForAsync("/ntfy", 1, TimeSpan.FromSeconds(60))).Single();

        // The generic webhook: the documented body, signed like GitHub's (HMAC-SHA256 of the raw body).
        var body = hook.Json.AsObject();
        Assert.Equal(["at", "deployment", "event", "message", "project", "url"], body.Select(kv => kv.Key).Order(StringComparer.Ordinal).ToArray());
        Assert.Equal("deployment.failed", (string?)body["event"]);
        Assert.Equal(slug, (string?)body["project"]);
        Assert.Equal(first, (long)body["deployment"]!);
        Assert.Equal($"{env.Panel.Url}/deployments/{first}", (string?)body["url"]);
        Assert.Contains("failed", (string?)body["message"]);
        Assert.True(DateTime.TryParse((string?)body["at"], out _));
        var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), hook.Raw));
        Assert.Equal(expected, hook.Headers["X-VpsPanel-Signature"]);
        Assert.False(string.IsNullOrEmpty(hook.Headers["X-VpsPanel-Delivery"]));
        Assert.InRange(long.Parse(hook.Headers["X-VpsPanel-Timestamp"]), DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 600, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 5);
        // Slack incoming webhook: {"text"} with mrkdwn and a <url|label> link.
        var slackText = (string)slack.Json["text"]!;
        Assert.Contains($"<{env.Panel.Url}/deployments/{first}|", slackText);
        Assert.Contains(slug, slackText);
        // Discord webhook: content plus an embed with title, description and url; nobody pinged.
        Assert.Contains("Deployment failed", (string)discord.Json["content"]!);
        Assert.Equal($"{env.Panel.Url}/deployments/{first}", (string?)discord.Json["embeds"]![0]!["url"]);
        Assert.Contains("failed", (string)discord.Json["embeds"]![0]!["description"]!);
        Assert.Empty(discord.Json["allowed_mentions"]!["parse"]!.AsArray());
        // Telegram sendMessage: chat_id and text.
        Assert.Equal("-100123", (string?)telegram.Json["chat_id"]);
        Assert.Contains($"/deployments/{first}", (string)telegram.Json["text"]!);
        // ntfy JSON publish: topic, title, message, click; the token as a bearer.
        Assert.Equal("deploys", (string?)ntfy.Json["topic"]);
        Assert.Equal($"{env.Panel.Url}/deployments/{first}", (string?)ntfy.Json["click"]);
        Assert.Contains(slug, (string)ntfy.Json["title"]!);
        Assert.Equal("Bearer tk_ntfytoken", ntfy.Headers["Authorization"]);
        Assert.Empty(rx.At("/none"));

        // Nine more failures within the window: nothing more now, then one follow-up with the count at the window's end.
        for (var i = 0; i < 9; i++) Assert.Equal("failed", await env.WaitForEndAsync(await env.DeployAsync(project)));
        Assert.Single(rx.At("/hook"));
        var hooks = await rx.WaitForAsync("/hook", 2, TimeSpan.FromSeconds(300));
        Assert.Contains("9 more times", (string)hooks[1].Json["message"]!);
        await rx.WaitForAsync("/slack/", 2, TimeSpan.FromSeconds(30));
        await Task.Delay(3000);
        foreach (var path in new[] { "/hook", "/slack/", "/discord/", $"/bot{TelegramToken}/sendMessage", "/ntfy" }) Assert.Equal(2, rx.At(path).Count);
        Assert.Empty(rx.At("/none"));
        var log = await NotifyKit.DeliveriesAsync(api, webhook);
        Assert.Equal(2, log.Count);
        Assert.All(log, d => Assert.True((bool)d!["ok"]!));
    }
}
