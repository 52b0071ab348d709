using System.CommandLine;
using System.Reflection;
using VpsPanel.Features.Backups;
using VpsPanel.Features.Data;
using VpsPanel.Features.Settings;
using VpsPanel.Features.Users;

namespace VpsPanel.Features.Cli;

/// <summary>A CLI failure with a message for stderr and the exit code to leave with.</summary>
public sealed class CliException(string message, int exitCode = 1) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>
/// The command-line half of the binary. Local commands (user, config) work on the data dir directly, with the
/// same settings the panel reads (appsettings, environment, and --data-dir here).
/// </summary>
public static class CliApp
{
    static readonly string[] Commands = ["user", "token", "projects", "volumes", "services", "notify", "settings", "servers", "deploy", "logs", "config", "backup", "restore", "caddyfile", "build-cgroup", "cleanup", "upgrade", "version", "help", "--help", "-h", "-?", "--version"];

    /// <summary>
    /// Whether the arguments are for the CLI rather than the server. Anything that is not a switch (`--urls …`) or a
    /// configuration value (`Panel:DataDir=/x`) is a command, known or not: a mistyped `vpspanel usr list` must
    /// fail with a message, not quietly start a second panel.
    /// </summary>
    public static bool IsCommand(string word) => Commands.Contains(word) || (!word.StartsWith('-') && !word.Contains('='));

    /// <summary>Global: where the data dir is, overriding Panel:DataDir.</summary>
    public static readonly Option<string?> DataDir = new("--data-dir") { Description = "The panel's data directory (default: Panel:DataDir, ./data)", Recursive = true };

    public static string Version =>
        (typeof(CliApp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0").Split('+')[0];

    public static async Task<int> RunAsync(string[] args)
    {
        // `vpspanel help [COMMAND…]` is what people type first; it means `vpspanel [COMMAND…] --help`.
        if (args is ["help", .. var rest]) args = [.. rest, "--help"];
        var root = new RootCommand("VpsPanel: a self-hosted deployment panel. Run with no command to serve the panel.");
        root.Options.Add(DataDir);
        root.Subcommands.Add(UserCommands.Build());
        root.Subcommands.Add(Tokens.TokenCommands.Build());
        root.Subcommands.Add(Projects.ProjectCommands.Build());
        root.Subcommands.Add(Services.ServiceCommands.Build());
        root.Subcommands.Add(Notifications.NotifyCommands.Build());
        root.Subcommands.Add(SettingsCommands.Build());
        root.Subcommands.Add(Volumes.VolumeCommands.Build());
        root.Subcommands.Add(Servers.ServerCommands.Build());
        root.Subcommands.Add(Deployments.DeployCommands.Deploy());
        root.Subcommands.Add(Deployments.DeployCommands.Logs());
        root.Subcommands.Add(ConfigCommand());
        root.Subcommands.Add(BackupCommands.Backup());
        root.Subcommands.Add(BackupCommands.Restore());
        root.Subcommands.Add(Caddy.CaddyfileCommand.Build());
        root.Subcommands.Add(Docker.BuildCgroupCommand.Build());
        root.Subcommands.Add(Hygiene.CleanupCommand.Build());
        root.Subcommands.Add(Upgrades.UpgradeCommand.Build());
        var version = new Command("version", "Print the version");
        version.SetAction(_ => { Console.WriteLine($"vpspanel {Version}"); return 0; });
        root.Subcommands.Add(version);
        try
        {
            // Our own handler below prints CliException messages plainly; System.CommandLine's would print a stack trace.
            return await root.Parse(args).InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (CliException e)
        {
            await Console.Error.WriteLineAsync($"vpspanel: {e.Message}");
            return e.ExitCode;
        }
    }

    static Command ConfigCommand()
    {
        var cmd = new Command("config", "Print the effective settings (secrets masked) and where they come from");
        cmd.SetAction(p =>
        {
            Console.Write(LoadSettings(p).Describe());
            return 0;
        });
        return cmd;
    }

    /// <summary>The panel's settings as the CLI sees them; a bad setting becomes a CLI error.</summary>
    public static PanelSettings LoadSettings(ParseResult p)
    {
        var extra = p.GetValue(DataDir) is { } dir ? new[] { $"--Panel:DataDir={dir}" } : [];
        try { return PanelSettings.Load(PanelSettings.BuildConfiguration(extra)); }
        catch (SettingsException e) { throw new CliException(e.Message, 2); }
    }

    /// <summary>
    /// Opens the database, migrating it first (the CLI may run before the panel ever has); the data dir must exist
    /// (a StartupException, printed by Program.cs, otherwise). A panel may be running on
    /// the same file: the CLI's connections never checkpoint on close (see Db.NeverCheckpointOnClose, and its limits);
    /// the panel checkpoints them itself. Commands that only read use Db.OpenReadOnly.
    /// </summary>
    public static Db OpenDb(ParseResult p)
    {
        var settings = LoadSettings(p);
        DataDirCheck.ForCli(settings);
        Db.Prepare(settings, neverCheckpointOnClose: true);
        return new Db(settings) { NeverCheckpointOnClose = true };
    }
}
