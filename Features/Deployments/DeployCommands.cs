using System.CommandLine;
using System.Text.Json.Nodes;
using VpsPanel.Features.Cli;

namespace VpsPanel.Features.Deployments;

/// <summary>
/// `vpspanel deploy SLUG [--follow]` and `vpspanel logs DEPLOYMENT [--follow]`: they talk to the running panel over
/// its API (the panel's worker runs deploys; the CLI never builds anything itself).
/// </summary>
public static class DeployCommands
{
    public static Command Deploy()
    {
        var slug = new Argument<string>("SLUG") { Description = "The project's short name (see `vpspanel projects list`)" };
        var commit = new Option<string?>("--commit") { Description = "Deploy this exact commit (40-character SHA) instead of the branch head" };
        var follow = new Option<bool>("--follow", "-f") { Description = "Stream the log until the deployment ends; exit 0 only if it goes live" };
        var env = new Option<string?>("--env", "-e") { Description = "The project's environment to deploy, like staging (default: production)" };
        var cmd = new Command("deploy", "Queue a deployment of a project through the running panel and print its id") { slug, commit, follow, env };
        PanelApiClient.AddOptions(cmd);
        cmd.SetAction(async p =>
        {
            using var api = PanelApiClient.From(p);
            var body = new JsonObject();
            if (p.GetValue(commit) is { } sha) body["commit"] = sha;
            if (p.GetValue(env) is { } environment) body["environment"] = environment;
            var d = await api.GetJsonAsync(HttpMethod.Post, $"api/projects/{Uri.EscapeDataString(p.GetValue(slug)!)}/deployments", body.ToJsonString());
            var id = (long)d["id"]!;
            if (!p.GetValue(follow))
            {
                Console.WriteLine(id);
                return 0;
            }
            await Console.Error.WriteLineAsync($"deployment {id} of {d["project"]} queued; following its log");
            return await FollowToEndAsync(api, id);
        });
        return cmd;
    }

    public static Command Logs()
    {
        var id = new Argument<long>("DEPLOYMENT") { Description = "The deployment's id (printed by `vpspanel deploy`)" };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep streaming new lines until the deployment ends; exit 0 only if it goes live" };
        var cmd = new Command("logs", "Print a deployment's log from the running panel") { id, follow };
        PanelApiClient.AddOptions(cmd);
        cmd.SetAction(async p =>
        {
            using var api = PanelApiClient.From(p);
            if (p.GetValue(follow)) return await FollowToEndAsync(api, p.GetValue(id));
            using var res = await api.SendAsync(HttpMethod.Get, $"api/deployments/{p.GetValue(id)}/log");
            Console.Write(await res.Content.ReadAsStringAsync());
            return 0;
        });
        return cmd;
    }

    /// <summary>Streams the log; then 0 if the deployment is live, else its end and error on stderr and exit 1.</summary>
    static async Task<int> FollowToEndAsync(PanelApiClient api, long id)
    {
        var status = await api.FollowLogAsync(id);
        if (status == DeployStates.Live) return 0;
        var d = await api.GetJsonAsync(HttpMethod.Get, $"api/deployments/{id}");
        var at = (string?)d["step"] is { } step ? $" at {DeployStates.Label(step)}" : "";
        throw new CliException($"deployment {id} ended {d["status"]}{at}{((string?)d["error"] is { } e ? ": " + e : "")}");
    }
}
