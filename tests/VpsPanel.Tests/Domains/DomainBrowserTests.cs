using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Domains;

public sealed class DomainBrowserTests
{
    [Fact]
    public async Task Add_a_domain_make_it_primary_redirect_the_old_one_and_open_the_app_on_the_new_domain()
    {
        await using var env = await DeployEnv.StartAsync();
        var oldDomain = $"{env.Name()}-old.test";
        var newDomain = $"{env.Name()}-new.test";
        var (id, _) = await DomainKit.DeployedProjectAsync(env, "app", "moved house", oldDomain);
        // The browser resolves both names to the test Caddy, as DNS would in production.
        await using var browser = await Browser.LaunchAsync($"--host-resolver-rules=MAP {oldDomain} 127.0.0.1:{env.Caddy.HttpPort}, MAP {newDomain} 127.0.0.1:{env.Caddy.HttpPort}");
        var page = await browser.NewPageAsync();

        await page.GotoAsync(env.Panel.Url + "/login");
        await page.FillAsync("#email", PanelSetup.AdminEmail);
        await page.FillAsync("#password", PanelSetup.AdminPassword);
        await page.ClickAsync("button[type=submit]");
        await page.WaitForSelectorAsync("nav a:has-text('Projects')");
        await page.GotoAsync($"{env.Panel.Url}/projects/{id}");
        await page.ClickAsync("#domains-link");
        await page.WaitForSelectorAsync("h1:has-text('Domains of')");
        Assert.Equal(oldDomain, await page.InputValueAsync("#host-0"));

        // A typo first: the page says what is wrong next to the row and keeps what was typed.
        await page.FillAsync("#host-1", "exa mple.test");
        await page.ClickAsync("button:has-text('Save domains')");
        await page.WaitForSelectorAsync("#host-1 ~ .field-error:has-text('contains a space')");
        Assert.Equal("exa mple.test", await page.InputValueAsync("#host-1"));

        await page.FillAsync("#host-1", newDomain);
        await page.CheckAsync("#primary-1");
        await page.SelectOptionAsync("#aliasMode", "redirect");
        await page.ClickAsync("button:has-text('Save domains')");
        await page.WaitForSelectorAsync("text=Saved and applied");
        // After saving, the primary is listed first.
        Assert.Equal(newDomain, await page.InputValueAsync("#host-0"));
        Assert.Equal(oldDomain, await page.InputValueAsync("#host-1"));
        Assert.Equal("redirect", await page.InputValueAsync("#aliasMode"));

        var app = await browser.NewPageAsync();
        await app.GotoAsync($"http://{newDomain}/");
        Assert.Contains("moved house", await app.ContentAsync());
        // The old domain answers 308 to the new one; the browser follows it.
        await app.GotoAsync($"http://{oldDomain}/");
        Assert.Equal($"http://{newDomain}/", app.Url);
        Assert.Contains("moved house", await app.ContentAsync());
        await page.ScreenshotAsync(new() { Path = Path.Combine(Path.GetTempPath(), "vpspanel-domains.png"), FullPage = true });
    }
}
