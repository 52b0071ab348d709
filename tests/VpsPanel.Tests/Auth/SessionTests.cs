using System.Net;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Auth;

/// <summary>Issue 11, finding 10: a session ends on the server, so no copy of its cookie outlives it.</summary>
public sealed class SessionTests
{
    const string Admin = PanelSetup.AdminEmail;
    const string Password = PanelSetup.AdminPassword;

    /// <summary>A second client holding a copy of <paramref name="from"/>'s auth cookie, as someone who copied it would.</summary>
    static PanelClient CopyOf(PanelProcess panel, PanelClient from)
    {
        var copy = new PanelClient(panel);
        var uri = new Uri(panel.Url);
        var cookie = from.Cookies.GetCookies(uri).Single(c => c.Name == "vpspanel.auth");
        copy.Cookies.Add(uri, new Cookie(cookie.Name, cookie.Value, "/"));
        return copy;
    }

    static async Task AssertSignedIn(PanelClient c) => Assert.Equal(HttpStatusCode.OK, (await c.GetAsync("/")).Status);

    static async Task AssertSignedOut(PanelClient c)
    {
        var page = await c.GetAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, page.Status);
        Assert.Equal("/login", page.Response.Headers.Location!.OriginalString.Split('?')[0]);
    }

    [Fact]
    public async Task A_cookie_copied_before_sign_out_is_rejected_after_it()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        using var copy = CopyOf(panel, admin);
        await AssertSignedIn(copy);

        Assert.Equal(HttpStatusCode.SeeOther, (await admin.SubmitAsync("/", new Dictionary<string, string>(), action: "/logout")).Status);
        await AssertSignedOut(admin);
        await AssertSignedOut(copy);
    }

    /// <summary>
    /// The session's row is kept in memory between commits (Data/ReadCache, issue 20): one ended by another process
    /// (the CLI, or sqlite3 by hand) is still rejected at the very next request, every copy of the cookie included.
    /// </summary>
    [Fact]
    public async Task A_session_deleted_by_another_process_is_rejected_at_the_next_request()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        using var copy = CopyOf(panel, admin);
        for (var i = 0; i < 3; i++)
        {
            await AssertSignedIn(admin);
            await AssertSignedIn(copy);
        }
        using (var c = VpsPanel.Features.Data.Db.OpenFile(Path.Combine(panel.DataDir, "vpspanel.db")))
            Assert.NotEqual(0, Dapper.SqlMapper.Execute(c, "DELETE FROM sessions"));
        await AssertSignedOut(copy);
        await AssertSignedOut(admin);
        // Signing in again makes a new session that works at once.
        Assert.Equal(HttpStatusCode.SeeOther, (await admin.LoginAsync(Admin, Password)).Status);
        await AssertSignedIn(admin);
    }

    [Fact]
    public async Task A_password_change_ends_the_other_sessions_and_their_copies_but_not_this_one()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var first = await PanelSetup.SignedInAdminAsync(panel);
        using var second = new PanelClient(panel);
        Assert.Equal(HttpStatusCode.SeeOther, (await second.LoginAsync(Admin, Password)).Status);
        using var secondCopy = CopyOf(panel, second);
        using var firstCopy = CopyOf(panel, first);
        await AssertSignedIn(secondCopy);
        Assert.Equal(2, (await first.GetAsync("/account")).Doc.QuerySelectorAll("#sessions tbody tr").Length);

        var changed = await first.SubmitAsync("/account", new Dictionary<string, string> { ["currentPassword"] = Password, ["newPassword"] = "a brand new password" });
        Assert.Equal(HttpStatusCode.SeeOther, changed.Status);
        await AssertSignedIn(first);
        await AssertSignedIn(firstCopy);
        await AssertSignedOut(second);
        await AssertSignedOut(secondCopy);
        var account = await first.GetAsync("/account");
        Assert.Single(account.Doc.QuerySelectorAll("#sessions tbody tr"));
        Assert.Contains("this session", account.Text("#sessions tbody")!);
    }

    [Fact]
    public async Task Signing_out_the_other_sessions_from_the_account_page_ends_them()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var first = await PanelSetup.SignedInAdminAsync(panel);
        using var second = new PanelClient(panel);
        Assert.Equal(HttpStatusCode.SeeOther, (await second.LoginAsync(Admin, Password)).Status);

        var ended = await first.SubmitAsync("/account", new Dictionary<string, string>(), action: "/account?handler=EndOthers");
        Assert.Equal(HttpStatusCode.SeeOther, ended.Status);
        await AssertSignedIn(first);
        await AssertSignedOut(second);
    }

    [Fact]
    public async Task Changing_a_users_role_or_disabling_them_ends_all_their_sessions()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        await admin.SubmitAsync("/users/new", new Dictionary<string, string> { ["email"] = "m@example.com", ["password"] = "member password 123", ["role"] = "member" });
        var edit = await SignInAbuseTests.UserEditPathAsync(admin, "m@example.com");

        using var member = new PanelClient(panel);
        Assert.Equal(HttpStatusCode.SeeOther, (await member.LoginAsync("m@example.com", "member password 123")).Status);
        using var memberCopy = CopyOf(panel, member);
        await AssertSignedIn(memberCopy);

        Assert.Equal(HttpStatusCode.SeeOther, (await admin.SubmitAsync(edit, new Dictionary<string, string> { ["role"] = "admin" }, action: edit + "?handler=Access")).Status);
        await AssertSignedOut(member);
        await AssertSignedOut(memberCopy);

        // Signed in again (now as admin), then disabled: out at once, and cannot come back.
        Assert.Equal(HttpStatusCode.SeeOther, (await member.LoginAsync("m@example.com", "member password 123")).Status);
        await AssertSignedIn(member);
        Assert.Equal(HttpStatusCode.SeeOther, (await admin.SubmitAsync(edit, new Dictionary<string, string> { ["role"] = "admin", ["disabled"] = "true" }, action: edit + "?handler=Access")).Status);
        await AssertSignedOut(member);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await member.LoginAsync("m@example.com", "member password 123")).Status);
        // The admin's own session is untouched by all this.
        await AssertSignedIn(admin);
    }
}
