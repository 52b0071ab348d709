using System.Text.Json.Nodes;
using Dapper;
using VpsPanel.Features.Data;
using VpsPanel.Features.Notifications;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Notifications;

/// <summary>
/// Project owners subscribing their projects (NotifySubscriptions): a member owner reads and replaces the project's
/// subscriptions through the API, bad input is refused per field with nothing changed, and real deploys (one live, one
/// failed) reach exactly the channels and events the rule says, at a real loopback receiver.
/// </summary>
public sealed class SubscriptionTests
{
    const string Secret = "subscription-test-secret-1234";
    const string MemberEmail = "owner@example.com", OtherEmail = "other@example.com", Password = "member password 1";

    [Fact]
    public void The_rule_all_and_listed_deliver_and_narrow_open_needs_a_subscription_closed_never_deployment_failed_always()
    {
        const long project = 7;
        ProjectChannel Ch(string? projects, bool open = false, bool subscribed = false, string? chosen = null) => new()
        {
            Id = 1, Name = "c", Type = "webhook", Events = "deployment.failed,deployment.succeeded,app.restarted,disk.low", Projects = projects,
            OpenToOwners = open, Subscribed = subscribed, Chosen = chosen,
        };
        string[] taken = ["deployment.failed", "deployment.succeeded", "app.restarted"];
        Assert.Equal(taken, NotifySubscriptions.EventsFor(Ch(null), project));
        Assert.Equal(taken, NotifySubscriptions.EventsFor(Ch("3,7"), project));
        Assert.Equal(["deployment.failed"], NotifySubscriptions.EventsFor(Ch(null, subscribed: true, chosen: ""), project));
        Assert.Equal(["deployment.failed", "app.restarted"], NotifySubscriptions.EventsFor(Ch("7", subscribed: true, chosen: "app.restarted"), project));
        Assert.Empty(NotifySubscriptions.EventsFor(Ch("3", open: false, subscribed: true), project));
        Assert.Empty(NotifySubscriptions.EventsFor(Ch("", open: true, subscribed: false), project));
        Assert.Equal(taken, NotifySubscriptions.EventsFor(Ch("", open: true, subscribed: true), project));
        Assert.Equal(["deployment.failed", "deployment.succeeded"], NotifySubscriptions.EventsFor(Ch("", open: true, subscribed: true, chosen: "deployment.succeeded"), project));
        Assert.Equal(NotifySubscriptions.Closed, NotifySubscriptions.Access(Ch("37,70"), project));
    }

    [Fact]
    public async Task An_owner_subscribes_and_narrows_per_channel_and_deploys_reach_exactly_those_channels_and_events()
    {
        using var rx = new Receiver();
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string> { ["Notifications__RetrySeconds"] = "1" });
        using var admin = await NotifyKit.AdminApiAsync(env.Panel);
        using var repo = TestRepo.WithBusyboxApp("v1", env.Label);
        var project = await env.CreateProjectAsync(repo, $"{env.Name()}.test");
        var slug = env.Name();
        await NotifyKit.AddMemberOwningAsync(env.Client, env.Panel, MemberEmail, Password, project);
        await NotifyKit.AddMemberOwningAsync(env.Client, env.Panel, OtherEmail, Password, null);
        using var owner = await NotifyKit.ApiAsync(env.Panel, MemberEmail);
        using var other = await NotifyKit.ApiAsync(env.Panel, OtherEmail);

        Task<long> Channel(string name, JsonArray? projects, bool open) => NotifyKit.CreateAsync(admin, new JsonObject
        {
            ["type"] = "webhook", ["name"] = name, ["settings"] = new JsonObject { ["url"] = $"{rx.Url}/{name}", ["secret"] = Secret },
            ["events"] = new JsonArray("deployment.failed", "deployment.succeeded"), ["projects"] = projects, ["allowPrivateNetwork"] = true, ["openToOwners"] = open,
        });
        var all = await Channel("all", null, false);
        var listed = await Channel("listed", new JsonArray(slug), false);
        var open = await Channel("open", new JsonArray(), true);
        var closed = await Channel("closed", new JsonArray(), false);
        Assert.Equal(true, (bool?)JsonNode.Parse(await admin.GetStringAsync("/api/notification-channels"))!.AsArray().Single(c => (long)c!["id"]! == open)!["openToOwners"]);

