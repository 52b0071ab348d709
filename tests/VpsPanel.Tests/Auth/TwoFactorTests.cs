using System.Net;
using OtpNet;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Auth;

/// <summary>Two-factor sign-in (issue 11, "also build"): codes are computed here with Otp.NET, as an authenticator app would.</summary>
public sealed class TwoFactorTests
{
    const string Admin = PanelSetup.AdminEmail;
    const string Password = PanelSetup.AdminPassword;
    const string WrongCode = "That code is not right, or it was used already.";

    /// <summary>The code an authenticator shows <paramref name="stepsAhead"/> time steps from now (the panel accepts one step either side).</summary>
    static string CodeFor(string secret, int stepsAhead = 0) =>
        new Totp(Base32Encoding.ToBytes(secret)).ComputeTotp(DateTime.UtcNow.AddSeconds(30 * stepsAhead));

    /// <summary>A 6-digit code that is none of the ones the panel could accept right now.</summary>
    static string NotACode(string secret)
    {
        var near = Enumerable.Range(-2, 5).Select(i => CodeFor(secret, i)).ToHashSet();
        return Enumerable.Range(0, 100).Select(i => (123456 + i * 7919).ToString("000000")).First(c => !near.Contains(c));
    }

    /// <summary>Turns two-factor sign-in on for the signed-in client; returns the secret and the recovery codes.</summary>
    static async Task<(string Secret, string[] RecoveryCodes)> EnableAsync(PanelClient client)
    {
        var setup = await client.GetAsync("/account/two-factor");
        Assert.Equal(HttpStatusCode.OK, setup.Status);
        Assert.NotNull(setup.Doc.QuerySelector(".qr svg"));
        var secret = setup.Text("#totp-secret")!;
        var done = await client.SubmitAsync("/account/two-factor", new Dictionary<string, string> { ["code"] = CodeFor(secret) }, action: "/account/two-factor?handler=Confirm");
        Assert.Equal(HttpStatusCode.OK, done.Status);
        var codes = done.Text("#recovery-codes")!.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return (secret, codes);
    }

    static async Task<Page> CodeStepAsync(PanelClient client, string code) =>
        await client.SubmitAsync("/login/code", new Dictionary<string, string> { ["code"] = code });

    /// <summary>Password step for a user with two-factor on: it leads to the code page and signs nobody in yet.</summary>
    static async Task PasswordStepAsync(PanelClient client, string email, string password)
    {
        var first = await client.LoginAsync(email, password);
        Assert.Equal(HttpStatusCode.SeeOther, first.Status);
        Assert.Equal("/login/code", first.Response.Headers.Location!.OriginalString);
        Assert.Equal(HttpStatusCode.Redirect, (await client.GetAsync("/")).Status);
    }

    [Fact]
    public async Task Two_factor_is_set_up_in_the_browser_and_signing_in_then_asks_for_the_code()
    {
        await using var panel = await PanelProcess.StartAsync();
        (await PanelSetup.SignedInAdminAsync(panel)).Dispose();
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();

        await page.GotoAsync(panel.Url + "/login");
        await page.FillAsync("#email", Admin);
        await page.FillAsync("#password", Password);
        await page.ClickAsync("main button[type=submit]");
        await page.WaitForSelectorAsync("#system-status");

        await page.GotoAsync(panel.Url + "/account");
        Assert.Contains("Off", await page.Locator("#two-factor-status").TextContentAsync());
        await page.ClickAsync("#two-factor-status a");
        await page.WaitForSelectorAsync(".qr svg");
        var secret = (await page.Locator("#totp-secret").TextContentAsync())!.Trim();
        await page.FillAsync("#code", NotACode(secret));
        await page.ClickAsync("main button[type=submit]");
        await page.WaitForSelectorAsync(".field-error:has-text('That code does not match')");
        await page.FillAsync("#code", CodeFor(secret));
        await page.ClickAsync("main button[type=submit]");
        var codes = (await page.Locator("#recovery-codes").TextContentAsync())!.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(10, codes.Length);
        Assert.All(codes, c => Assert.Matches("^[a-z2-9]{5}-[a-z2-9]{5}$", c));

        // Sign out and in again: the password leads to the code, the code to the dashboard.
        await page.ClickAsync("form.logout button");
        await page.WaitForSelectorAsync("h1:has-text('Sign in')");
        await page.FillAsync("#email", Admin);
        await page.FillAsync("#password", Password);
        await page.ClickAsync("main button[type=submit]");
        await page.WaitForSelectorAsync("h1:has-text('Two-factor sign-in')");
        // The enrolment used this step's code; the next step's is accepted too (clock drift) and is unused.
        await page.FillAsync("#code", CodeFor(secret, 1));
        await page.ClickAsync("main button[type=submit]");
        await page.WaitForSelectorAsync("#system-status");
        await page.GotoAsync(panel.Url + "/account");
        Assert.Contains("On", await page.Locator("#two-factor-status").TextContentAsync());
    }

