using System.Text.Json.Nodes;
using Dapper;
using VpsPanel.Features.Data;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Notifications;

/// <summary>The outbound queue: retries with back-off logged per attempt, and messages queued across a panel restart.</summary>
public sealed class DeliveryTests
{
    static JsonObject Webhook(string name, string url) => new()
    {
        ["type"] = "webhook", ["name"] = name, ["settings"] = new JsonObject { ["url"] = url, ["secret"] = "a-secret-of-sixteen-plus" },
        ["events"] = new JsonArray("deployment.failed"), ["projects"] = null, ["allowPrivateNetwork"] = true,
    };

    [Fact]
    public async Task Receiver_answering_500_three_times_gets_the_message_once_and_the_log_shows_the_retries_then_a_restart_delivers_what_was_queued()
    {
        var settings = new Dictionary<string, string> { ["Notifications__RetrySeconds"] = "1" };
        var panel = await PanelProcess.StartAsync(settings);
        var dataDir = panel.DataDir;
        try
        {
            (await PanelSetup.SignedInAdminAsync(panel)).Dispose();
            using var api = await NotifyKit.AdminApiAsync(panel);
            using (var flaky = new Receiver(null, 500, 500, 500))
            {
                var channel = await NotifyKit.CreateAsync(api, Webhook("flaky", flaky.Url + "/hook"));
                await NotifyKit.TestAsync(api, channel);
                var got = await flaky.WaitForAsync("/hook", 4, TimeSpan.FromSeconds(90));
                // Every attempt is the same delivery (same id), and only the fourth was taken.
                Assert.Single(got.Select(g => g.Headers["X-VpsPanel-Delivery"]).Distinct());
                await Task.Delay(3000);
                Assert.Equal(4, flaky.At("/hook").Count);
                var log = await NotifyKit.DeliveriesAsync(api, channel);
                Assert.Equal(4, log.Count);
                var oldestFirst = log.Reverse().ToList();
                Assert.Equal([1, 2, 3, 4], oldestFirst.Select(d => (int)d!["attempt"]!));
                Assert.All(oldestFirst.Take(3), d => { Assert.False((bool)d!["ok"]!); Assert.StartsWith("HTTP 500", (string)d["detail"]!); });
                Assert.True((bool)oldestFirst[3]!["ok"]!);
                Assert.Equal("delivered", (string?)oldestFirst[3]!["status"]);
            }

            // Queued while the receiver is away and the panel stops: delivered after the panel starts again.
            var port = Paths.FreePort();
            var later = await NotifyKit.CreateAsync(api, Webhook("later", $"http://127.0.0.1:{port}/hook"));
            await NotifyKit.TestAsync(api, later);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while ((await NotifyKit.DeliveriesAsync(api, later)).Count == 0 && DateTime.UtcNow < deadline) await Task.Delay(200);
            var failed = await NotifyKit.DeliveriesAsync(api, later);
            Assert.NotEmpty(failed);
            Assert.All(failed, d => Assert.False((bool)d!["ok"]!));
            await panel.StopAsync();
            using (var c = Db.OpenFile(Path.Combine(dataDir, "vpspanel.db")))
                Assert.Equal(1, c.ExecuteScalar<int>("SELECT count(*) FROM notification_messages WHERE channel_id = @later AND status = 'pending'", new { later }));
            using var back = new Receiver(port);
            panel = await PanelProcess.StartAsync(settings, dataDir: dataDir, port: panel.Port);
            var delivered = await back.WaitForAsync("/hook", 1, TimeSpan.FromSeconds(120));
            Assert.Contains("Test message", (string)delivered[0].Json["message"]!);
            using var api2 = await NotifyKit.AdminApiAsync(panel);
            Assert.True((bool)(await NotifyKit.DeliveriesAsync(api2, later))[0]!["ok"]!);
        }
        finally
        {
            await panel.DisposeAsync();
            Paths.DeleteQuietly(dataDir);
        }
    }
}
