using Microsoft.Playwright;

namespace VpsPanel.Tests.Harness;

/// <summary>
/// Debian's chromium driven by Playwright. Never downloads a browser: the executable is the system one, and the
/// flags keep chromium from reaching for the network this machine does not have.
/// </summary>
public sealed class Browser : IAsyncDisposable
{
    IPlaywright _playwright = null!;
    public IBrowser Chromium { get; private set; } = null!;

    /// <summary>Extra arguments are added to the fixed ones (e.g. --host-resolver-rules to reach a test domain through Caddy).</summary>
    public static async Task<Browser> LaunchAsync(params string[] extraArgs)
    {
        var b = new Browser { _playwright = await Playwright.CreateAsync() };
        b.Chromium = await b._playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic", .. extraArgs],
        });
        return b;
    }

    public async Task<IPage> NewPageAsync()
    {
        var ctx = await Chromium.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 900 } });
        // Generous: a page load of a panel that is still warming up took over 15 s when the machine ran other suites.
        ctx.SetDefaultTimeout(60_000);
        ctx.SetDefaultNavigationTimeout(60_000);
        return await ctx.NewPageAsync();
    }

    /// <summary>Signs in through the real /login form, as a person would.</summary>
    public static async Task SignInAsync(IPage page, string panelUrl, string email, string password)
    {
        await page.GotoAsync(panelUrl + "/login");
        await page.FillAsync("#email", email);
        await page.FillAsync("#password", password);
        await page.ClickAsync("button[type=submit]");
    }

    /// <summary>
    /// Waits until the page's address satisfies <paramref name="matches"/>. Not Playwright's WaitForURLAsync: with
    /// hx-boost most moves are htmx swaps plus history.pushState, and WaitForURLAsync once waited 60 s for a "load"
    /// that such a move never fires (AuditLogTests, in a full run). The address is what the tests mean anyway.
    /// </summary>
    public static async Task WaitForUrlAsync(IPage page, Func<string, bool> matches)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!matches(page.Url))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the page stayed at {page.Url} for 60 s");
            await Task.Delay(100);
        }
    }

    public static Task WaitForUrlAsync(IPage page, string url) => WaitForUrlAsync(page, u => u == url);

    public async ValueTask DisposeAsync()
    {
        await Chromium.DisposeAsync();
        _playwright.Dispose();
    }
}