    [Fact]
    public async Task A_reused_or_wrong_code_fails_and_a_recovery_code_works_once()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        var (secret, recovery) = await EnableAsync(admin);
        Assert.Equal(10, recovery.Length);

        // Without a pending password step the code page sends back to the password.
        using var stranger = new PanelClient(panel);
        Assert.Equal("/login", (await stranger.GetAsync("/login/code")).Response.Headers.Location!.OriginalString);

        using var a = new PanelClient(panel);
        await PasswordStepAsync(a, Admin, Password);
        var code = CodeFor(secret, 1);
        Assert.Equal(HttpStatusCode.SeeOther, (await CodeStepAsync(a, code)).Status);
        Assert.Equal(HttpStatusCode.OK, (await a.GetAsync("/")).Status);

        using var b = new PanelClient(panel);
        await PasswordStepAsync(b, Admin, Password);
        var reused = await CodeStepAsync(b, code);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, reused.Status);
        Assert.Contains(WrongCode, reused.Text(".alert.error"));
        var wrong = await CodeStepAsync(b, NotACode(secret));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, wrong.Status);
        Assert.Contains(WrongCode, wrong.Text(".alert.error"));
        Assert.Equal(HttpStatusCode.Redirect, (await b.GetAsync("/")).Status);

        // A recovery code (typed in capitals and without its dash) signs in once.
        var typed = recovery[3].Replace("-", "").ToUpperInvariant();
        Assert.Equal(HttpStatusCode.SeeOther, (await CodeStepAsync(b, typed)).Status);
        Assert.Equal(HttpStatusCode.OK, (await b.GetAsync("/")).Status);
        Assert.Equal("9", (await b.GetAsync("/account/two-factor")).Text("#unused-recovery-codes"));

        using var c = new PanelClient(panel);
        await PasswordStepAsync(c, Admin, Password);
        var again = await CodeStepAsync(c, recovery[3]);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, again.Status);
        Assert.Equal(HttpStatusCode.Redirect, (await c.GetAsync("/")).Status);

        // A wrong password never reaches the code step.
        using var d = new PanelClient(panel);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await d.LoginAsync(Admin, "not the password at all")).Status);
        Assert.Equal("/login", (await d.GetAsync("/login/code")).Response.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task Wrong_codes_count_as_failed_sign_ins_and_are_throttled()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        var (secret, _) = await EnableAsync(admin);
        using var guesser = new PanelClient(panel);
        await PasswordStepAsync(guesser, Admin, Password);
        for (var i = 0; i < 5; i++)
            Assert.Equal(HttpStatusCode.UnprocessableEntity, (await CodeStepAsync(guesser, NotACode(secret))).Status);
        var held = await CodeStepAsync(guesser, CodeFor(secret, 1));
        Assert.Equal(HttpStatusCode.TooManyRequests, held.Status);
        Assert.Equal(HttpStatusCode.Redirect, (await guesser.GetAsync("/")).Status);
    }

    [Fact]
    public async Task Turning_two_factor_off_needs_a_code_or_the_password()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        var (secret, _) = await EnableAsync(admin);

        var refused = await admin.SubmitAsync("/account/two-factor", new Dictionary<string, string> { ["code"] = NotACode(secret), ["password"] = "not the password at all" }, action: "/account/two-factor?handler=Disable");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.Status);
        Assert.Contains("current code from your app or your password", refused.Text(".field-error"));
        Assert.NotNull(refused.Doc.QuerySelector("#unused-recovery-codes"));

        var off = await admin.SubmitAsync("/account/two-factor", new Dictionary<string, string> { ["password"] = Password }, action: "/account/two-factor?handler=Disable");
        Assert.Equal(HttpStatusCode.SeeOther, off.Status);
        using var again = new PanelClient(panel);
        var signIn = await again.LoginAsync(Admin, Password);
        Assert.Equal("/", signIn.Response.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task When_an_admin_requires_two_factor_users_without_it_are_sent_to_set_it_up_and_tokens_keep_working()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        await admin.SubmitAsync("/users/new", new Dictionary<string, string> { ["email"] = "m@example.com", ["password"] = "member password 123", ["role"] = "member" });
        await EnableAsync(admin);
        using var memberApi = await TestApi.ForUserAsync(panel, "m@example.com");

        var saved = await admin.SubmitAsync("/users", new Dictionary<string, string> { ["required"] = "true" }, action: "/users?handler=TwoFactor");
        Assert.Equal(HttpStatusCode.SeeOther, saved.Status);
        var users = await admin.GetAsync("/users");
        Assert.NotNull(users.Doc.QuerySelector("#require-two-factor[checked]"));

        using var member = new PanelClient(panel);
        Assert.Equal(HttpStatusCode.SeeOther, (await member.LoginAsync("m@example.com", "member password 123")).Status);
        foreach (var path in new[] { "/", "/projects", "/tokens", "/account" })
        {
            var page = await member.GetAsync(path);
            Assert.Equal(HttpStatusCode.Redirect, page.Status);
            Assert.Equal("/account/two-factor", page.Response.Headers.Location!.OriginalString);
        }
        // The API with a bearer token is not a sign-in and is not held back.
        Assert.Equal(HttpStatusCode.OK, (await memberApi.SendAsync(HttpMethod.Get, "/api/projects")).Status);

        var enrol = await member.GetAsync("/account/two-factor");
        Assert.Contains("requires two-factor sign-in", enrol.Text(".alert.warn"));
        await EnableAsync(member);
        Assert.Equal(HttpStatusCode.OK, (await member.GetAsync("/")).Status);
        // The admin had it already and was never held back.
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/")).Status);
        var column = (await admin.GetAsync("/users")).Doc.QuerySelectorAll("tbody tr td:nth-child(4)").Select(td => td.TextContent).ToList();
        Assert.Equal(["on", "on"], column);
    }

    [Fact]
    public async Task The_cli_resets_two_factor_for_a_user_and_fails_clearly_for_an_unknown_email()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        await EnableAsync(admin);
        using var before = new PanelClient(panel);
        await PasswordStepAsync(before, Admin, Password);

        var reset = await PanelCli.RunAsync(["user", "reset-2fa", "--email", Admin, "--data-dir", panel.DataDir]);
        Assert.True(reset.ExitCode == 0, reset.Stderr);
        Assert.Contains($"two-factor sign-in reset for {Admin}", reset.Stdout);
        using var after = new PanelClient(panel);
        var signIn = await after.LoginAsync(Admin, Password);
        Assert.Equal(HttpStatusCode.SeeOther, signIn.Status);
        Assert.Equal("/", signIn.Response.Headers.Location!.OriginalString);
        Assert.Contains("Off", (await after.GetAsync("/account")).Text("#two-factor-status"));

        var unknown = await PanelCli.RunAsync(["user", "reset-2fa", "--email", "ghost@example.com", "--data-dir", panel.DataDir]);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("no user with the email ghost@example.com", unknown.Stderr);
        var missing = await PanelCli.RunAsync(["user", "reset-2fa", "--data-dir", panel.DataDir]);
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("--email", missing.Stderr);

        var help = await PanelCli.RunAsync(["user", "--help"]);
        Assert.Contains("reset-2fa", help.Stdout);
        Assert.Contains("two-factor", (await PanelCli.RunAsync(["help", "user", "reset-2fa"])).Stdout);
    }
}
