using System.CommandLine;
using System.Text.Json.Nodes;
using VpsPanel.Features.Cli;

namespace VpsPanel.Features.Projects;

/// <summary>
/// `vpspanel projects environments SLUG`, `projects add-environment SLUG NAME BRANCH` and
/// `projects promote SLUG --from staging [--to production]`, through the running panel's API (EnvironmentApi): its
/// rules and messages are the only ones, a refusal is its message on stderr with a non-zero exit.
/// </summary>
public static class EnvironmentCommands
{
    static Argument<string> Slug() => new("SLUG") { Description = "The project's short name (see `vpspanel projects list`)" };

    public static IEnumerable<Command> Build()
    {
        var slug = Slug();
        var list = new Command("environments", "List a project's environments: name, short name, branch, live deployment and commit (tab-separated)") { slug };
        PanelApiClient.AddOptions(list);
        list.SetAction(async p =>
        {
            using var api = PanelApiClient.From(p);
            var envs = (await api.GetJsonAsync(HttpMethod.Get, $"api/projects/{Uri.EscapeDataString(p.GetValue(slug)!)}/environments")).AsArray();
            foreach (var e in envs)
                Console.WriteLine($"{e!["name"]}\t{e["slug"]}\t{e["branch"]}\t{(e["liveDeploymentId"] is { } l ? "#" + l : "nothing live")}\t{e["liveCommit"]}");
            return 0;
        });
        yield return list;

        var addSlug = Slug();
        var name = new Argument<string>("NAME") { Description = "The environment's name, like staging" };
        var branch = new Argument<string>("BRANCH") { Description = "The branch it deploys, like develop" };
        var add = new Command("add-environment", "Add an environment to a project; pushes to its branch deploy it") { addSlug, name, branch };
        PanelApiClient.AddOptions(add);
        add.SetAction(async p =>
        {
            using var api = PanelApiClient.From(p);
            var body = new JsonObject { ["name"] = p.GetValue(name), ["branch"] = p.GetValue(branch) };
            var e = await api.GetJsonAsync(HttpMethod.Post, $"api/projects/{Uri.EscapeDataString(p.GetValue(addSlug)!)}/environments", body.ToJsonString());
            Console.WriteLine($"{e["name"]}\t{e["slug"]}\t{e["branch"]}");
            return 0;
        });
        yield return add;

        var promoteSlug = Slug();
        var from = new Option<string>("--from") { Description = "The environment whose live image to promote, like staging", Required = true };
        var to = new Option<string>("--to") { Description = "The environment to start it in (default: production)", DefaultValueFactory = _ => ProjectEnvironments.Production };
        var promote = new Command("promote", "Start one environment's live image in another: no build, the target's variables; prints the deployment id") { promoteSlug, from, to };
        PanelApiClient.AddOptions(promote);
        promote.SetAction(async p =>
        {
            using var api = PanelApiClient.From(p);
            var body = new JsonObject { ["from"] = p.GetValue(from) };
            var d = await api.GetJsonAsync(HttpMethod.Post,
                $"api/projects/{Uri.EscapeDataString(p.GetValue(promoteSlug)!)}/environments/{Uri.EscapeDataString(p.GetValue(to)!)}/promote", body.ToJsonString());
            Console.WriteLine(d["id"]);
            return 0;
        });
        yield return promote;
    }
}