        // The owner sees the channels that reach the project or are open to it, by name and type only.
        var seen = await owner.GetStringAsync($"/api/projects/{slug}/notifications");
        Assert.DoesNotContain(rx.Url, seen);
        Assert.DoesNotContain(Secret, seen);
        var channels = JsonNode.Parse(seen)!["channels"]!.AsArray();
        Assert.Equal(["all", "listed", "open"], channels.Select(c => (string)c!["name"]!).Order().ToArray());
        JsonNode One(JsonArray list, long id) => list.Single(c => (long)c!["id"]! == id)!;
        Assert.Equal("all", (string?)One(channels, all)["access"]);
        Assert.Equal("listed", (string?)One(channels, listed)["access"]);
        Assert.Equal("open", (string?)One(channels, open)["access"]);
        Assert.False((bool)One(channels, open)["subscribed"]!);
        Assert.Empty(One(channels, open)["events"]!.AsArray());
        Assert.Equal("webhook", (string?)One(channels, all)["type"]);
        Assert.Null(One(channels, all)["settings"]);

        // Someone else's project is a 404, as in every project route.
        using (var res = await other.GetAsync($"/api/projects/{slug}/notifications")) Assert.Equal(404, (int)res.StatusCode);
        using (var res = await other.PutAsync($"/api/projects/{slug}/notifications", NotifyKit.Json(new JsonObject { ["subscriptions"] = new JsonArray() })))
            Assert.Equal(404, (int)res.StatusCode);

        // Bad input: a message on the field, nothing changed.
        JsonObject Put(long? channel, params string[] events) => new()
        {
            ["subscriptions"] = new JsonArray(new JsonObject { ["channel"] = channel, ["events"] = new JsonArray(events.Select(e => (JsonNode)e!).ToArray()) }),
        };
        var cases = new (JsonObject Body, string Field, string Says)[]
        {
            (Put(999999), "subscriptions[0].channel", "no channel 999999"),
            (Put(closed), "subscriptions[0].channel", "opens the channel to owners"),
            (Put(open, "deployment.exploded"), "subscriptions[0].events", "no event deployment.exploded"),
            (Put(open, "disk.low"), "subscriptions[0].events", "not about one project"),
            (Put(open, "app.restarted"), "subscriptions[0].events", "does not send app.restarted"),
            (new JsonObject { ["subscriptions"] = new JsonArray(new JsonObject { ["channel"] = open }, new JsonObject { ["channel"] = open }) }, "subscriptions[1].channel", "listed twice"),
        };
        foreach (var (body, field, says) in cases)
        {
            using var res = await owner.PutAsync($"/api/projects/{slug}/notifications", NotifyKit.Json(body));
            var text = await res.Content.ReadAsStringAsync();
            Assert.True((int)res.StatusCode == 422, $"{body.ToJsonString()} answered {(int)res.StatusCode}: {text}");
            var errors = JsonNode.Parse(text)!["errors"]!;
            Assert.True(errors[field] is not null, $"{body.ToJsonString()}: no error on {field}: {text}");
            Assert.Contains(says, (string)errors[field]![0]!);
        }
        Assert.Equal(seen, await owner.GetStringAsync($"/api/projects/{slug}/notifications"));

        // Join the open channel for every event it takes; narrow the listed one to failures; leave "all" as the admin set it.
        var put = new JsonObject
        {
            ["subscriptions"] = new JsonArray(new JsonObject { ["channel"] = open, ["events"] = null }, new JsonObject { ["channel"] = listed, ["events"] = new JsonArray() }),
        };
        using (var res = await owner.PutAsync($"/api/projects/{slug}/notifications", NotifyKit.Json(put)))
        {
            var text = await res.Content.ReadAsStringAsync();
            Assert.True((int)res.StatusCode == 200, text);
            var after = JsonNode.Parse(text)!["channels"]!.AsArray();
            Assert.Equal(["deployment.failed", "deployment.succeeded"], One(after, open)["events"]!.AsArray().Select(e => (string)e!).ToArray());
            Assert.True((bool)One(after, open)["subscribed"]!);
            Assert.Equal(["deployment.failed"], One(after, listed)["events"]!.AsArray().Select(e => (string)e!).ToArray());
            Assert.Equal(["deployment.failed", "deployment.succeeded"], One(after, all)["events"]!.AsArray().Select(e => (string)e!).ToArray());
        }
        using (var c = Db.OpenFile(Path.Combine(env.Panel.DataDir, "vpspanel.db")))
        {
            var audit = c.Query<(string Target, string Detail)>("SELECT target, detail FROM audit_log WHERE action = 'notify.project.subscriptions'").ToList();
            var row = Assert.Single(audit);
            Assert.Equal(slug, row.Target);
            Assert.Contains("listed: deployment.failed;", row.Detail);
            Assert.Contains("open: deployment.failed, deployment.succeeded", row.Detail);
        }

