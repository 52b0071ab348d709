using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Cli;

public sealed class HelpCliTests : IDisposable
{
    readonly string _dir = Paths.NewTempDir();

    public static TheoryData<string> Commands() =>
    [
        "", "user", "user add", "user list", "user reset-password", "user disable", "token", "token create", "token list",
        "token revoke", "projects", "projects list", "volumes", "volumes list", "volumes set", "volumes backup", "volumes restore", "deploy", "logs", "config", "backup", "restore", "caddyfile", "version",
    ];

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task Every_command_answers_help_on_stdout_with_exit_0_and_help_COMMAND_says_the_same(string command)
    {
        var words = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var help = await PanelCli.RunAsync([.. words, "--help"]);
        Assert.True(help.ExitCode == 0, help.Stderr);
        Assert.Contains("Usage:", help.Stdout);
        Assert.Contains($"vpspanel {command}".Trim(), help.Stdout);
        Assert.Equal("", help.Stderr);

        var spelled = await PanelCli.RunAsync(["help", .. words]);
        Assert.True(spelled.ExitCode == 0, spelled.Stderr);
        Assert.Equal(help.Stdout, spelled.Stdout);
    }

    /// <summary>A typo is an error on stderr, not a panel quietly started on the data dir.</summary>
    [Fact]
    public async Task An_unknown_command_fails_on_stderr_and_starts_no_panel()
    {
        var typo = await PanelCli.RunAsync(["usr", "list", "--data-dir", _dir]);
        Assert.NotEqual(0, typo.ExitCode);
        Assert.Contains("Unrecognized command or argument 'usr'", typo.Stderr);
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }

    public void Dispose() => Paths.DeleteQuietly(_dir);
}
