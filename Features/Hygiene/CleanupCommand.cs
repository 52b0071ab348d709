using System.CommandLine;
using VpsPanel.Features.Cli;

namespace VpsPanel.Features.Hygiene;

/// <summary>`vpspanel cleanup`: the disk cleanup, run by the running panel (POST /api/system/cleanup, an admin's token).</summary>
public static class CleanupCommand
{
    public static Command Build()
    {
        var cmd = new Command("cleanup", "Run the disk cleanup now through the running panel (admins) and print what was reclaimed");
        PanelApiClient.AddOptions(cmd);
        cmd.SetAction(async p =>
        {
            using var api = PanelApiClient.From(p);
            var r = await api.GetJsonAsync(HttpMethod.Post, "api/system/cleanup");
            Console.WriteLine((string?)r["summary"]);
            foreach (var image in r["removedImages"]?.AsArray() ?? []) Console.WriteLine($"removed {(string?)image}");
            foreach (var note in r["notes"]?.AsArray() ?? []) await Console.Error.WriteLineAsync((string?)note);
            return 0;
        });
        return cmd;
    }
}
