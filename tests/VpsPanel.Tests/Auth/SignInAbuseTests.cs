using System.Diagnostics;
using System.Net;
using Xunit.Abstractions;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Auth;

/// <summary>Issue 11, finding 7: what the sign-in form gives away, and who its limits can lock out.</summary>
public sealed class SignInAbuseTests(ITestOutputHelper output)
{
    const string Admin = PanelSetup.AdminEmail;
    const string Password = PanelSetup.AdminPassword;
    const string WrongMessage = "Wrong email or password.";

    /// <summary>One POST /login with the form's antiforgery token, optionally as if a proxy forwarded it for <paramref name="forwardedFor"/>.</summary>
    static async Task<Page> PostLoginAsync(PanelClient client, string token, string email, string password, string? forwardedFor = null)
    {
        using var req = new HttpRequestMessage(HttpMethod.Post, "/login")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["email"] = email, ["password"] = password, ["__RequestVerificationToken"] = token }),
        };
        if (forwardedFor is not null) req.Headers.Add("X-Forwarded-For", forwardedFor);
        var res = await client.Http.SendAsync(req);
        var html = await res.Content.ReadAsStringAsync();
        return new Page(res.StatusCode, html, new AngleSharp.Html.Parser.HtmlParser().ParseDocument(html), res);
    }

    /// <summary>The /users/{id} path of a user, from the admin's users list.</summary>
    public static async Task<string> UserEditPathAsync(PanelClient admin, string email) =>
        (await admin.GetAsync("/users")).Doc.QuerySelectorAll("tbody tr")
            .Single(r => r.QuerySelector("td")!.TextContent.Trim() == email).QuerySelector("a")!.GetAttribute("href")!;

    static async Task<string> LoginFormTokenAsync(PanelClient client) => PanelClient.AntiforgeryToken(await client.GetAsync("/login"))!;

    static double Median(List<double> xs)
    {
        var s = xs.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }

    [Fact]
    public async Task Sign_in_takes_as_long_for_an_unknown_email_as_for_a_known_one()
    {
        await using var panel = await PanelProcess.StartAsync();
        (await PanelSetup.SignedInAdminAsync(panel)).Dispose();
        using var client = new PanelClient(panel);
        var token = await LoginFormTokenAsync(client);

        // Each attempt comes through the trusted local proxy (loopback by default) for its own client address, so
        // the per-address limit never answers instead of the password check. Known and unknown alternate, so load
        // from the rest of the machine falls on both alike.
        var n = 0;
        async Task<double> TimeOne(string email)
        {
            var address = $"10.20.{n / 200}.{n % 200 + 1}";
            n++;
            var sw = Stopwatch.StartNew();
            var page = await PostLoginAsync(client, token, email, "not the password at all", address);
            sw.Stop();
            Assert.Equal(HttpStatusCode.UnprocessableEntity, page.Status);
            Assert.Equal(WrongMessage, page.Text(".alert.error"));
            return sw.Elapsed.TotalMilliseconds;
        }
        for (var i = 0; i < 2; i++) { await TimeOne(Admin); await TimeOne($"warmup{i}@example.com"); }
        // The machine running the tests may be busy with other work, which adds noise of its own to single rounds:
        // up to three rounds, and one under the limit passes. (Before the fix the ratio was ~30, never near 1.2.)
        var rounds = new List<string>();
        for (var round = 0; round < 3; round++)
        {
            var known = new List<double>();
            var unknown = new List<double>();
            for (var i = 0; i < 20; i++)
            {
                // Which goes first alternates: on a busy machine the second of two back-to-back requests tends to wait longer.
                if (i % 2 == 0) known.Add(await TimeOne(Admin));
                unknown.Add(await TimeOne($"nobody{round}-{i}@example.com"));
                if (i % 2 == 1) known.Add(await TimeOne(Admin));
            }
            var (k, u) = (Median(known), Median(unknown));
            var ratio = Math.Max(k, u) / Math.Min(k, u);
            rounds.Add($"median known {k:0.0} ms, unknown {u:0.0} ms: ratio {ratio:0.00}");
            output.WriteLine(rounds[^1]);
            if (ratio < 1.2) return;
        }
        Assert.Fail("the time of a sign-in tells known from unknown emails (ratio must be < 1.2):\n" + string.Join("\n", rounds));
    }

    [Fact]
    public async Task Failures_from_one_address_do_not_lock_the_owner_out_from_another()
    {
        await using var panel = await PanelProcess.StartAsync();
        (await PanelSetup.SignedInAdminAsync(panel)).Dispose();

        using var attacker = new PanelClient(panel, IPAddress.Parse("127.0.0.3"));
        for (var i = 0; i < 5; i++)
            Assert.Equal(HttpStatusCode.UnprocessableEntity, (await attacker.LoginAsync(Admin, "guess number " + i)).Status);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await attacker.LoginAsync(Admin, "guess number 6")).Status);
        // The attacker's own address is held back, even with the right password...
        var held = await attacker.LoginAsync(Admin, Password);
        Assert.Equal(HttpStatusCode.TooManyRequests, held.Status);
        Assert.Contains("Too many failed sign-ins for this account", held.Text(".alert.error"));

        // ...while the owner, from an address with no failures, signs in.
        using var owner = new PanelClient(panel, IPAddress.Parse("127.0.0.1"));
        Assert.Equal(HttpStatusCode.SeeOther, (await owner.LoginAsync(Admin, Password)).Status);
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync("/")).Status);
    }

    [Fact]
    public async Task A_guess_spread_over_many_addresses_holds_back_only_addresses_that_failed()
    {
        await using var panel = await PanelProcess.StartAsync();
        (await PanelSetup.SignedInAdminAsync(panel)).Dispose();
        using var proxy = new PanelClient(panel);
        var token = await LoginFormTokenAsync(proxy);
        // 50 guesses, one from each of 50 addresses (through the trusted loopback proxy).
        for (var i = 0; i < 50; i++)
            Assert.Equal(HttpStatusCode.UnprocessableEntity, (await PostLoginAsync(proxy, token, Admin, "guess " + i, $"10.30.0.{i + 1}")).Status);
        // An address that guessed once is now held back for this account, even with the right password...
        var held = await PostLoginAsync(proxy, token, Admin, Password, "10.30.0.7");
        Assert.Equal(HttpStatusCode.TooManyRequests, held.Status);
        // ...and a fresh one still gets in.
        Assert.Equal(HttpStatusCode.SeeOther, (await PostLoginAsync(proxy, token, Admin, Password, "10.31.0.1")).Status);
    }

    [Fact]
    public async Task Forwarded_for_headers_count_only_from_the_configured_proxy_and_only_the_last_hop()
    {
        // The proxy the panel trusts is 127.0.0.2; the test's direct client connects from 127.0.0.1.
        await using var panel = await PanelProcess.StartAsync(new Dictionary<string, string> { ["Panel__TrustedProxies"] = "127.0.0.2" });
        (await PanelSetup.SignedInAdminAsync(panel)).Dispose();

        // A direct client naming a new address in every request is still one address.
        using var direct = new PanelClient(panel, IPAddress.Parse("127.0.0.1"));
        var token = await LoginFormTokenAsync(direct);
        Page last = null!;
        for (var i = 0; i < 21; i++) last = await PostLoginAsync(direct, token, $"user{i}@example.com", "whatever password", $"10.40.0.{i + 1}");
        Assert.Equal(HttpStatusCode.TooManyRequests, last.Status);
        Assert.Contains("from your address", last.Text(".alert.error"));

        // The configured proxy's last hop is believed: 21 clients behind it are 21 addresses.
        using var proxy = new PanelClient(panel, IPAddress.Parse("127.0.0.2"));
        var proxyToken = await LoginFormTokenAsync(proxy);
        for (var i = 0; i < 21; i++)
            Assert.Equal(HttpStatusCode.UnprocessableEntity, (await PostLoginAsync(proxy, proxyToken, $"user{i}@example.com", "whatever password", $"10.41.0.{i + 1}")).Status);

        // But only the last hop: what a client put in front of it changes nothing.
        for (var i = 0; i < 21; i++) last = await PostLoginAsync(proxy, proxyToken, $"user{i}@example.com", "whatever password", $"10.42.0.{i + 1}, 10.43.0.1");
        Assert.Equal(HttpStatusCode.TooManyRequests, last.Status);

        // The sessions page records the address the panel believed (the trusted proxy's last hop).
        var signedIn = await PostLoginAsync(proxy, proxyToken, Admin, Password, "10.44.0.9");
        Assert.Equal(HttpStatusCode.SeeOther, signedIn.Status);
        Assert.Contains("10.44.0.9", (await proxy.GetAsync("/account")).Text("#sessions tbody")!);
    }

    [Fact]
    public async Task A_disabled_account_gets_the_wrong_password_message_even_with_the_right_password()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        await admin.SubmitAsync("/users/new", new Dictionary<string, string> { ["email"] = "off@example.com", ["password"] = "member password 123", ["role"] = "member" });
        var edit = await UserEditPathAsync(admin, "off@example.com");
        Assert.Equal(HttpStatusCode.SeeOther, (await admin.SubmitAsync(edit, new Dictionary<string, string> { ["role"] = "member", ["disabled"] = "true" }, action: edit + "?handler=Access")).Status);

        using var member = new PanelClient(panel);
        var right = await member.LoginAsync("off@example.com", "member password 123");
        var wrong = await member.LoginAsync("off@example.com", "not the password at all");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, right.Status);
        Assert.Equal(WrongMessage, right.Text(".alert.error"));
        Assert.Equal(wrong.Text(".alert.error"), right.Text(".alert.error"));
        Assert.Equal(HttpStatusCode.Redirect, (await member.GetAsync("/")).Status);
    }
}
