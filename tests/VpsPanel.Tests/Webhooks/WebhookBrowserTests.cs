using System.Text.RegularExpressions;
using VpsPanel.Tests.Harness;
using static VpsPanel.Tests.Webhooks.WebhookMessageTests;

namespace VpsPanel.Tests.Webhooks;

public sealed class WebhookBrowserTests
{
    /// <summary>
    /// A user creates a project, finds the webhook URL and secret on its page, copies the secret, sets the hook up
    /// (here: the test sends what GitHub would, signed with the copied secret), and sees each delivery and why;
    /// then switches auto-deploy off on the edit form and the page says so.
    /// </summary>
    [Fact]
    public async Task The_project_page_shows_the_webhook_URL_the_secret_with_copy_and_each_delivery_with_its_reason()
    {
        await using var panel = await PanelProcess.StartAsync();
        (await PanelSetup.SignedInAdminAsync(panel)).Dispose();
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        await page.Context.GrantPermissionsAsync(["clipboard-read", "clipboard-write"], new() { Origin = panel.Url });

        await Browser.SignInAsync(page, panel.Url, PanelSetup.AdminEmail, PanelSetup.AdminPassword);
        await page.ClickAsync("nav a:has-text('Projects')");
        await page.ClickAsync("a:has-text('New project')");
        await page.FillAsync("#name", "hooked");
        await page.FillAsync("#gitUrl", "/srv/repos/hooked.git");
        await page.FillAsync("#branch", "main");
        await page.FillAsync("#domains", "hooked.test");
        Assert.True(await page.IsCheckedAsync("#autoDeploy"));
        await page.ClickAsync("button:has-text('Create project')");
        await page.WaitForSelectorAsync("h1:has-text('hooked')");

        Assert.Equal($"{panel.Url}/webhooks/hooked", await page.InputValueAsync("#webhook-url"));
        var secret = await page.InputValueAsync("#webhook-secret");
        Assert.Matches("^[0-9a-f]{64}$", secret);
        await page.ClickAsync("button[data-copy='#webhook-secret']");
        await page.WaitForSelectorAsync("button[data-copy='#webhook-secret']:has-text('Copied')");
        Assert.Equal(secret, await page.EvaluateAsync<string>("() => navigator.clipboard.readText()"));
        Assert.Contains("A push to branch main deploys that commit", await page.TextContentAsync("#webhook"));
        Assert.Equal("Nothing received yet. Deliveries show here with what became of them, and why.", (await page.TextContentAsync("#no-deliveries"))!.Trim());
        await page.ClickAsync("summary:has-text('GitHub')");
        Assert.True(await page.IsVisibleAsync("text=Content type"));

        // What GitHub sends once the hook is saved, then a push to another branch, then a forged delivery.
        using var http = new HttpClient { BaseAddress = new Uri(panel.Url) };
        var ping = GitHubPayload("ping-payload.json");
        Assert.Equal(200, (int)(await WebhookEndpointTests.PostAsync(http, "/webhooks/hooked", ping, WebhookEndpointTests.Signed("github", ping, secret, "ping"))).Status);
        var push = GitHubPayload("push-with-new-branch.payload.json");
        Assert.Equal(200, (int)(await WebhookEndpointTests.PostAsync(http, "/webhooks/hooked", push, WebhookEndpointTests.Signed("github", push, secret))).Status);
        Assert.Equal(401, (int)(await WebhookEndpointTests.PostAsync(http, "/webhooks/hooked", push, WebhookEndpointTests.Signed("github", push, "guessed"))).Status);

        await page.ReloadAsync();
        var rows = page.Locator("#deliveries tbody tr");
        Assert.Equal(3, await rows.CountAsync());
        Assert.Matches(@"rejected\s+signature mismatch", await rows.Nth(0).TextContentAsync() ?? "");
        var ignored = await rows.Nth(1).TextContentAsync() ?? "";
        Assert.Matches(@"GitHub\s+push\s+master\s+6113728\s+ignored\s+branch master is not main", Regex.Replace(ignored, @"\s+", " "));
        Assert.Contains("ping received: the URL and the secret are right", await rows.Nth(2).TextContentAsync());
        Assert.Equal(0, await page.Locator("#deployments").CountAsync());

        // Auto-deploy off, on the edit form.
        await page.ClickAsync("a:has-text('Edit')");
        await page.UncheckAsync("#autoDeploy");
        await page.ClickAsync("button:has-text('Save')");
        await page.WaitForSelectorAsync("text=Auto-deploy is off");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Path.GetTempPath(), "vpspanel-webhook.png"), FullPage = true });
    }

    /// <summary>
    /// The secret leaked: the user clicks Generate a new secret, the page shows the new one, a delivery signed with the
    /// old one is refused ("signature mismatch" in the log) and one signed with the new one queues a deploy.
    /// </summary>
    [Fact]
    public async Task Generate_a_new_secret_shows_it_and_the_old_one_stops_working()
    {
        await using var panel = await PanelProcess.StartAsync();
        (await PanelSetup.SignedInAdminAsync(panel)).Dispose();
        using var api = await Api.TestApi.ForUserAsync(panel, PanelSetup.AdminEmail);
        var project = await api.CreateProjectAsync("leaky", "/tmp/vpspanel-missing-leaky.git", "leaky.test");
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        await Browser.SignInAsync(page, panel.Url, PanelSetup.AdminEmail, PanelSetup.AdminPassword);
        await page.WaitForSelectorAsync("nav a:has-text('Projects')");
        await page.GotoAsync($"{panel.Url}/projects/{project["id"]}");

        var old = await page.InputValueAsync("#webhook-secret");
        Assert.Equal((string)project["webhookSecret"]!, old);
        await page.ClickAsync("#new-webhook-secret");
        await page.WaitForFunctionAsync("old => { const i = document.querySelector('#webhook-secret'); return i && i.value !== old; }", old);
        var secret = await page.InputValueAsync("#webhook-secret");
        Assert.Matches("^[0-9a-f]{64}$", secret);

        var body = Payload("gitea-push.json");
        Assert.Equal(401, (int)(await WebhookEndpointTests.PostAsync(api.Http, "/webhooks/leaky", body, WebhookEndpointTests.Signed("gitea", body, old))).Status);
        Assert.Equal(202, (int)(await WebhookEndpointTests.PostAsync(api.Http, "/webhooks/leaky", body, WebhookEndpointTests.Signed("gitea", body, secret))).Status);

        await page.ReloadAsync();
        Assert.Equal(secret, await page.InputValueAsync("#webhook-secret"));
        var rows = page.Locator("#deliveries tbody tr");
        Assert.Equal(2, await rows.CountAsync());
        Assert.Matches(@"queued\s+push to main at bffeb74 queued deployment #\d+", Regex.Replace(await rows.Nth(0).TextContentAsync() ?? "", @"\s+", " "));
        Assert.Matches(@"rejected\s+signature mismatch", await rows.Nth(1).TextContentAsync() ?? "");
        Assert.Single(await api.DeploymentsAsync("leaky"));
    }
}
