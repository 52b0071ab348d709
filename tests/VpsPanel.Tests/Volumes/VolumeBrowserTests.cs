using Microsoft.Playwright;
using VpsPanel.Tests.Harness;
using static VpsPanel.Tests.Volumes.VolumeTestKit;

namespace VpsPanel.Tests.Volumes;

public sealed class VolumeBrowserTests
{
    [Fact]
    public async Task Add_a_volume_on_the_project_page_and_see_it_listed_with_its_size() => await WithEnvAsync(async env =>
    {
        using var repo = TestRepo.WithBusyboxApp("browser vol", env.Label);
        var name = env.Name();
        var project = await env.CreateProjectAsync(repo, $"{name}.test", name);

        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        await Browser.SignInAsync(page, env.Panel.Url, PanelSetup.AdminEmail, PanelSetup.AdminPassword);
        await page.WaitForSelectorAsync("nav a:has-text('Settings')");
        await page.GotoAsync($"{env.Panel.Url}/projects/{project}");
        // The section arrives by htmx after the page.
        await page.WaitForSelectorAsync("#volumes #volume-add-form");
        Assert.Contains("No volumes", await page.TextContentAsync("#volumes"));
        await page.FillAsync("#volume-name", "uploads");
        await page.FillAsync("#volume-mount", "/srv/uploads");
        await page.ClickAsync("#volume-add");
        await page.WaitForSelectorAsync("tr[data-volume=uploads]");
        Assert.Contains("/srv/uploads", await page.TextContentAsync("tr[data-volume=uploads]"));
        Assert.Contains("not created yet", await page.TextContentAsync("tr[data-volume=uploads] .volume-size"));

        // A bad one is refused next to its field, and the list stays as it was.
        await page.FillAsync("#volume-name", "second");
        await page.FillAsync("#volume-mount", "/proc/nope");
        await page.ClickAsync("#volume-add");
        await page.WaitForSelectorAsync("#volume-add-form .field-error");
        Assert.Contains("under /proc", await page.TextContentAsync("#volume-add-form .field-error"));
        Assert.Null(await page.QuerySelectorAsync("tr[data-volume=second]"));

        // After a deploy the volume exists and the page shows its size from Docker.
        await env.WaitForLiveAsync(await env.DeployAsync(project));
        await page.GotoAsync($"{env.Panel.Url}/projects/{project}");
        await page.WaitForSelectorAsync("tr[data-volume=uploads]");
        var size = (await page.TextContentAsync("tr[data-volume=uploads] .volume-size"))!.Trim();
        Assert.Matches(@"^\d+(\.\d)? (B|KiB)$", size);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Path.GetTempPath(), "vpspanel-volumes-section.png"), FullPage = true });
    });
}
