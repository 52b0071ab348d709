using System.Net;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Auth;

public sealed class SignInTests
{
    const string Admin = PanelSetup.AdminEmail;
    const string Password = PanelSetup.AdminPassword;

    [Fact]
    public async Task Sign_in_succeeds_with_the_right_password_and_fails_with_a_wrong_one()
    {
        await using var panel = await PanelProcess.StartAsync();
        (await PanelSetup.SignedInAdminAsync(panel)).Dispose();

        using var client = new PanelClient(panel);
        Assert.Equal(HttpStatusCode.Redirect, (await client.GetAsync("/")).Status);

        var wrong = await client.LoginAsync(Admin, "not the password!");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, wrong.Status);
        Assert.Equal("Wrong email or password.", wrong.Text(".alert.error"));
        var unknown = await client.LoginAsync("nobody@example.com", Password);
        Assert.Equal("Wrong email or password.", unknown.Text(".alert.error"));
        Assert.Equal(HttpStatusCode.Redirect, (await client.GetAsync("/")).Status);

        var ok = await client.LoginAsync(Admin.ToUpperInvariant(), Password);
        Assert.Equal(HttpStatusCode.SeeOther, ok.Status);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/")).Status);

        // The auth cookie is HttpOnly and SameSite.
        var setCookie = ok.Response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("vpspanel.auth="));
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", setCookie, StringComparison.OrdinalIgnoreCase);

        var logout = await client.SubmitAsync("/", new Dictionary<string, string>(), action: "/logout");
        Assert.Equal(HttpStatusCode.SeeOther, logout.Status);
        Assert.Equal(HttpStatusCode.Redirect, (await client.GetAsync("/")).Status);
    }

    [Fact]
    public async Task Repeated_failures_for_one_account_get_429_with_a_clear_message_even_with_the_right_password()
    {
        await using var panel = await PanelProcess.StartAsync();
        (await PanelSetup.SignedInAdminAsync(panel)).Dispose();
        using var client = new PanelClient(panel);
        for (var i = 0; i < 5; i++)
            Assert.Equal(HttpStatusCode.UnprocessableEntity, (await client.LoginAsync(Admin, "wrong password " + i)).Status);

        var limited = await client.LoginAsync(Admin, Password);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.Status);
        Assert.Contains("Too many failed sign-ins for this account", limited.Text(".alert.error"));
        Assert.True(limited.Response.Headers.Contains("Retry-After"));
        Assert.Equal(HttpStatusCode.Redirect, (await client.GetAsync("/")).Status);
    }

    [Fact]
    public async Task Many_attempts_from_one_address_get_429()
    {
        await using var panel = await PanelProcess.StartAsync();
        (await PanelSetup.SignedInAdminAsync(panel)).Dispose();
        using var client = new PanelClient(panel);
        Page last = null!;
        for (var i = 0; i < 21; i++) last = await client.LoginAsync($"user{i}@example.com", "whatever password");
        Assert.Equal(HttpStatusCode.TooManyRequests, last.Status);
        Assert.Contains("from your address", last.Text(".alert.error"));
    }

    [Fact]
    public async Task A_post_without_the_antiforgery_token_is_rejected_and_changes_nothing()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var admin = await PanelSetup.SignedInAdminAsync(panel);

        var fields = new Dictionary<string, string> { ["email"] = "csrf@example.com", ["password"] = "a long enough password", ["role"] = "admin" };
        var noToken = await admin.SubmitAsync("/users/new", fields, withToken: false);
        Assert.Equal(HttpStatusCode.BadRequest, noToken.Status);

        // An htmx request without the header token is rejected the same way.
        using var req = new HttpRequestMessage(HttpMethod.Post, "/users/new") { Content = new FormUrlEncodedContent(fields) };
        req.Headers.Add("HX-Request", "true");
        req.Headers.Add("RequestVerificationToken", "forged");
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.Http.SendAsync(req)).StatusCode);

        var users = await admin.GetAsync("/users");
        Assert.DoesNotContain("csrf@example.com", users.Html);

        // The same form with the htmx header token (as the layout sends it) works.
        var page = await admin.GetAsync("/users/new");
        var token = page.Doc.GetElementById("af-token")!.GetAttribute("value")!;
        using var ok = new HttpRequestMessage(HttpMethod.Post, "/users/new") { Content = new FormUrlEncodedContent(fields) };
        ok.Headers.Add("HX-Request", "true");
        ok.Headers.Add("RequestVerificationToken", token);
        var res = await admin.Http.SendAsync(ok);
        Assert.Equal(HttpStatusCode.NoContent, res.StatusCode);
        Assert.Equal("/users", res.Headers.GetValues("HX-Location").Single());
        Assert.Contains("csrf@example.com", (await admin.GetAsync("/users")).Html);
    }

    [Fact]
    public async Task A_member_is_kept_out_of_admin_pages()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        await admin.SubmitAsync("/users/new", new Dictionary<string, string> { ["email"] = "member@example.com", ["password"] = "member password 123", ["role"] = "member" });

        using var member = new PanelClient(panel);
        Assert.Equal(HttpStatusCode.SeeOther, (await member.LoginAsync("member@example.com", "member password 123")).Status);
        Assert.Equal(HttpStatusCode.OK, (await member.GetAsync("/")).Status);
        foreach (var path in new[] { "/users", "/users/new", "/users/1" })
        {
            var page = await member.GetAsync(path);
            Assert.Equal(HttpStatusCode.Redirect, page.Status);
            Assert.Equal("/forbidden", page.Response.Headers.Location!.OriginalString.Split('?')[0]);
        }
        Assert.Equal(HttpStatusCode.Forbidden, (await member.GetAsync("/forbidden")).Status);
        Assert.DoesNotContain("href=\"/users\"", (await member.GetAsync("/")).Html);
    }

    [Fact]
    public async Task Changing_the_password_ends_the_other_sessions_but_not_this_one()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var first = await PanelSetup.SignedInAdminAsync(panel);
        using var second = new PanelClient(panel);
        Assert.Equal(HttpStatusCode.SeeOther, (await second.LoginAsync(Admin, Password)).Status);
        Assert.Equal(HttpStatusCode.OK, (await second.GetAsync("/")).Status);

        var wrong = await first.SubmitAsync("/account", new Dictionary<string, string> { ["currentPassword"] = "not it at all", ["newPassword"] = "a brand new password" });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, wrong.Status);
        Assert.Contains("not your current password", wrong.Text(".field-error"));

        var changed = await first.SubmitAsync("/account", new Dictionary<string, string> { ["currentPassword"] = Password, ["newPassword"] = "a brand new password" });
        Assert.Equal(HttpStatusCode.SeeOther, changed.Status);
        Assert.Equal(HttpStatusCode.OK, (await first.GetAsync("/")).Status);
        Assert.Equal(HttpStatusCode.Redirect, (await second.GetAsync("/")).Status);

        using var third = new PanelClient(panel);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await third.LoginAsync(Admin, Password)).Status);
        Assert.Equal(HttpStatusCode.SeeOther, (await third.LoginAsync(Admin, "a brand new password")).Status);
    }
}

