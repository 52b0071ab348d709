using System.Security.Cryptography;
using System.Text;
using Microsoft.Playwright;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Notifications;

/// <summary>
/// The Notifications pages in chromium, as people use them: an admin makes a webhook channel to a real loopback
/// receiver (a loopback URL refused until they allow private networks), sends a test and reads it in the delivery log;
/// the project's owner subscribes their project on its page, keeping only failures; then real deploys: the failure
/// reaches the receiver, the success it did not ask for does not.
/// </summary>
public sealed class NotificationBrowserTests
{
    const string Secret = "browser-channel-secret-123";
    const string MemberEmail = "owner@example.com", MemberPassword = "member password 1";

    [Fact]
    public async Task Admin_creates_a_channel_and_sends_a_test_then_an_owner_subscribes_a_project_and_only_its_failure_arrives()
    {
        using var rx = new Receiver();
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string> { ["Notifications__RetrySeconds"] = "1" });
        using var repo = TestRepo.WithBusyboxApp("v1", env.Label);
        var project = await env.CreateProjectAsync(repo, $"{env.Name()}.test");
        var slug = env.Name();
        await NotifyKit.AddMemberOwningAsync(env.Client, env.Panel, MemberEmail, MemberPassword, project);

        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        await Browser.SignInAsync(page, env.Panel.Url, PanelSetup.AdminEmail, PanelSetup.AdminPassword);
        await page.WaitForSelectorAsync("nav a:has-text('Settings')");
        await page.GotoAsync($"{env.Panel.Url}/notifications");
        await page.FillAsync("#name", "team-hook");
        await page.SelectOptionAsync("#type", "webhook");
        await page.FillAsync("[id='webhook.url']", rx.Url + "/hook");
        await page.FillAsync("[id='webhook.secret']", Secret);
        await page.CheckAsync("#channel-events input[value='deployment.succeeded']");
        // Limited to listed projects (none), open to owners: a channel projects join.
        await page.SelectOptionAsync("#projectsMode", "listed");
        await page.CheckAsync("#openToOwners");
        await page.ClickAsync("#channel-form button[type=submit]");
        // Loopback without "allow private networks": refused, the message next to the URL, nothing saved.
        var refusal = await page.WaitForSelectorAsync("#channel-form .field-error");
        Assert.Contains("loopback", await refusal!.TextContentAsync());
        Assert.Equal($"{env.Panel.Url}/notifications", page.Url);
        Assert.Null(await page.QuerySelectorAsync("#channels"));

        await page.FillAsync("[id='webhook.secret']", Secret);
        await page.CheckAsync("#allowPrivateNetwork");
        await page.ClickAsync("#channel-form button[type=submit]");
        await Browser.WaitForUrlAsync(page, u => System.Text.RegularExpressions.Regex.IsMatch(u, @"/notifications/\d+$"));
        var channel = long.Parse(page.Url.Split('/').Last());
        Assert.Equal("team-hook", (await page.TextContentAsync("#channel-name"))!.Trim());
        Assert.True(await page.IsCheckedAsync("#openToOwners"));
        Assert.Equal("listed", await page.InputValueAsync("#projectsMode"));

        await page.ClickAsync("#channel-test button");
        await Browser.WaitForUrlAsync(page, u => u.EndsWith("done=test", StringComparison.Ordinal));
        var test = (await rx.WaitForAsync("/hook", 1, TimeSpan.FromSeconds(60))).Single();
        Assert.Equal("test", (string?)test.Json["event"]);
        // The delivery log shows it once the worker has written the attempt.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await page.QuerySelectorAsync("#deliveries tr.ok") is null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(500);
            await page.ReloadAsync();
        }
        var logged = (await page.TextContentAsync("#deliveries tbody tr.ok"))!;
        Assert.Contains("test", logged);
        Assert.Contains("delivered", logged);
        Assert.Contains("HTTP 200", logged);

        // The owner, on the project's page: the channel by name and type, never where it points; subscribe, failures only.
        var owner = await browser.NewPageAsync();
        await Browser.SignInAsync(owner, env.Panel.Url, MemberEmail, MemberPassword);
        await Browser.WaitForUrlAsync(owner, u => !u.Contains("/login", StringComparison.Ordinal));
        await owner.GotoAsync($"{env.Panel.Url}/projects/{project}");
        var section = await owner.WaitForSelectorAsync($"#project-notifications fieldset[data-channel='{channel}']");
        var shown = (await section!.TextContentAsync())!;
        Assert.Contains("team-hook", shown);
        Assert.Contains("webhook", shown);
        Assert.DoesNotContain(rx.Url, await owner.ContentAsync());
        Assert.False(await owner.IsCheckedAsync($"#subscribe-{channel}"));
        Assert.True(await owner.IsDisabledAsync($"input[name='events-{channel}'][value='deployment.failed']"));
        await owner.CheckAsync($"#subscribe-{channel}");
        await owner.UncheckAsync($"input[name='events-{channel}'][value='deployment.succeeded']");
        await owner.ClickAsync("#project-notifications-save");
        await Browser.WaitForUrlAsync(owner, u => u.EndsWith($"/projects/{project}/notifications?done=saved", StringComparison.Ordinal));
        await owner.WaitForSelectorAsync("#project-notifications-notice");
        Assert.True(await owner.IsCheckedAsync($"#subscribe-{channel}"));
        Assert.False(await owner.IsCheckedAsync($"input[name='events-{channel}'][value='deployment.succeeded']"));
        await owner.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Path.GetTempPath(), "vpspanel-project-notifications.png"), FullPage = true });

        // A deploy that goes live (not asked for), then one that fails (always sent).
        await env.WaitForLiveAsync(await env.DeployAsync(project));
        repo.CommitDockerfile($"FROM scratch\nLABEL {TestDocker.TestLabel}={env.Label}\nCOPY no-such-file-{env.Label} /x\n", "broken build");
        var failed = await env.DeployAsync(project);
        Assert.Equal("failed", await env.WaitForEndAsync(failed));
        var got = await rx.WaitForAsync("/hook", 2, TimeSpan.FromSeconds(60));
        await Task.Delay(3000);
        Assert.Equal(["test", "deployment.failed"], rx.At("/hook").Select(r => (string)r.Json["event"]!).ToArray());
        var body = got[1].Json;
        Assert.Equal(slug, (string?)body["project"]);
        Assert.Equal(failed, (long)body["deployment"]!);
        Assert.Equal($"{env.Panel.Url}/deployments/{failed}", (string?)body["url"]);
        Assert.Contains($"Deployment {failed} of {slug} failed", (string)body["message"]!);
        Assert.Equal("sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), got[1].Raw)), got[1].Headers["X-VpsPanel-Signature"]);

        // And the admin's delivery log lists it with the project.
        await page.ReloadAsync();
        deadline = DateTime.UtcNow.AddSeconds(60);
        while (!((await page.TextContentAsync("#deliveries")) ?? "").Contains("deployment.failed") && DateTime.UtcNow < deadline)
        {
            await Task.Delay(500);
            await page.ReloadAsync();
        }
        Assert.Contains(slug, (await page.TextContentAsync("#deliveries tbody tr:first-child"))!);
    }
}
