using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Notifications;

/// <summary>The admin's API client and channel calls the notification tests share.</summary>
public static class NotifyKit
{
    /// <summary>An API client with a fresh token of the admin (the panel must have its admin already).</summary>
    public static Task<HttpClient> AdminApiAsync(PanelProcess panel) => ApiAsync(panel, PanelSetup.AdminEmail);

    /// <summary>An API client with a fresh token of this user.</summary>
    public static async Task<HttpClient> ApiAsync(PanelProcess panel, string email)
    {
        var created = await PanelCli.RunAsync(["token", "create", "--user", email, "--name", "notify-" + Guid.NewGuid().ToString("N")[..6], "--data-dir", panel.DataDir]);
        Assert.True(created.ExitCode == 0, created.Stderr);
        var http = new HttpClient { BaseAddress = new Uri(panel.Url) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", created.Stdout.Trim());
        return http;
    }

    public static StringContent Json(JsonNode body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    /// <summary>Creates a channel; fails the test with the panel's answer unless it is 201.</summary>
    public static async Task<long> CreateAsync(HttpClient api, JsonObject channel)
    {
        using var res = await api.PostAsync("/api/notification-channels", Json(channel));
        var text = await res.Content.ReadAsStringAsync();
        Assert.True((int)res.StatusCode == 201, $"creating {channel.ToJsonString()} answered {(int)res.StatusCode}: {text}");
        return (long)JsonNode.Parse(text)!["id"]!;
    }

    public static async Task<JsonArray> DeliveriesAsync(HttpClient api, long channel) =>
        JsonNode.Parse(await api.GetStringAsync($"/api/notification-channels/{channel}/deliveries"))!["deliveries"]!.AsArray();

    public static async Task TestAsync(HttpClient api, long channel)
    {
        using var res = await api.PostAsync($"/api/notification-channels/{channel}/test", Json(new JsonObject()));
        Assert.Equal(202, (int)res.StatusCode);
    }

    /// <summary>Adds a member through the admin's Users page and hands them the project (members may not create projects on local paths).</summary>
    public static async Task AddMemberOwningAsync(PanelClient admin, PanelProcess panel, string email, string password, long? projectId)
    {
        var added = await admin.SubmitAsync("/users/new", new() { ["email"] = email, ["password"] = password, ["role"] = "member" });
        Assert.Equal(System.Net.HttpStatusCode.SeeOther, added.Status);
        if (projectId is null) return;
        using var c = VpsPanel.Features.Data.Db.OpenFile(Path.Combine(panel.DataDir, "vpspanel.db"));
        Assert.Equal(1, Dapper.SqlMapper.Execute(c, "UPDATE projects SET owner_id = (SELECT id FROM users WHERE email = @email) WHERE id = @projectId", new { email, projectId }));
    }
}