public sealed class SecureCookieTests
{
    [Fact]
    public async Task Cookies_are_Secure_when_the_panel_is_reached_over_HTTPS_through_the_local_proxy()
    {
        await using var panel = await PanelProcess.StartAsync();
        (await PanelSetup.SignedInAdminAsync(panel)).Dispose();
        using var client = new PanelClient(panel);
        var form = await client.GetAsync("/login");
        using var req = new HttpRequestMessage(HttpMethod.Post, "/login")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["email"] = PanelSetup.AdminEmail, ["password"] = PanelSetup.AdminPassword,
                ["__RequestVerificationToken"] = PanelClient.AntiforgeryToken(form)!,
            }),
        };
        req.Headers.Add("X-Forwarded-Proto", "https");
        using var res = await client.Http.SendAsync(req);
        Assert.Equal(HttpStatusCode.SeeOther, res.StatusCode);
        var auth = res.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("vpspanel.auth="));
        Assert.Contains("secure", auth, StringComparison.OrdinalIgnoreCase);

        // Plain HTTP (no proxy saying otherwise): not Secure, or the browser would drop it.
        var plain = await client.LoginAsync(PanelSetup.AdminEmail, PanelSetup.AdminPassword);
        Assert.DoesNotContain("secure", plain.Response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("vpspanel.auth=")), StringComparison.OrdinalIgnoreCase);
    }
}
