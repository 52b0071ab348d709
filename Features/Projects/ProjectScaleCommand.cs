using System.CommandLine;
using System.Text.Json.Nodes;
using VpsPanel.Features.Cli;

namespace VpsPanel.Features.Projects;

/// <summary>
/// `vpspanel projects scale SLUG N`: sets a project's replicas through the running panel (PATCH /api/projects/{slug}),
/// which starts or stops them on the live deployment at once. The count is sent as typed, so the API's rule and
/// message are the only ones: a bad count is its 422 on stderr with a non-zero exit.
/// </summary>
public static class ProjectScaleCommand
{
    public static Command Build()
    {
        var slug = new Argument<string>("SLUG") { Description = "The project's short name (see `vpspanel projects list`)" };
        var count = new Argument<string>("REPLICAS") { Description = $"How many containers of the live version to run, {Deployments.ReplicaSet.Min} to {Deployments.ReplicaSet.Max}" };
        var cmd = new Command("scale", "Set a project's replicas (admins); applied to the live deployment at once") { slug, count };
        PanelApiClient.AddOptions(cmd);
        cmd.SetAction(async p =>
        {
            using var api = PanelApiClient.From(p);
            var raw = p.GetValue(count)!.Trim();
            JsonNode value = long.TryParse(raw, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var n) ? JsonValue.Create(n) : JsonValue.Create(raw);
            var body = new JsonObject { ["replicas"] = value };
            var project = await api.GetJsonAsync(HttpMethod.Patch, $"api/projects/{Uri.EscapeDataString(p.GetValue(slug)!)}", body.ToJsonString());
            Console.WriteLine($"{project["slug"]}: {project["replicas"]} replica(s)");
            return 0;
        });
        return cmd;
    }
}