        // A deploy that goes live: "all" and "open" say so, "listed" (narrowed) and "closed" do not.
        var live = await env.DeployAsync(project);
        await env.WaitForLiveAsync(live);
        await rx.WaitForAsync("/all", 1, TimeSpan.FromSeconds(60));
        await rx.WaitForAsync("/open", 1, TimeSpan.FromSeconds(60));
        // A failed deploy: every channel that reaches the project, "closed" still not.
        repo.CommitDockerfile($"FROM scratch\nLABEL {TestDocker.TestLabel}={env.Label}\nCOPY no-such-file-{env.Label} /x\n", "broken build");
        var failed = await env.DeployAsync(project);
        Assert.Equal("failed", await env.WaitForEndAsync(failed));
        await rx.WaitForAsync("/all", 2, TimeSpan.FromSeconds(60));
        await rx.WaitForAsync("/open", 2, TimeSpan.FromSeconds(60));
        var narrowed = (await rx.WaitForAsync("/listed", 1, TimeSpan.FromSeconds(60))).Single();
        await Task.Delay(3000);
        Assert.Equal(["deployment.succeeded", "deployment.failed"], rx.At("/all").Select(r => (string)r.Json["event"]!).ToArray());
        Assert.Equal(["deployment.succeeded", "deployment.failed"], rx.At("/open").Select(r => (string)r.Json["event"]!).ToArray());
        Assert.Equal("deployment.failed", (string?)narrowed.Json["event"]);
        Assert.Equal(failed, (long)narrowed.Json["deployment"]!);
        Assert.Equal(slug, (string?)narrowed.Json["project"]);
        Assert.Single(rx.At("/listed"));
        Assert.Empty(rx.At("/closed"));

        // The CLI, as the owner: the same view; leave the open channel, widen the listed one; refusals on stderr.
        string[] connect = ["--url", env.Panel.Url, "--token", owner.DefaultRequestHeaders.Authorization!.Parameter!];
        var shown = await PanelCli.RunAsync(["notify", "project", slug, .. connect]);
        Assert.True(shown.ExitCode == 0, shown.Stderr);
        Assert.Contains($"{open}\twebhook\topen\topen\tsubscribed\tdeployment.failed,deployment.succeeded", shown.Stdout);
        Assert.Contains($"{listed}\twebhook\tlisted\tlisted\tsubscribed\tdeployment.failed", shown.Stdout);
        var cannot = await PanelCli.RunAsync(["notify", "unsubscribe", slug, all.ToString(), .. connect]);
        Assert.NotEqual(0, cannot.ExitCode);
        Assert.Contains("cannot be left", cannot.Stderr);
        var badEvent = await PanelCli.RunAsync(["notify", "subscribe", slug, open.ToString(), "--events", "app.restarted", .. connect]);
        Assert.NotEqual(0, badEvent.ExitCode);
        Assert.Contains("does not send app.restarted", badEvent.Stderr);
        var left = await PanelCli.RunAsync(["notify", "unsubscribe", slug, open.ToString(), .. connect]);
        Assert.True(left.ExitCode == 0, left.Stderr);
        Assert.Contains($"{open}\twebhook\topen\topen\tnot subscribed\t", left.Stdout);
        var widened = await PanelCli.RunAsync(["notify", "subscribe", slug, listed.ToString(), .. connect]);
        Assert.True(widened.ExitCode == 0, widened.Stderr);
        Assert.Contains($"{listed}\twebhook\tlisted\tlisted\tsubscribed\tdeployment.failed,deployment.succeeded", widened.Stdout);
        Assert.Contains($"{open}\twebhook\topen\topen\tnot subscribed\t", widened.Stdout);
        using (var c = Db.OpenFile(Path.Combine(env.Panel.DataDir, "vpspanel.db")))
            Assert.Empty(c.Query("SELECT 1 FROM notification_subscriptions"));
    }
}
