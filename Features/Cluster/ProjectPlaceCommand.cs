using System.CommandLine;
using System.Text.Json.Nodes;
using VpsPanel.Features.Cli;

namespace VpsPanel.Features.Cluster;

/// <summary>
/// `vpspanel projects place SLUG TARGET [--placement P]`: where a project runs, through the running panel (PATCH
/// /api/projects/{slug} with target and placement), from its next deploy. The values go as typed, so the API's rules
/// and messages are the only ones: a refusal (no such label, not a manager, …) is its 422 on stderr with a non-zero exit.
/// </summary>
public static class ProjectPlaceCommand
{
    public static Command Build()
    {
        var slug = new Argument<string>("SLUG") { Description = "The project's short name (see `vpspanel projects list`)" };
        var target = new Argument<string>("TARGET") { Description = "server (this server's containers) or cluster (a Swarm service on the cluster's servers)" };
        var placement = new Option<string?>("--placement") { Description = "For the cluster: any, spread (one task per server), label:KEY=VALUE or node:HOSTNAME (default: keep)" };
        var cmd = new Command("place", "Choose where a project runs (admins); used from its next deploy") { slug, target, placement };
        PanelApiClient.AddOptions(cmd);
        cmd.SetAction(async p =>
        {
            using var api = PanelApiClient.From(p);
            var body = new JsonObject { ["target"] = p.GetValue(target) };
            if (p.GetValue(placement) is { } pl) body["placement"] = pl;
            var project = await api.GetJsonAsync(HttpMethod.Patch, $"api/projects/{Uri.EscapeDataString(p.GetValue(slug)!)}", body.ToJsonString());
            Console.WriteLine($"{project["slug"]}: runs on the {project["target"]}{((string?)project["target"] == "cluster" ? $", placement {project["placement"]}" : "")} from its next deploy");
            return 0;
        });
        return cmd;
    }
}
