using System.Net;
using Microsoft.Playwright;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Dashboard;

/// <summary>
/// The dashboard as a person opens it: every project a row, failures first, the live commit and who deployed it, the
/// last deployments across projects; the favicon answers; the server-settings table stays inside its card.
/// </summary>
public sealed class DashboardOverviewTests
{
    [Fact]
    public async Task Dashboard_lists_failures_first_and_the_last_deployments_the_favicon_answers_and_the_settings_table_fits()
    {
        await using var env = await DeployEnv.StartAsync();
        // "a…" sorts before "z…", so only "failures first" can put the failed project on top.
        var (repo, live, _, liveDeployment) = await env.DeployV1Async();
        using var _r = repo;
        using var broken = TestRepo.WithBusyboxApp("x", env.Label);
        var failedProject = await env.CreateProjectAsync(broken, $"{env.Name("zz")}.test", env.Name("zz"));
        // The repository disappears after the project was saved: the deploy fails at its clone, quickly.
        Paths.DeleteQuietly(broken.Bare);
        var failedDeployment = await env.DeployAsync(failedProject);
        Assert.Equal("failed", await env.WaitForEndAsync(failedDeployment));

        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        await Browser.SignInAsync(page, env.Panel.Url, PanelSetup.AdminEmail, PanelSetup.AdminPassword);
        await page.WaitForSelectorAsync("#dashboard-projects");
        var rows = page.Locator("#dashboard-projects tbody tr");
        Assert.Equal(2, await rows.CountAsync());
        Assert.Equal(env.Name("zz"), await rows.Nth(0).GetAttributeAsync("data-project"));
        Assert.Equal("failed", await rows.Nth(0).GetAttributeAsync("data-status"));
        Assert.Contains($"#{failedDeployment}", await rows.Nth(0).TextContentAsync());
        Assert.Equal("live", await rows.Nth(1).GetAttributeAsync("data-status"));
        var liveRow = await rows.Nth(1).TextContentAsync();
        Assert.Contains("v1", liveRow); // the commit message of the live commit
        Assert.Contains($"by {PanelSetup.AdminEmail}", liveRow);
        // The metrics work's hook: an empty cell per project, for its sparklines.
        Assert.Equal(1, await rows.Nth(1).Locator("td.usage").CountAsync());

        var recent = page.Locator("#recent-deployments tbody tr");
        Assert.Equal(2, await recent.CountAsync());
        Assert.Equal(failedDeployment.ToString(), await recent.Nth(0).GetAttributeAsync("data-deployment"));
        Assert.Equal(liveDeployment.ToString(), await recent.Nth(1).GetAttributeAsync("data-deployment"));
        Assert.Equal(1, await page.Locator("[data-check=docker]").CountAsync()); // the system checks as before
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Path.GetTempPath(), "vpspanel-dashboard-overview.png"), FullPage = true });

        // The favicon: linked from the layout, and /favicon.ico answers (it was a 404 on every page).
        Assert.EndsWith(".svg", (await page.Locator("link[rel=icon]").GetAttributeAsync("href"))!.Split('?')[0]);
        using (var http = new HttpClient())
        {
            using var ico = await http.GetAsync(env.Panel.Url + "/favicon.ico");
            Assert.Equal(HttpStatusCode.OK, ico.StatusCode);
            Assert.Equal("image/svg+xml", ico.Content.Headers.ContentType?.MediaType);
            Assert.Contains("<svg", await ico.Content.ReadAsStringAsync());
        }

        // The server-settings table inside its card, at 1200 px and on a phone-sized screen.
        foreach (var width in new[] { 1200, 390 })
        {
            await page.SetViewportSizeAsync(width, 900);
            await page.GotoAsync(env.Panel.Url + "/settings");
            var table = (await page.Locator("#server-settings").BoundingBoxAsync())!;
            var card = (await page.Locator("section.card:has(#server-settings)").BoundingBoxAsync())!;
            Assert.True(table.X >= card.X && table.X + table.Width <= card.X + card.Width + 0.5,
                $"at {width} px the table spans {table.X}..{table.X + table.Width}, the card {card.X}..{card.X + card.Width}");
            // No cell's content spills past the table either.
            var spill = await page.EvaluateAsync<int>("() => [...document.querySelectorAll('#server-settings td, #server-settings th')].filter(c => c.scrollWidth > c.clientWidth + 1).length");
            Assert.Equal(0, spill);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Path.GetTempPath(), $"vpspanel-settings-{width}.png"), FullPage = true });
        }
    }
}
