using System.CommandLine;
using System.Text.Json.Nodes;
using VpsPanel.Features.Cli;

namespace VpsPanel.Features.Running;

/// <summary>
/// `vpspanel projects start|stop|restart|state|events SLUG`: the project page's running-app controls, through the
/// running panel's API (the panel does the work and keeps the stop in its database). A refusal (never deployed, a
/// static site) is the panel's message on stderr and exit 1.
/// </summary>
public static class RunningCommands
{
    public static IEnumerable<Command> Build()
    {
        foreach (var action in AppPower.Actions)
        {
            var slug = Slug();
            var cmd = new Command(action, action switch
            {
                "start" => "Start a project's stopped app (no rebuild) through the running panel",
                "stop" => "Stop a project's app through the running panel; self-healing leaves it stopped until start, restart or a deploy",
                _ => "Restart a project's app (no rebuild) through the running panel",
            }) { slug };
            PanelApiClient.AddOptions(cmd);
            cmd.SetAction(async p =>
            {
                using var api = PanelApiClient.From(p);
                var state = await api.GetJsonAsync(HttpMethod.Post, $"api/projects/{Uri.EscapeDataString(p.GetValue(slug)!)}/{action}", "{}");
                Console.WriteLine($"{p.GetValue(slug)}: {state["state"]} ({state["description"]})");
                return 0;
            });
            yield return cmd;
        }

        var stateSlug = Slug();
        var stateCmd = new Command("state", "Print what a project's app is doing, from the engine: state, description, restarts (tab-separated)") { stateSlug };
        PanelApiClient.AddOptions(stateCmd);
        stateCmd.SetAction(async p =>
        {
            using var api = PanelApiClient.From(p);
            var s = await api.GetJsonAsync(HttpMethod.Get, $"api/projects/{Uri.EscapeDataString(p.GetValue(stateSlug)!)}/state");
            Console.WriteLine($"{s["state"]}\t{s["description"]}\t{s["restartCount"]}");
            if ((bool?)s["crashLooping"] == true && s["lastLogLines"] is JsonArray lines)
                foreach (var l in lines) Console.WriteLine($"  | {l}");
            return 0;
        });
        yield return stateCmd;

        var eventsSlug = Slug();
        var eventsCmd = new Command("events", "Print a project's events, newest first (time, kind, by, message; tab-separated)") { eventsSlug };
        PanelApiClient.AddOptions(eventsCmd);
        eventsCmd.SetAction(async p =>
        {
            using var api = PanelApiClient.From(p);
            var list = await api.GetJsonAsync(HttpMethod.Get, $"api/projects/{Uri.EscapeDataString(p.GetValue(eventsSlug)!)}/events");
            foreach (var e in list.AsArray())
                Console.WriteLine($"{e!["at"]}\t{e["kind"]}\t{(string?)e["actor"] ?? "self-healing"}\t{e["message"]}");
            return 0;
        });
        yield return eventsCmd;
    }

    static Argument<string> Slug() => new("SLUG") { Description = "The project's short name (see `vpspanel projects list`)" };
}
