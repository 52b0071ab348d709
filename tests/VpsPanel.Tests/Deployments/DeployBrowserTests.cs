using Microsoft.Playwright;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Deployments;

public sealed class DeployBrowserTests
{
    [Fact]
    public async Task Create_a_project_press_Deploy_watch_the_log_stream_see_it_go_live_and_open_the_app()
    {
        await using var env = await DeployEnv.StartAsync();
        using var repo = TestRepo.WithBusyboxApp("hello from the browser test", env.Label);
        var name = env.Name();
        var domain = $"{name}.test";
        // The browser resolves the project's domain to the test Caddy, as DNS would in production.
        await using var browser = await Browser.LaunchAsync($"--host-resolver-rules=MAP {domain} 127.0.0.1:{env.Caddy.HttpPort}");
        var page = await browser.NewPageAsync();

        await page.GotoAsync(env.Panel.Url + "/login");
        await page.FillAsync("#email", PanelSetup.AdminEmail);
        await page.FillAsync("#password", PanelSetup.AdminPassword);
        await page.ClickAsync("button[type=submit]");
        await page.ClickAsync("nav a:has-text('Projects')");
        await page.ClickAsync("a:has-text('New project')");
        await page.FillAsync("#name", name);
        await page.FillAsync("#gitUrl", repo.Bare);
        await page.FillAsync("#branch", "main");
        await page.FillAsync("#containerPort", "8080");
        await page.FillAsync("#domains", domain);
        await page.ClickAsync("button:has-text('Create project')");
        await page.WaitForSelectorAsync($"h1:has-text('{name}')");

        await page.ClickAsync("#deploy");
        await page.WaitForSelectorAsync("#log");
        Assert.Matches(@"/deployments/\d+$", page.Url);
        // A marker on the window: if the page reloaded, it would be gone. The log and status must arrive live.
        await page.EvaluateAsync("() => { window.__sameDocument = true; }");
        await page.WaitForSelectorAsync("#log:has-text('==> building')", new() { Timeout = 60_000 });
        await page.WaitForSelectorAsync("#deploy-status:has-text('live')", new() { Timeout = 60_000 });
        await page.WaitForSelectorAsync("#log:has-text('==> live')");
        Assert.True(await page.EvaluateAsync<bool>("() => window.__sameDocument === true"));
        Assert.Equal("done", await page.Locator("#steps li[data-step=building]").GetAttributeAsync("class"));
        Assert.Matches(@"\d", await page.Locator("#steps li[data-step=building] small").TextContentAsync() ?? "");

        var popupTask = page.Context.WaitForPageAsync();
        await page.ClickAsync($".app-link:has-text('{domain}')");
        var app = await popupTask;
        await app.WaitForLoadStateAsync();
        Assert.Contains("hello from the browser test", await app.ContentAsync());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Path.GetTempPath(), "vpspanel-deployment.png"), FullPage = true });

        // The live deployment links to its container's logs (the link arrives with the live status, no reload):
        // httpd -v logged the health checks and the visit just made.
        await page.ClickAsync("#container-logs-link");
        await page.WaitForSelectorAsync("h1:has-text('Container logs')");
        Assert.Matches(@"/deployments/\d+/container-logs$", page.Url);
        await page.WaitForSelectorAsync("#container-log:has-text('response:200')");
        Assert.Equal(0, await page.Locator("#container-gone").CountAsync());
    }
}
