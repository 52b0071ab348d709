using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Shared;

/// <summary>A one-page web site on its own loopback port: another origin than the panel's, as an attacker's site would be.</summary>
public sealed class OtherSite : IAsyncDisposable
{
    readonly WebApplication _app;
    public string Url { get; }

    OtherSite(WebApplication app, string url) => (_app, Url) = (app, url);

    public static async Task<OtherSite> StartAsync(string html)
    {
        var url = $"http://127.0.0.1:{Paths.FreePort()}";
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(url);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapGet("/", () => Results.Content(html, "text/html"));
        await app.StartAsync();
        return new OtherSite(app, url);
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

public sealed class SecurityBrowserTests
{
    /// <summary>Every CSP violation a document reports, as a console line the test collects (init scripts are not subject to the page's CSP).</summary>
    const string ReportViolations =
        "document.addEventListener('securitypolicyviolation', e => console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + location.pathname));";

    static async Task SignInAsync(IPage page, string panelUrl)
    {
        await page.GotoAsync(panelUrl + "/login");
        await page.FillAsync("#email", PanelSetup.AdminEmail);
        await page.FillAsync("#password", PanelSetup.AdminPassword);
        await page.ClickAsync("button[type=submit]");
        await page.WaitForSelectorAsync("#system-status");
    }

    [Fact]
    public async Task A_page_on_another_origin_cannot_show_the_signed_in_panel_in_a_frame()
    {
        await using var panel = await PanelProcess.StartAsync();
        (await PanelSetup.SignedInAdminAsync(panel)).Dispose();
        // The control: a frame from a site that does not forbid framing renders, so an empty panel frame is the panel's doing.
        await using var harmless = await OtherSite.StartAsync("<p id='framed'>framing allowed here</p>");
        await using var attacker = await OtherSite.StartAsync(
            $"<h1>Win a prize</h1><iframe id='panel' src='{panel.Url}/' width='900' height='600'></iframe><iframe id='control' src='{harmless.Url}/'></iframe>");
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        var console = new List<string>();
        page.Console += (_, m) => { lock (console) console.Add(m.Text); };
        await SignInAsync(page, panel.Url);

        // Signed in (SameSite=Lax still sends the cookie to a frame on the same site: another port is the same site).
        await page.GotoAsync(attacker.Url + "/");
        await page.FrameLocator("#control").Locator("#framed").WaitForAsync();
        var frame = await (await page.QuerySelectorAsync("iframe#panel"))!.ContentFrameAsync();
        Assert.NotNull(frame);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline && !Refused()) await Task.Delay(100);
        bool Refused() { lock (console) return console.Any(l => l.Contains("frame-ancestors 'none'") || l.Contains("X-Frame-Options")); }
        Assert.True(Refused(), "chromium did not report refusing the frame:\n" + string.Join("\n", console));
        Assert.False(frame!.Url.StartsWith(panel.Url), $"the frame shows {frame.Url}");
        Assert.DoesNotContain("VpsPanel", await frame.ContentAsync());
        Assert.Equal(0, await page.FrameLocator("#panel").Locator("#system-status, form.logout, #email").CountAsync());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Path.GetTempPath(), "vpspanel-framed.png") });
    }

    [Fact]
    public async Task Clicking_through_the_main_pages_under_the_CSP_reports_no_violation_and_every_script_driven_part_still_works()
    {
        await using var env = await DeployEnv.StartAsync();
        using var repo = TestRepo.WithBusyboxApp("hello under a strict CSP", env.Label);
        var name = env.Name();
        var projectId = await env.CreateProjectAsync(repo, $"{name}.test", name);
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        await page.Context.AddInitScriptAsync(ReportViolations);
        var reports = new List<string>();
        page.Console += (_, m) =>
        {
            if (m.Text.Contains("Content Security Policy") || m.Text.StartsWith("CSP violation") || m.Text.StartsWith("Refused to"))
                lock (reports) reports.Add(m.Text);
        };
        var errors = new List<string>();
        page.PageError += (_, e) => { lock (errors) errors.Add(e); };

        await SignInAsync(page, env.Panel.Url);
        await page.ClickAsync("nav a:has-text('Projects')");
        await page.ClickAsync($"a:has-text('{name}')");
        await page.WaitForSelectorAsync($"h1:has-text('{name}')");

        // Deploy: the log arrives over EventSource and the status fragment is refreshed by htmx, both from app.js.
        await page.ClickAsync("#deploy");
        await page.WaitForSelectorAsync("#log");
        await page.WaitForSelectorAsync("#log:has-text('==> building')", new() { Timeout = 60_000 });
        await page.WaitForSelectorAsync("#deploy-status:has-text('live')", new() { Timeout = 90_000 });
        await page.ClickAsync("#container-logs-link");
        await page.WaitForSelectorAsync("h1:has-text('Container logs')");

        // Variables: an htmx form post swaps the table in.
        await page.GotoAsync($"{env.Panel.Url}/projects/{projectId}");
        await page.ClickAsync("#variables-link");
        await page.FillAsync("#env", "GREETING=hello\n");
        await page.ClickAsync("#env-form button[type=submit]");
        await page.WaitForSelectorAsync("tr[data-key=GREETING]");

        // Domains: a 422 re-renders the form with the message next to the row (htmx's response handling from the meta config).
        await page.GotoAsync($"{env.Panel.Url}/projects/{projectId}");
        await page.ClickAsync("#domains-link");
        await page.WaitForSelectorAsync("h1:has-text('Domains of')");
        await page.FillAsync("#host-1", "exa mple.test");
        await page.ClickAsync("button:has-text('Save domains')");
        await page.WaitForSelectorAsync("#host-1 ~ .field-error:has-text('contains a space')");

        // Settings, tokens (the copy button is app.js), users, shared variables, account, the dashboard again.
        await page.ClickAsync("nav a:has-text('Settings')");
        await page.WaitForSelectorAsync("#settings-form");
        await page.ClickAsync("nav a:has-text('API tokens')");
        await page.FillAsync("#name", "csp-test");
        await page.ClickAsync("button:has-text('Create token')");
        await page.WaitForSelectorAsync("#new-token");
        foreach (var (link, marker) in new[] { ("Users", "h1:has-text('Users')"), ("Shared variables", "h1"), ("Account", "h1"), ("Dashboard", "#system-status") })
        {
            await page.ClickAsync($"nav a:has-text('{link}')");
            await page.WaitForSelectorAsync(marker);
        }
        lock (reports) Assert.True(reports.Count == 0, "CSP violations:\n" + string.Join("\n", reports));
        lock (errors) Assert.True(errors.Count == 0, "script errors:\n" + string.Join("\n", errors));

        // The watch works and the policy is enforced: an inline style and an inline script put into the page are refused.
        await page.EvaluateAsync("() => { document.body.insertAdjacentHTML('beforeend', '<div id=\"injected\" style=\"color: red\">x</div>'); const s = document.createElement('script'); s.textContent = 'window.__inlineRan = true'; document.body.append(s); }");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline) { lock (reports) if (reports.Any(r => r.Contains("style-src")) && reports.Any(r => r.Contains("script-src"))) break; await Task.Delay(100); }
        lock (reports)
        {
            Assert.Contains(reports, r => r.Contains("style-src"));
            Assert.Contains(reports, r => r.Contains("script-src"));
        }
        Assert.False(await page.EvaluateAsync<bool>("() => window.__inlineRan === true"));
    }
}
