using System.Text.RegularExpressions;
using Microsoft.Playwright;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Deployments;

/// <summary>
/// Readable build logs through the real pipeline (issue 14, finding 5): a failed RUN's error names the cause its
/// output showed; colours are colours on the page and gone from the API's text; the builder's chatter is folded on
/// the page and kept in the stored log and the API.
/// </summary>
public sealed class BuildLogsTests
{
    // A colour escape as text, unless it is the Dockerfile's own source shown in the step header (printf '\033[31m…').
    static readonly Regex Fragment = new(@"(?<!\\033)\[\d{1,3}(;\d{1,3})*m");

    const string Install = "RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]";

    static string StoredLog(DeployEnv env, long deployment) =>
        File.ReadAllText(Directory.GetFiles(Path.Combine(env.Panel.DataDir, "logs"), $"{deployment}-*.log").Single());

    static Dictionary<string, string> Builder(string builder) => new() { ["Build__Builder"] = builder };

    [Theory]
    [InlineData("buildkit")]
    [InlineData("classic")]
    public async Task A_failing_RUN_step_names_the_line_it_printed_in_the_deployments_error_on_the_page_and_in_the_API(string builder)
    {
        await using var env = await DeployEnv.StartAsync(Builder(builder));
        using var repo = TestRepo.WithBusyboxApp("v1", env.Label,
            extraDockerfile: $"{Install}\nRUN echo \"installing deps\" && echo \"npm ERR! missing script: build\" >&2 && exit 3");
        var project = await env.CreateProjectAsync(repo, $"{env.Name()}.test");
        var d = await env.DeployAsync(project);
        Assert.Equal("failed", await env.WaitForEndAsync(d));

        const string expected = "RUN echo \"installing deps\" && echo \"npm ERR! missing script: build\" >&2 && exit 3 failed (exit code 3): npm ERR! missing script: build";
        Assert.Equal($"Failed at building: {expected}", (await env.Client.GetAsync($"/deployments/{d}")).Text("#deploy-error"));
        using var api = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);
        Assert.Equal(expected, (string?)(await api.GetAsync($"/api/deployments/{d}"))["error"]);

