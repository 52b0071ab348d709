using System.CommandLine;
using System.Text.Json.Nodes;
using VpsPanel.Features.Cli;

namespace VpsPanel.Features.Notifications;

/// <summary>
/// `vpspanel notify project|subscribe|unsubscribe SLUG …`: a project's subscriptions through
/// /api/projects/{slug}/notifications (its owner or an admin). The API replaces the whole set, so subscribe and
/// unsubscribe read it, change one channel, and send it back.
/// </summary>
public static class NotifyProjectCommands
{
    public static void AddTo(Command notify)
    {
        var slug = new Argument<string>("SLUG") { Description = "The project's short name" };
        var channel = new Argument<long>("CHANNEL") { Description = "The channel's id (see `vpspanel notify project SLUG`)" };
        var events = new Option<string?>("--events") { Description = "Comma-separated events this project wants from the channel (deployment.failed always goes); left out: every event the channel takes" };

        notify.Subcommands.Add(Services.ServiceCommands.Api(new Command("project", "The channels that hear about a project or are open to it: id, type, name, access, subscribed, events (tab-separated)") { slug },
            async (api, p) =>
            {
                Print(await api.GetJsonAsync(HttpMethod.Get, $"api/projects/{Uri.EscapeDataString(p.GetValue(slug)!)}/notifications"));
                return 0;
            }));
        notify.Subcommands.Add(Services.ServiceCommands.Api(new Command("subscribe", "Subscribe a project to a channel, or change which of its events it sends") { slug, channel, events },
            async (api, p) =>
            {
                var chosen = p.GetValue(events) is { } list ? new JsonArray(list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(e => (JsonNode)e!).ToArray()) : null;
                return await ChangeAsync(api, p.GetValue(slug)!, p.GetValue(channel), new JsonObject { ["channel"] = p.GetValue(channel), ["events"] = chosen });
            }));
        notify.Subcommands.Add(Services.ServiceCommands.Api(new Command("unsubscribe", "Take a project off a channel it joined (one an admin set for it can only be narrowed: subscribe --events \"\")") { slug, channel },
            async (api, p) => await ChangeAsync(api, p.GetValue(slug)!, p.GetValue(channel), null)));
    }

    static async Task<int> ChangeAsync(PanelApiClient api, string slug, long channel, JsonObject? entry)
    {
        var path = $"api/projects/{Uri.EscapeDataString(slug)}/notifications";
        var current = (await api.GetJsonAsync(HttpMethod.Get, path))["channels"]!.AsArray();
        if (entry is null && current.FirstOrDefault(c => (long)c!["id"]! == channel) is { } ch && (string?)ch["access"] != NotifySubscriptions.Open)
            throw new CliException($"an admin set channel {channel} for this project, so it cannot be left; narrow it to failures with `vpspanel notify subscribe {slug} {channel} --events \"\"`");
        // The set as it stands: joined open channels, and narrowed ones; the changed channel replaced or left out.
        var set = new JsonArray();
        foreach (var c in current.Where(c => (long)c!["id"]! != channel && (bool)c!["subscribed"]! && ((string?)c["access"] == NotifySubscriptions.Open || c["chosen"] is not null)))
            set.Add(new JsonObject { ["channel"] = (long)c!["id"]!, ["events"] = c["chosen"]?.DeepClone() });
        if (entry is not null) set.Add(entry);
        Print(await api.GetJsonAsync(HttpMethod.Put, path, new JsonObject { ["subscriptions"] = set }.ToJsonString()));
        return 0;
    }

    static void Print(JsonNode answer)
    {
        foreach (var c in answer["channels"]!.AsArray())
            Console.WriteLine($"{c!["id"]}\t{c["type"]}\t{c["name"]}\t{c["access"]}\t{((bool)c["subscribed"]! ? "subscribed" : "not subscribed")}\t{string.Join(",", c["events"]!.AsArray().Select(e => (string?)e))}");
    }
}
