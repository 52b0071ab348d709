using Microsoft.Playwright;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;
using static VpsPanel.Tests.Variables.VariableTestKit;

namespace VpsPanel.Tests.Variables;

public sealed class VariableBrowserTests
{
    [Fact]
    public async Task Paste_env_text_see_secrets_masked_and_redeploy_from_the_banner()
    {
        await using var env = await DeployEnv.StartAsync();
        using var repo = EnvPrintingRepo(env.Label);
        var domain = $"{env.Name()}.test";
        var projectId = await env.CreateProjectAsync(repo, domain);
        await env.WaitForLiveAsync(await env.DeployAsync(projectId));
        var secret = "browser-" + Guid.NewGuid().ToString("N");

        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        await page.GotoAsync(env.Panel.Url + "/login");
        await page.FillAsync("#email", PanelSetup.AdminEmail);
        await page.FillAsync("#password", PanelSetup.AdminPassword);
        await page.ClickAsync("button[type=submit]");
        await page.WaitForSelectorAsync("nav a:has-text('Shared variables')");
        await page.GotoAsync($"{env.Panel.Url}/projects/{projectId}");
        await page.ClickAsync("#variables-link");

        // Paste a plain variable, then add a secret to the text the page shows, with "secret" ticked for new keys.
        await page.FillAsync("#env", "# from my laptop\nexport GREETING=\"hello browser\"\n");
        await page.ClickAsync("#env-form button[type=submit]");
        await page.WaitForSelectorAsync("tr[data-key=GREETING]:has-text('hello browser')");
        var shown = await page.InputValueAsync("#env");
        await page.FillAsync("#env", shown + $"API_TOKEN='{secret}'\n");
        await page.CheckAsync("#env-form input[name=newSecret]");
        await page.ClickAsync("#env-form button[type=submit]");
        await page.WaitForSelectorAsync("tr[data-key=API_TOKEN]");

        Assert.Equal("******** secret", (await page.TextContentAsync("tr[data-key=API_TOKEN] td.value"))!.Trim());
        Assert.Contains("hello browser", await page.TextContentAsync("tr[data-key=GREETING] td.value"));
        Assert.Contains("API_TOKEN=\"********\"", await page.InputValueAsync("#env"));
        Assert.DoesNotContain(secret, await page.ContentAsync());
        // Editing the secret shows the mask in the form, not the value.
        await page.ClickAsync("tr[data-key=API_TOKEN] a:has-text('Edit')");
        await page.WaitForFunctionAsync("() => document.querySelector('#key').value === 'API_TOKEN'");
        Assert.Equal("********", await page.InputValueAsync("#value"));
        Assert.DoesNotContain(secret, await page.ContentAsync());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Path.GetTempPath(), "vpspanel-variables-page.png"), FullPage = true });

        // The live deployment runs without them: the banner asks for a deploy, and its button starts one.
        // The variables page shows the same banner, so wait until the boosted navigation has really swapped in the
        // project page; clicking the banner's button while that request is still in flight would race it.
        await page.ClickAsync("a:has-text('←')");
        // htmx-boosted links change the URL with pushState, which Playwright's WaitForURL does not always notice: ask the page.
        await page.WaitForFunctionAsync(@"() => /^\/projects\/\d+$/.test(location.pathname)");
        await page.WaitForSelectorAsync("#variables-link");
        await page.WaitForSelectorAsync("#redeploy-banner");
        await page.ClickAsync("#redeploy");
        await page.WaitForFunctionAsync(@"() => /^\/deployments\/\d+$/.test(location.pathname)");
        await page.WaitForSelectorAsync("#deploy-status:has-text('live')", new() { Timeout = 90_000 });
        Assert.DoesNotContain(secret, await page.ContentAsync());
        await page.GotoAsync($"{env.Panel.Url}/projects/{projectId}");
        await page.WaitForSelectorAsync("#variables-link");
        Assert.Equal(0, await page.Locator("#redeploy-banner").CountAsync());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Path.GetTempPath(), "vpspanel-variables.png"), FullPage = true });

        var served = await ServedEnvAsync(env, domain);
        Assert.Contains("GREETING=hello browser", served);
        Assert.Contains($"API_TOKEN={secret}", served);
    }
}
