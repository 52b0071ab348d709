using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Cli;

public sealed class UserCliTests : IDisposable
{
    readonly string _dir = Paths.NewTempDir();
    string[] D => ["--data-dir", _dir];

    Task<CliResult> Run(string[] args, string? stdin = null) => PanelCli.RunAsync([.. args, .. D], stdin);

    [Fact]
    public async Task User_add_list_reset_password_and_disable_work_and_fail_clearly()
    {
        var add = await Run(["user", "add", "--email", "root@example.com", "--admin"], "first password 123\n");
        Assert.Equal(0, add.ExitCode);
        Assert.Contains("added root@example.com (admin)", add.Stdout);

        var dup = await Run(["user", "add", "--email", "ROOT@example.com"], "first password 123\n");
        Assert.Equal(1, dup.ExitCode);
        Assert.Contains("already exists", dup.Stderr);

        var weak = await Run(["user", "add", "--email", "m@example.com"], "short\n");
        Assert.Equal(1, weak.ExitCode);
        Assert.Contains("at least 12 characters", weak.Stderr);

        var bad = await Run(["user", "add", "--email", "not an email"], "first password 123\n");
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("valid email", bad.Stderr);

        Assert.Equal(0, (await Run(["user", "add", "--email", "m@example.com"], "member password 1\n")).ExitCode);
        var list = await Run(["user", "list"]);
        Assert.Equal(0, list.ExitCode);
        Assert.Matches(@"root@example\.com\tadmin\tactive", list.Stdout);
        Assert.Matches(@"m@example\.com\tmember\tactive", list.Stdout);

        Assert.Equal(0, (await Run(["user", "reset-password", "--email", "m@example.com"], "member password 2\n")).ExitCode);
        var missing = await Run(["user", "reset-password", "--email", "ghost@example.com"], "member password 2\n");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("no user with the email ghost@example.com", missing.Stderr);

        Assert.Equal(0, (await Run(["user", "disable", "--email", "m@example.com"])).ExitCode);
        Assert.Matches(@"m@example\.com\tmember\tdisabled", (await Run(["user", "list"])).Stdout);
        var lastAdmin = await Run(["user", "disable", "--email", "root@example.com"]);
        Assert.Equal(1, lastAdmin.ExitCode);
        Assert.Contains("last enabled admin", lastAdmin.Stderr);

        // The reset password is the one that works in the panel.
        await using var panel = await PanelProcess.StartAsync(dataDir: _dir);
        using var client = new PanelClient(panel);
        Assert.Equal(System.Net.HttpStatusCode.SeeOther, (await client.LoginAsync("root@example.com", "first password 123")).Status);
    }

    [Fact]
    public async Task Usage_errors_and_help_and_version()
    {
        var noEmail = await Run(["user", "add"]);
        Assert.NotEqual(0, noEmail.ExitCode);
        Assert.Contains("--email", noEmail.Stderr);

        var help = await PanelCli.RunAsync(["--help"]);
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("user", help.Stdout);
        Assert.Contains("config", help.Stdout);

        var userHelp = await PanelCli.RunAsync(["user", "add", "--help"]);
        Assert.Equal(0, userHelp.ExitCode);
        Assert.Contains("stdin", userHelp.Stdout);

        var version = await PanelCli.RunAsync(["version"]);
        Assert.Equal(0, version.ExitCode);
        Assert.StartsWith("vpspanel ", version.Stdout);
    }

    public void Dispose() => Paths.DeleteQuietly(_dir);
}
