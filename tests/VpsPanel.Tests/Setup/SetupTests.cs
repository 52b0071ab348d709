using System.Net;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Setup;

public sealed class SetupTests
{
    const string Email = "first@example.com";
    const string Password = "a long enough password";

    static Dictionary<string, string> Form(string? token) => new()
    {
        ["token"] = token ?? "",
        ["email"] = Email,
        ["password"] = Password,
    };

    [Fact]
    public async Task Setup_needs_the_token_from_the_log_and_file_and_is_gone_afterwards()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var client = new PanelClient(panel);

        // The token is in the log and in a 0600 file.
        var tokenFile = Path.Combine(panel.DataDir, "setup-token");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(tokenFile));
        Assert.Contains(panel.SetupToken, panel.Log);

        // Signed-out visitors are sent to /setup while no user exists.
        var login = await client.GetAsync("/login");
        Assert.Equal(HttpStatusCode.Redirect, login.Status);
        Assert.Equal("/setup", login.Response.Headers.Location!.OriginalString);

        // Without the token, and with a wrong one: 422, a message next to the field, nobody created.
        foreach (var token in new[] { null, "wrong-token-0123456789" })
        {
            var page = await client.SubmitAsync("/setup", Form(token));
            Assert.Equal(HttpStatusCode.UnprocessableEntity, page.Status);
            Assert.Contains("not the setup token", page.Text(".field-error"));
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/setup")).Status);
        }

        // With the right token: the admin exists and is signed in.
        var ok = await client.SubmitAsync("/setup", Form(panel.SetupToken));
        Assert.Equal(HttpStatusCode.SeeOther, ok.Status);
        var dashboard = await client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, dashboard.Status);
        Assert.Contains(Email, dashboard.Text(".who"));

        // /setup is gone, for everyone, and so is the token file.
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/setup")).Status);
        using var stranger = new PanelClient(panel);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync("/setup")).Status);
        Assert.False(File.Exists(tokenFile));
    }

    [Fact]
    public async Task A_restarted_panel_with_no_user_makes_a_new_token_and_the_old_one_stops_working()
    {
        await using var first = await PanelProcess.StartAsync();
        var oldToken = first.SetupToken;
        var dataDir = first.DataDir;
        await first.StopAsync();
        await using var second = await PanelProcess.StartAsync(dataDir: dataDir);
        Assert.NotEqual(oldToken, second.SetupToken);
        using var client = new PanelClient(second);
        var page = await client.SubmitAsync("/setup", Form(oldToken));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, page.Status);
        Paths.DeleteQuietly(dataDir);
    }

    [Fact]
    public async Task A_user_added_from_the_CLI_closes_setup()
    {
        await using var panel = await PanelProcess.StartAsync();
        var r = await PanelCli.RunAsync(["user", "add", "--email", "cli@example.com", "--admin", "--data-dir", panel.DataDir], stdin: Password + "\n");
        Assert.Equal(0, r.ExitCode);
        using var client = new PanelClient(panel);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/setup")).Status);
        Assert.False(File.Exists(Path.Combine(panel.DataDir, "setup-token")));
        var login = await client.LoginAsync("cli@example.com", Password);
        Assert.Equal(HttpStatusCode.SeeOther, login.Status);
    }
}
