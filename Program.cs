using VpsPanel.Features;
using VpsPanel.Features.Cli;
using VpsPanel.Features.Settings;

// The panel runs on Linux only (unix sockets, file modes, Docker, Caddy).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

// The one top-level handler: every fatal error, of the server or of a CLI command, ends here as ONE line on stderr
// and an exit code from ExitCodes (README "Exit codes"). Never a stack trace (an unhandled exception used to abort
// with exit 134 and 32 lines), never exit 0 for a failure (systemd's Restart=on-failure must see it).
try
{
    // One binary: a known command word runs the CLI; anything else (no arguments, or
    // configuration switches such as --Panel:DataDir=/x) serves the panel.
    if (args.Length > 0 && CliApp.IsCommand(args[0]))
        return await CliApp.RunAsync(args);

    // Before the server starts its threads: how much freed native memory they may keep (Shared/RuntimeKnobs).
    VpsPanel.Features.Shared.RuntimeKnobs.LimitMallocArenas();
    await using var app = PanelApp.Build(args);
    await PanelApp.StartAsync(app);
    await app.WaitForShutdownAsync();
    // The host stops itself when a background service throws, and then returns as if asked to stop: say which
    // part failed and exit non-zero, or the failure looks like a clean shutdown.
    if (PanelApp.FailedPart(app) is { } failed)
    {
        Console.Error.WriteLine($"vpspanel: the panel stopped because {failed}");
        return ExitCodes.StoppedByError;
    }
    return 0;
}
catch (Exception e)
{
    var (code, message) = Describe(e);
    Console.Error.WriteLine($"vpspanel: {message}");
    return code;
}

static (int Code, string Message) Describe(Exception e) => e switch
{
    AggregateException { InnerExceptions.Count: 1 } a => Describe(a.InnerExceptions[0]),
    // SettingsException lists every bad key on its own line; one line keeps them together for journalctl and scripts.
    SettingsException s => (ExitCodes.BadSetting, s.Message.Replace(":\n  ", ": ").Replace("\n  ", "; ")),
    StartupException s => (s.ExitCode, s.Message),
    CliException c => (c.ExitCode, c.Message),
    // A bug: the type says where to look; the message what happened.
    _ => (ExitCodes.Failed, $"unexpected error ({e.GetType().Name}): {e.Message.ReplaceLineEndings(" ")}"),
};

public partial class Program;
