using System.Net;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Api;

/// <summary>Finding 12: a token made with another token may not outlive it.</summary>
public sealed class TokenLifetimeTests
{
    static async Task<TestApi> TokenExpiringInAsync(PanelProcess panel, int days)
    {
        var created = await PanelCli.RunAsync(["token", "create", "--user", PanelSetup.AdminEmail, "--name", $"{days}-day", "--expires-days", days.ToString(), "--data-dir", panel.DataDir]);
        Assert.True(created.ExitCode == 0, created.Stderr);
        return new TestApi(panel, created.Stdout.Trim());
    }

    static async Task<int> CountTokensAsync(TestApi api) => (await api.GetAsync("/api/tokens")).AsArray().Count;

    [Fact]
    public async Task A_token_cannot_create_a_token_that_outlives_it()
    {
        await using var panel = await PanelProcess.StartAsync();
        (await PanelSetup.SignedInAdminAsync(panel)).Dispose();
        using var thirty = await TokenExpiringInAsync(panel, 30);
        var expiresAt = DateTime.Parse((string)(await thirty.GetAsync("/api/tokens")).AsArray().Single()!["expiresAt"]!).ToUniversalTime();

        // Never expiring, or longer than the creator has left: 422 naming the limit, and no token is made.
        var never = TestApi.Problem(await thirty.SendAsync(HttpMethod.Post, "/api/tokens", """{"name":"forever"}"""), HttpStatusCode.UnprocessableEntity);
        Assert.Contains("may not outlive it: choose at most 29 days", (string)never["errors"]!["expiresInDays"]![0]!);
        Assert.Contains(expiresAt.ToString("yyyy-MM-dd"), (string)never["detail"]!);
        TestApi.Problem(await thirty.SendAsync(HttpMethod.Post, "/api/tokens", """{"name":"longer","expiresInDays":30}"""), HttpStatusCode.UnprocessableEntity);
        TestApi.Problem(await thirty.SendAsync(HttpMethod.Post, "/api/tokens", """{"name":"much longer","expiresInDays":3650}"""), HttpStatusCode.UnprocessableEntity);
        Assert.Equal(1, await CountTokensAsync(thirty));

        // Within the limit it works, and the new token expires no later than its maker.
        var ok = await thirty.SendAsync(HttpMethod.Post, "/api/tokens", """{"name":"shorter","expiresInDays":29}""");
        Assert.True(ok.Status == HttpStatusCode.Created, $"{ok.Status}: {ok.Body}");
        var made = (await thirty.GetAsync("/api/tokens")).AsArray().Single(t => (string)t!["name"]! == "shorter")!;
        Assert.True(DateTime.Parse((string)made["expiresAt"]!).ToUniversalTime() <= expiresAt);

        // A 1-day token has less than a day left: it can create no token at all, and says where to make one instead.
        using var oneDay = await TokenExpiringInAsync(panel, 1);
        var refused = TestApi.Problem(await oneDay.SendAsync(HttpMethod.Post, "/api/tokens", """{"name":"child","expiresInDays":1}"""), HttpStatusCode.UnprocessableEntity);
        Assert.Contains("in less than a day", (string)refused["detail"]!);
        Assert.Contains("Tokens page", (string)refused["detail"]!);
        TestApi.Problem(await oneDay.SendAsync(HttpMethod.Post, "/api/tokens", """{"name":"child"}"""), HttpStatusCode.UnprocessableEntity);

        // A token that never expires may still create one that never expires.
        using var forever = await TestApi.ForUserAsync(panel, PanelSetup.AdminEmail);
        Assert.Equal(HttpStatusCode.Created, (await forever.SendAsync(HttpMethod.Post, "/api/tokens", """{"name":"also forever"}""")).Status);
        Assert.Equal(5, await CountTokensAsync(forever));
    }
}
