using System.Text;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Deployments;

/// <summary>
/// Issue 13, part 4: the deployment page lists the commits since the live version, read from the project's mirror
/// with LibGit2Sharp inside the published binary (so this also proves its native library loads from the single file).
/// </summary>
public sealed class CommitsSinceLiveBrowserTests
{
    [Fact]
    public async Task The_deployment_page_lists_the_commits_since_the_live_version_newest_first()
    {
        await using var env = await DeployEnv.StartAsync();
        using var repo = TestRepo.WithBusyboxApp("v1", env.Label);
        var projectId = await env.CreateProjectAsync(repo, $"{env.Name()}.test");
        var first = await env.DeployAsync(projectId);
        await env.WaitForLiveAsync(first);

        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        await Browser.SignInAsync(page, env.Panel.Url, PanelSetup.AdminEmail, PanelSetup.AdminPassword);
        await Browser.WaitForUrlAsync(page, u => !u.Contains("/login"));
        await page.GotoAsync($"{env.Panel.Url}/deployments/{first}");
        Assert.Contains("First deployment", await page.Locator("#commits-since-live").TextContentAsync());
        Assert.Equal(0, await page.Locator("#commits-since-live li").CountAsync());

        // Three commits pushed, one deploy: three listed, newest first. One message carries markup, shown as text.
        var shas = new List<string>
        {
            repo.CommitApp("v2", env.Label, "second: <b>not bold</b> & friends"),
            repo.CommitApp("v3", env.Label, "third"),
            repo.CommitApp("v4", env.Label, "fourth\n\nwith a body that the list does not show"),
        };
        var second = await env.DeployAsync(projectId);
        await env.WaitForLiveAsync(second);
        await page.GotoAsync($"{env.Panel.Url}/deployments/{second}");
        var block = page.Locator("#commits-since-live");
        Assert.Contains("3 commits since the live version", await block.TextContentAsync());
        var items = block.Locator("li");
        Assert.Equal(3, await items.CountAsync());
        Assert.Equal(["fourth", "third", "second: <b>not bold</b> & friends"], await block.Locator(".commit-subject").AllTextContentsAsync());
        Assert.Equal(0, await block.Locator("b").CountAsync());
        Assert.Equal(shas[2][..7], await items.Nth(0).Locator("code").TextContentAsync());
        Assert.Contains("Test Author <author@example.com>", await items.Nth(0).TextContentAsync());
        // The first deployment's page still says it was the first.
        await page.GotoAsync($"{env.Panel.Url}/deployments/{first}");
        Assert.Contains("First deployment", await page.Locator("#commits-since-live").TextContentAsync());

        // Bad input: a 1 MB message and one of invalid UTF-8 (with an escape character) show without breaking the page.
        var huge = new string('y', 1024 * 1024);
        File.WriteAllText(Path.Combine(repo.Work, "index.html"), "v5");
        var msg = Path.Combine(repo.Dir, "huge-msg");
        File.WriteAllText(msg, huge + "\n");
        TestRepo.Run(repo.Work, "add", "-A");
        TestRepo.Run(repo.Work, "commit", "--quiet", "-F", msg);
        File.WriteAllText(Path.Combine(repo.Work, "index.html"), "v6");
        File.WriteAllBytes(msg, [.. "caf"u8, 0xE9, 0xFF, 0x1B, .. " <i>broken</i>\n"u8]);
        TestRepo.Run(repo.Work, "add", "-A");
        TestRepo.Run(repo.Work, "commit", "--quiet", "-F", msg);
        TestRepo.Run(repo.Work, "push", "--quiet", "origin", "HEAD:refs/heads/main");
        var third = await env.DeployAsync(projectId);
        await env.WaitForLiveAsync(third);
        var res = await page.GotoAsync($"{env.Panel.Url}/deployments/{third}");
        Assert.Equal(200, res!.Status);
        Assert.Contains("2 commits since the live version", await block.TextContentAsync());
        var subjects = await block.Locator(".commit-subject").AllTextContentsAsync();
        Assert.StartsWith("caf", subjects[0]);
        Assert.EndsWith(" <i>broken</i>", subjects[0]);
        Assert.DoesNotContain('\u001B', subjects[0]);
        Assert.Equal(0, await block.Locator("i").CountAsync());
        Assert.True(subjects[1].Length < 300 && subjects[1].StartsWith("yyyy"), $"the 1 MB subject is shown cut, not whole ({subjects[1].Length} chars)");
        // The page is whole: the log and the status below the list are there; the raw page stays small.
        await page.WaitForSelectorAsync("#deploy-status:has-text('live')");
        Assert.True(Encoding.UTF8.GetByteCount(await page.ContentAsync()) < 512 * 1024);
        Assert.True((await page.Locator("#commit-sha").TextContentAsync())!.Length == 40);
    }
}
