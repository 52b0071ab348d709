using System.CommandLine;

namespace VpsPanel.Features.Notifications;

/// <summary>
/// `vpspanel notify list|test|deliveries`: the /api/notification-channels routes through the running panel (it owns
/// the queue and the worker). Admin tokens only; errors are the API's words on stderr with a non-zero exit.
/// </summary>
public static class NotifyCommands
{
    public static Command Build()
    {
        var notify = new Command("notify", "Notification channels through the running panel (admins)");
        var id = new Argument<long>("ID") { Description = "The channel's id (see `vpspanel notify list`)" };

        var list = Services.ServiceCommands.Api(new Command("list", "List channels: id, type, name, events (tab-separated); secrets never shown"), async (api, _) =>
        {
            foreach (var ch in (await api.GetJsonAsync(HttpMethod.Get, "api/notification-channels")).AsArray())
                Console.WriteLine($"{ch!["id"]}\t{ch["type"]}\t{ch["name"]}\t{string.Join(",", ch["events"]!.AsArray().Select(e => (string?)e))}");
            return 0;
        });
        var test = Services.ServiceCommands.Api(new Command("test", "Queue a test message to a channel; `vpspanel notify deliveries ID` shows how it went") { id }, async (api, p) =>
        {
            var r = await api.GetJsonAsync(HttpMethod.Post, $"api/notification-channels/{p.GetValue(id)}/test", "{}");
            Console.WriteLine($"test message {r["messageId"]} queued");
            return 0;
        });
        var deliveries = Services.ServiceCommands.Api(new Command("deliveries", "The channel's delivery log, newest first: time, event, attempt, ok/failed, answer (tab-separated)") { id }, async (api, p) =>
        {
            var r = await api.GetJsonAsync(HttpMethod.Get, $"api/notification-channels/{p.GetValue(id)}/deliveries");
            foreach (var d in r["deliveries"]!.AsArray())
                Console.WriteLine($"{d!["at"]}\t{d["event"]}\t{d["attempt"]}\t{((bool)d["ok"]! ? "ok" : "failed")}\t{d["detail"]}");
            return 0;
        });
        notify.Subcommands.Add(list);
        notify.Subcommands.Add(test);
        notify.Subcommands.Add(deliveries);
        NotifyProjectCommands.AddTo(notify);
        return notify;
    }
}
