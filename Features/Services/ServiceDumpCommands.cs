using System.CommandLine;
using System.Text.Json.Nodes;
using VpsPanel.Features.Cli;
using static VpsPanel.Features.Services.ServiceCommands;

namespace VpsPanel.Features.Services;

/// <summary>`vpspanel services dump|dumps|download|restore|dump-schedule`: the /api/services/{name}/dumps routes.</summary>
public static class ServiceDumpCommands
{
    public static void AddTo(Command services, Argument<string> name)
    {
        var wait = new Option<bool>("--wait") { Description = "Wait until the dump ended; exit 1 when it failed" };
        services.Subcommands.Add(ServiceCommands.Api(new Command("dump", "Make a dump of a service now and print its id") { name, wait }, async (api, p) =>
        {
            var id = (long)(await api.GetJsonAsync(HttpMethod.Post, Path(p, name) + "/dumps"))["id"]!;
            if (!p.GetValue(wait)) { Console.WriteLine(id); return 0; }
            while (true)
            {
                var d = (await api.GetJsonAsync(HttpMethod.Get, Path(p, name) + "/dumps")).AsArray().FirstOrDefault(x => (long)x!["id"]! == id);
                if (d is null || (string?)d["status"] != "running")
                {
                    if ((string?)d?["status"] == "ok") { Console.WriteLine($"{id}\t{d!["file"]}\t{d["sizeBytes"]}"); return 0; }
                    Console.Error.WriteLine($"dump {id} failed: {d?["error"]}");
                    return 1;
                }
                await Task.Delay(1000);
            }
        }));

        services.Subcommands.Add(ServiceCommands.Api(new Command("dumps", "List a service's dumps: id, status, started, size, file or error (tab-separated)") { name }, async (api, p) =>
        {
            foreach (var d in (await api.GetJsonAsync(HttpMethod.Get, Path(p, name) + "/dumps")).AsArray())
                Console.WriteLine($"{d!["id"]}\t{d["status"]}\t{d["startedAt"]}\t{d["sizeBytes"]}\t{d["file"] ?? d["error"]}");
            return 0;
        }));

        var id = new Argument<long>("ID") { Description = "The dump's id (see `services dumps`)" };
        var output = new Option<string?>("--output", "-o") { Description = "Where to write it (default: <name>-<file> in the current directory)" };
        services.Subcommands.Add(ServiceCommands.Api(new Command("download", "Download a dump's file") { name, id, output }, async (api, p) =>
        {
            using var res = await api.SendAsync(HttpMethod.Get, $"{Path(p, name)}/dumps/{p.GetValue(id)}/file", streaming: true);
            var target = p.GetValue(output) ?? res.Content.Headers.ContentDisposition?.FileNameStar ?? res.Content.Headers.ContentDisposition?.FileName?.Trim('"') ?? $"dump-{p.GetValue(id)}";
            await using (var f = new FileStream(target, FileMode.CreateNew)) await (await res.Content.ReadAsStreamAsync()).CopyToAsync(f);
            Console.WriteLine(target);
            return 0;
        }));

        services.Subcommands.Add(ServiceCommands.Api(new Command("restore", "Restore a dump into a service (its data is replaced)") { name, id }, async (api, p) =>
        {
            await api.GetJsonAsync(HttpMethod.Post, $"{Path(p, name)}/dumps/{p.GetValue(id)}/restore");
            Console.WriteLine($"dump {p.GetValue(id)} restored into {p.GetValue(name)}");
            return 0;
        }));

        var schedule = new Option<string?>("--schedule") { Description = "A Quartz cron with seconds, UTC (\"\" = on demand only), e.g. \"0 0 3 * * ?\"" };
        var keep = new Option<long?>("--keep") { Description = "How many successful dumps to keep (1-1000)" };
        services.Subcommands.Add(ServiceCommands.Api(new Command("dump-schedule", "Print, or with --schedule/--keep change, a service's dump schedule and retention") { name, schedule, keep }, async (api, p) =>
        {
            var r = p.GetValue(schedule) is null && p.GetValue(keep) is null
                ? await api.GetJsonAsync(HttpMethod.Get, Path(p, name) + "/dumps/schedule")
                : await api.GetJsonAsync(HttpMethod.Put, Path(p, name) + "/dumps/schedule", new JsonObject { ["schedule"] = p.GetValue(schedule), ["keep"] = p.GetValue(keep) }.ToJsonString());
            Console.WriteLine($"{r["schedule"]}\t{r["keep"]}");
            return 0;
        }));
    }
}
