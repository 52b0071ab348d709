using Microsoft.Playwright;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Dashboard;

public sealed class DashboardBrowserTests
{
    const string Email = "owner@example.com";
    const string Password = "owner password 123";

    static async Task SetUpAndSignInThroughTheBrowser(IPage page, PanelProcess panel)
    {
        await page.GotoAsync(panel.Url + "/");
        Assert.EndsWith("/setup", page.Url);
        await page.FillAsync("#token", panel.SetupToken);
        await page.FillAsync("#email", Email);
        await page.FillAsync("#password", Password);
        await page.ClickAsync("button[type=submit]");
        await page.WaitForSelectorAsync("#system-status");

        // Sign out and back in, as a returning user would.
        await page.ClickAsync("form.logout button");
        await page.WaitForSelectorAsync("h1:has-text('Sign in')");
        await page.FillAsync("#email", Email);
        await page.FillAsync("#password", "wrong password here");
        await page.ClickAsync("button[type=submit]");
        await page.WaitForSelectorAsync(".alert.error:has-text('Wrong email or password.')");
        await page.FillAsync("#password", Password);
        await page.ClickAsync("button[type=submit]");
        await page.WaitForSelectorAsync("#system-status");
    }

    [Fact]
    public async Task Setup_with_the_token_then_sign_in_shows_Docker_and_Caddy_reachable()
    {
        await using var caddy = await TestCaddy.StartAsync();
        await using var panel = await PanelProcess.StartAsync(caddy.PanelSettings());
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        await SetUpAndSignInThroughTheBrowser(page, panel);

        var docker = page.Locator("[data-check=docker]");
        var caddyCheck = page.Locator("[data-check=caddy]");
        Assert.Equal("OK", (await docker.Locator(".badge").TextContentAsync())?.Trim());
        Assert.Contains("Docker Engine", await docker.TextContentAsync());
        Assert.Matches(@"API \d+\.\d+ in use", await docker.TextContentAsync());
        Assert.Equal("OK", (await caddyCheck.Locator(".badge").TextContentAsync())?.Trim());
        Assert.Contains("Caddy 2.", await caddyCheck.TextContentAsync());
        Assert.Equal(0, await page.Locator(".check.bad[data-check=docker], .check.bad[data-check=caddy]").CountAsync());
        Assert.Contains(Email, await page.Locator(".who").TextContentAsync());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Path.GetTempPath(), "vpspanel-dashboard.png") });
    }

    [Fact]
    public async Task With_Docker_not_running_the_dashboard_says_what_is_missing_and_how_to_fix_it()
    {
        // The engine's socket does not exist: what the panel sees when dockerd is stopped or not installed.
        await using var caddy = await TestCaddy.StartAsync();
        var settings = caddy.PanelSettings();
        settings["Docker__Socket"] = "/run/vpspanel-test-no-docker/docker.sock";
        await using var panel = await PanelProcess.StartAsync(settings);
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        await SetUpAndSignInThroughTheBrowser(page, panel);

        var docker = page.Locator("[data-check=docker]");
        Assert.Equal("Problem", (await docker.Locator(".badge").TextContentAsync())?.Trim());
        var text = await docker.TextContentAsync();
        Assert.Contains("not reachable at /run/vpspanel-test-no-docker/docker.sock", text);
        Assert.Contains("How to fix", text);
        Assert.Contains("apt-get install docker.io", text);
        Assert.Equal("OK", (await page.Locator("[data-check=caddy] .badge").TextContentAsync())?.Trim());
    }
}
