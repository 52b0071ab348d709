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
        ctx.SetDefaultTimeout(15_000);
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

    public async ValueTask DisposeAsync()
    {
        await Chromium.DisposeAsync();
        _playwright.Dispose();
    }
}