        // The classic builder wrapped the step's stderr in ESC[91m … ESC[0m: kept in the stored log, gone from the API's text.
        // BuildKit prints the step's output as it came, after the step's "#N" and the time.
        var stored = StoredLog(env, d);
        Assert.Contains(builder == "classic" ? "\u001b[91mnpm ERR! missing script: build" : "npm ERR! missing script: build", stored);
        var text = await api.Http.GetStringAsync($"/api/deployments/{d}/log");
        Assert.Contains("npm ERR! missing script: build", text);
        Assert.Contains($"FAILED at building: {expected}", text);
        Assert.False(text.Contains('\u001b'), "the API's text holds an ESC");
        Assert.DoesNotMatch(Fragment, text);
    }

    [Theory]
    [InlineData("buildkit", "exporting layers", "RUN printf")]
    [InlineData("classic", "Removing intermediate container", "Step 5/")]
    public async Task Colours_show_as_coloured_spans_on_the_page_live_and_after_a_reload_chatter_folds_and_the_API_text_has_no_escapes(
        string builder, string chatterLine, string stepHeader)
    {
        await using var env = await DeployEnv.StartAsync(Builder(builder));
        using var repo = TestRepo.WithBusyboxApp("v1", env.Label);
        // The test's label in the RUN: BuildKit would otherwise reuse an earlier run's step from its cache and print no output.
        repo.CommitDockerfile($$"""
            FROM scratch
            COPY busybox /bin/busybox
            COPY www /www
            {{Install}}
            RUN printf '\033[31mred\033[0m\n' && : {{env.Label}}
            LABEL {{TestDocker.TestLabel}}={{env.Label}}
            EXPOSE 8080
            CMD ["/bin/sh", "-c", "printf '\\033[32mgreen start\\033[0m\\n'; exec /bin/busybox httpd -f -v -p 8080 -h /www"]

            """, "colours");
        var project = await env.CreateProjectAsync(repo, $"{env.Name()}.test");
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        await Browser.SignInAsync(page, env.Panel.Url, PanelSetup.AdminEmail, PanelSetup.AdminPassword);
        await Browser.WaitForUrlAsync(page, u => !u.Contains("/login"));
        var d = await env.DeployAsync(project);
        await page.GotoAsync($"{env.Panel.Url}/deployments/{d}");

        async Task AssertColouredAsync()
        {
            var red = page.Locator("#log span.ansi-fg-1", new() { HasTextString = "red" });
            try { await red.First.WaitForAsync(new() { Timeout = 90_000 }); }
            catch (TimeoutException e)
            {
                throw new TimeoutException($"no red span at {page.Url}; the page's log:\n{await page.Locator("body").InnerHTMLAsync()}\nThe stored log:\n{StoredLog(env, d)}", e);
            }
            Assert.Equal("red", (await red.First.TextContentAsync())?.Trim());
            var shown = await page.Locator("#log").InnerTextAsync();
            Assert.DoesNotMatch(Fragment, shown);
            Assert.False(shown.Contains('\u001b'));
        }

        // Live: the page opened while the deploy was running, so the lines came over the stream.
        await AssertColouredAsync();
        await page.WaitForSelectorAsync("#deploy-status:has-text('live')", new() { Timeout = 90_000 });
        // The builder's own lines are in the page but folded; the toggle shows them.
        var chatter = page.Locator("#log .chatter", new() { HasTextString = chatterLine });
        Assert.True(await chatter.CountAsync() > 0);
        Assert.False(await chatter.First.IsVisibleAsync());
        Assert.True(await page.Locator("#log .ln:not(.chatter)", new() { HasTextString = "RUN printf" }).First.IsVisibleAsync());
        Assert.Matches(@"^ \(\d+ lines\)$", await page.Locator("#chatter-count").TextContentAsync());
        await page.ClickAsync("label[for=show-chatter]");
        Assert.True(await chatter.First.IsVisibleAsync());

        // After a reload the page renders the stored log itself.
        await page.ReloadAsync();
        await AssertColouredAsync();
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Path.GetTempPath(), "vpspanel-buildlogs-deployment.png"), FullPage = true });

        // The container's own output on its logs page.
        await page.GotoAsync($"{env.Panel.Url}/deployments/{d}/container-logs");
        var green = page.Locator("#container-log span.ansi-fg-2", new() { HasTextString = "green start" });
        await green.First.WaitForAsync();
        Assert.DoesNotMatch(Fragment, await page.Locator("#container-log").InnerTextAsync());

        // The API's texts: no escape and no fragment of one; the chatter kept unless ?chatter=0.
        using var api = await TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail);
        var text = await api.Http.GetStringAsync($"/api/deployments/{d}/log");
        Assert.Contains(text.Split('\n'), l => l.EndsWith(" red"));
        Assert.False(text.Contains('\u001b'));
        Assert.DoesNotMatch(Fragment, text);
        Assert.Contains(chatterLine, text);
        var folded = await api.Http.GetStringAsync($"/api/deployments/{d}/log?chatter=0");
        Assert.DoesNotContain(chatterLine, folded);
        Assert.Contains(folded.Split('\n'), l => l.Contains(stepHeader) && l.Contains("RUN printf"));
        Assert.Contains(folded.Split('\n'), l => l.EndsWith(" red"));
        var bad = await api.SendAsync(HttpMethod.Get, $"/api/deployments/{d}/log?chatter=maybe");
        Assert.Equal(System.Net.HttpStatusCode.UnprocessableEntity, bad.Status);
        var containerText = await api.Http.GetStringAsync($"/api/deployments/{d}/container-logs");
        Assert.Contains("green start", containerText);
        Assert.False(containerText.Contains('\u001b'));
        Assert.DoesNotMatch(Fragment, containerText);
        // The stored log keeps the colour for the page.
        Assert.Contains("\u001b[31mred\u001b[0m", StoredLog(env, d));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Path.GetTempPath(), "vpspanel-buildlogs.png"), FullPage = true });
    }
}
