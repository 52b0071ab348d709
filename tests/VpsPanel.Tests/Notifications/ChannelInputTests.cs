using System.Text.Json.Nodes;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Notifications;

/// <summary>Bad channels: each is refused with a message naming the problem, nothing is saved and nothing is delivered.</summary>
public sealed class ChannelInputTests
{
    [Fact]
    public async Task Loopback_metadata_mapped_names_resolving_to_loopback_bad_smtp_port_and_bad_telegram_token_are_refused()
    {
        using var rx = new Receiver();
        await using var panel = await PanelProcess.StartAsync(new Dictionary<string, string> { ["Notifications__TelegramApiUrl"] = rx.Url });
        (await PanelSetup.SignedInAdminAsync(panel)).Dispose();
        using var api = await NotifyKit.AdminApiAsync(panel);

        JsonObject Hook(string url, bool allowPrivate = false) => new()
        {
            ["type"] = "webhook", ["name"] = "bad", ["settings"] = new JsonObject { ["url"] = url, ["secret"] = "a-secret-of-sixteen-plus" },
            ["events"] = new JsonArray("deployment.failed"), ["allowPrivateNetwork"] = allowPrivate,
        };
        var cases = new (JsonObject Body, string Field, string Says)[]
        {
            (Hook($"{rx.Url}/hook"), "settings.url", "loopback"),
            (Hook("http://169.254.169.254/latest/meta-data/", allowPrivate: true), "settings.url", "metadata"),
            (Hook("http://[::ffff:169.254.169.254]/latest/", allowPrivate: true), "settings.url", "metadata"),
            (Hook($"http://localhost:{rx.Port}/hook"), "settings.url", "resolves to"),
            (Hook("http://10.1.2.3/hook"), "settings.url", "allowPrivateNetwork"),
            (Hook("ftp://example.com/x"), "settings.url", "http"),
            (new JsonObject
            {
                ["type"] = "email", ["name"] = "mail", ["allowPrivateNetwork"] = true,
                ["settings"] = new JsonObject { ["host"] = "127.0.0.1", ["port"] = 70000, ["security"] = "none", ["from"] = "panel@example.com", ["to"] = "ops@example.com" },
            }, "settings.port", "1 to 65535"),
            (new JsonObject
            {
                ["type"] = "telegram", ["name"] = "tg", ["allowPrivateNetwork"] = true,
                ["settings"] = new JsonObject { ["token"] = "not-a-token", ["chatId"] = "12345" },
            }, "settings.token", "Telegram bot token"),
            (new JsonObject { ["type"] = "pager", ["name"] = "p", ["settings"] = new JsonObject() }, "type", "email, slack"),
            (Hook($"{rx.Url}/hook", allowPrivate: true).Also(o => o["events"] = new JsonArray("deployment.exploded")), "events", "no event"),
        };
        foreach (var (body, field, says) in cases)
        {
            using var res = await api.PostAsync("/api/notification-channels", NotifyKit.Json(body));
            var text = await res.Content.ReadAsStringAsync();
            Assert.True((int)res.StatusCode == 422, $"{body.ToJsonString()} answered {(int)res.StatusCode}: {text}");
            var errors = JsonNode.Parse(text)!["errors"]!;
            Assert.True(errors[field] is not null, $"{body.ToJsonString()}: no error on {field}: {text}");
            Assert.Contains(says, (string)errors[field]![0]!);
        }
        Assert.Empty(JsonNode.Parse(await api.GetStringAsync("/api/notification-channels"))!.AsArray());

        Assert.Empty(rx.Got);
    }
}

static class JsonObjectExtensions
{
    public static JsonObject Also(this JsonObject o, Action<JsonObject> change)
    {
        change(o);
        return o;
    }
}
