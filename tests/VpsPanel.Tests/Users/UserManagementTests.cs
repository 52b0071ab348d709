using System.Net;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Users;

public sealed class UserManagementTests
{
    static Dictionary<string, string> NewUser(string email, string password, string role = "member") =>
        new() { ["email"] = email, ["password"] = password, ["role"] = role };

    [Theory]
    [InlineData("weak@example.com", "short", "member", "password", "at least 12 characters")]
    [InlineData("not-an-email", "long enough password", "member", "email", "valid email address")]
    [InlineData("two@@example.com", "long enough password", "member", "email", "valid email address")]
    [InlineData("a@b", "long enough password", "member", "email", "valid email address")]
    [InlineData("", "long enough password", "member", "email", "Enter an email address")]
    [InlineData("ok@example.com", "long enough password", "root", "role", "admin or member")]
    public async Task Bad_input_gets_a_message_next_to_the_field_and_nothing_is_stored(string email, string password, string role, string field, string message)
    {
        await using var panel = await PanelProcess.StartAsync();
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        var page = await admin.SubmitAsync("/users/new", NewUser(email, password, role));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, page.Status);
        var error = page.Doc.QuerySelector($"#{field} + .field-error")?.TextContent;
        Assert.NotNull(error);
        Assert.Contains(message, error);
        await AssertOnlyTheAdminExists(panel);
    }

    [Fact]
    public async Task Oversized_fields_get_a_clear_message_and_nothing_is_stored()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        var longEmail = new string('a', 300) + "@example.com";
        var page = await admin.SubmitAsync("/users/new", NewUser(longEmail, new string('p', 2000)));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, page.Status);
        Assert.Contains("at most 254 characters", page.Doc.QuerySelector("#email + .field-error")!.TextContent);
        Assert.Contains("at most 1024 characters", page.Doc.QuerySelector("#password + .field-error")!.TextContent);

        // A field far over the form limit is refused outright, not half-stored.
        var huge = await admin.SubmitAsync("/users/new", NewUser("huge@example.com", new string('p', 100_000)));
        Assert.True(huge.Status is HttpStatusCode.BadRequest or HttpStatusCode.UnprocessableEntity or HttpStatusCode.RequestEntityTooLarge, huge.Status.ToString());
        await AssertOnlyTheAdminExists(panel);
    }

    [Fact]
    public async Task A_duplicate_email_is_refused_whatever_its_case()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        var page = await admin.SubmitAsync("/users/new", NewUser(PanelSetup.AdminEmail.ToUpperInvariant(), "long enough password"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, page.Status);
        Assert.Contains("already exists", page.Doc.QuerySelector("#email + .field-error")!.TextContent);
        await AssertOnlyTheAdminExists(panel);
    }

    [Fact]
    public async Task Setup_rejects_bad_input_with_messages_and_creates_nobody()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var client = new PanelClient(panel);
        var page = await client.SubmitAsync("/setup", new Dictionary<string, string> { ["token"] = panel.SetupToken, ["email"] = "nope", ["password"] = "short" });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, page.Status);
        Assert.Contains("valid email", page.Doc.QuerySelector("#email + .field-error")!.TextContent);
        Assert.Contains("at least 12", page.Doc.QuerySelector("#password + .field-error")!.TextContent);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/setup")).Status);
        Assert.True(File.Exists(Path.Combine(panel.DataDir, "setup-token")));
    }

    [Fact]
    public async Task An_admin_adds_a_user_changes_the_role_disables_and_resets_the_password()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        Assert.Equal(HttpStatusCode.SeeOther, (await admin.SubmitAsync("/users/new", NewUser("bob@example.com", "bob's first password"))).Status);
        var list = await admin.GetAsync("/users");
        var bobRow = list.Doc.QuerySelectorAll("tbody tr").Single(r => r.TextContent.Contains("bob@example.com"));
        Assert.Contains("member", bobRow.TextContent);
        var bobPage = bobRow.QuerySelector("a")!.GetAttribute("href")!;

        using var bob = new PanelClient(panel);
        Assert.Equal(HttpStatusCode.SeeOther, (await bob.LoginAsync("bob@example.com", "bob's first password")).Status);

        // Promote to admin: bob's session is re-checked and ends (role change), then he signs in as admin.
        Assert.Equal(HttpStatusCode.SeeOther, (await admin.SubmitAsync(bobPage, new() { ["role"] = "admin" }, action: bobPage + "?handler=Access")).Status);
        Assert.Equal(HttpStatusCode.Redirect, (await bob.GetAsync("/")).Status);
        await bob.LoginAsync("bob@example.com", "bob's first password");
        Assert.Equal(HttpStatusCode.OK, (await bob.GetAsync("/users")).Status);

        // Reset the password: bob's session ends; the new password works.
        Assert.Equal(HttpStatusCode.SeeOther, (await admin.SubmitAsync(bobPage, new() { ["newPassword"] = "bob's second password" }, action: bobPage + "?handler=Password")).Status);
        Assert.Equal(HttpStatusCode.Redirect, (await bob.GetAsync("/")).Status);
        Assert.Equal(HttpStatusCode.SeeOther, (await bob.LoginAsync("bob@example.com", "bob's second password")).Status);

        // Disable: signed out and cannot sign in; the message is the wrong-password one, so it does not confirm the password.
        Assert.Equal(HttpStatusCode.SeeOther, (await admin.SubmitAsync(bobPage, new() { ["role"] = "admin", ["disabled"] = "true" }, action: bobPage + "?handler=Access")).Status);
        Assert.Equal(HttpStatusCode.Redirect, (await bob.GetAsync("/")).Status);
        var refused = await bob.LoginAsync("bob@example.com", "bob's second password");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.Status);
        Assert.Equal("Wrong email or password.", refused.Text(".alert.error"));
    }

    [Fact]
    public async Task The_last_admin_cannot_be_demoted_or_disabled()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        var page = await admin.SubmitAsync("/users/1", new() { ["role"] = "member" }, action: "/users/1?handler=Access");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, page.Status);
        Assert.Contains("last enabled admin", page.Text(".field-error"));
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/users")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/users/999")).Status);
    }

    static async Task AssertOnlyTheAdminExists(PanelProcess panel)
    {
        var r = await PanelCli.RunAsync(["user", "list", "--data-dir", panel.DataDir]);
        Assert.Equal(0, r.ExitCode);
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.Contains(PanelSetup.AdminEmail, lines[0]);
    }
}
