using VpsPanel.Features;
using VpsPanel.Features.Cli;
using VpsPanel.Features.Settings;

// The panel runs on Linux only (unix sockets, file modes, Docker, Caddy).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

// One binary: a known command word runs the CLI; anything else (no arguments, or
// configuration switches such as --Panel:DataDir=/x) serves the panel.
if (args.Length > 0 && CliApp.IsCommand(args[0]))
    return await CliApp.RunAsync(args);

// Before the server starts its threads: how much freed native memory they may keep (Shared/RuntimeKnobs).
VpsPanel.Features.Shared.RuntimeKnobs.LimitMallocArenas();

try
{
    var app = PanelApp.Build(args);
    await app.RunAsync();
    return 0;
}
catch (SettingsException e)
{
    Console.Error.WriteLine($"vpspanel: {e.Message}");
    return 2;
}
catch (StartupException e)
{
    Console.Error.WriteLine($"vpspanel: {e.Message}");
    return 3;
}

public partial class Program;
