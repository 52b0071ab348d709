using System.CommandLine;
using System.Text.Json.Nodes;
using VpsPanel.Features.Cli;

namespace VpsPanel.Features.Services;

/// <summary>
/// `vpspanel services …`: the /api/services routes from the command line, through the running panel (it runs the
/// containers; the CLI never touches Docker itself). Errors are the API's words on stderr with a non-zero exit.
/// </summary>
public static class ServiceCommands
{
    public static Command Build()
    {
        var services = new Command("services", "Database services (PostgreSQL, MariaDB, Redis) through the running panel");
        var name = new Argument<string>("NAME") { Description = "The service's name" };

        var list = Api(new Command("list", "List services: name, engine, version, status, linked projects (tab-separated)"), async (api, _) =>
        {
            foreach (var s in (await api.GetJsonAsync(HttpMethod.Get, "api/services")).AsArray())
                Console.WriteLine($"{s!["name"]}\t{s["engine"]}\t{s["version"]}\t{s["status"]}\t{string.Join(",", s["links"]!.AsArray().Select(l => (string?)l))}");
            return 0;
        });

        var engine = new Option<string>("--engine") { Description = "postgres, mariadb or redis", Required = true };
        var newName = new Option<string>("--name") { Description = "The service's name (the host name linked apps connect to)", Required = true };
        var version = new Option<string?>("--version") { Description = "The image tag (default: the tag of Services:Images:<Engine>)" };
        var memory = new Option<long?>("--memory-mb") { Description = "Memory limit in MiB (default 512)" };
        var port = new Option<int?>("--public-port") { Description = "Publish on every address of the server at this port (default: not reachable from outside)" };
        var create = Api(new Command("create", "Create a service and print it as JSON") { engine, newName, version, memory, port }, async (api, p) =>
        {
            var body = new JsonObject { ["engine"] = p.GetValue(engine), ["name"] = p.GetValue(newName), ["version"] = p.GetValue(version), ["memoryMb"] = p.GetValue(memory), ["publicPort"] = p.GetValue(port) };
            Console.WriteLine(await api.GetJsonAsync(HttpMethod.Post, "api/services", body.ToJsonString()));
            return 0;
        });

        var show = Api(new Command("show", "Print one service as JSON") { name }, async (api, p) =>
        {
            Console.WriteLine(await api.GetJsonAsync(HttpMethod.Get, Path(p, name)));
            return 0;
        });

        var project = new Argument<string>("PROJECT") { Description = "The project's short name" };
        var redeploy = new Option<bool>("--redeploy") { Description = "Queue a deployment of the project now (when it is live)" };
        var link = Api(new Command("link", "Link a service to a project: it gets the connection variables from its next deployment") { name, project, redeploy }, async (api, p) =>
        {
            var body = new JsonObject { ["project"] = p.GetValue(project), ["redeploy"] = p.GetValue(redeploy) };
            var r = await api.GetJsonAsync(HttpMethod.Post, Path(p, name) + "/links", body.ToJsonString());
            Console.WriteLine(r["deploymentId"] is { } d ? $"linked; deployment {d} queued" : "linked; the variables apply from the next deployment");
            return 0;
        });
        var unlink = Api(new Command("unlink", "Unlink a service from a project") { name, project, redeploy }, async (api, p) =>
        {
            using var _ = await api.SendAsync(HttpMethod.Delete, $"{Path(p, name)}/links/{Uri.EscapeDataString(p.GetValue(project)!)}{(p.GetValue(redeploy) ? "?redeploy=true" : "")}");
            return 0;
        });

        services.Subcommands.Add(list);
        services.Subcommands.Add(create);
        services.Subcommands.Add(show);
        services.Subcommands.Add(link);
        services.Subcommands.Add(unlink);
        foreach (var action in ServicePower.Actions)
            services.Subcommands.Add(Api(new Command(action, $"{char.ToUpperInvariant(action[0])}{action[1..]} a service's container") { name }, async (api, p) =>
            {
                Console.WriteLine((await api.GetJsonAsync(HttpMethod.Post, $"{Path(p, name)}/{action}"))["status"]);
                return 0;
            }));

        var newVersion = new Argument<string>("VERSION") { Description = "The new image tag; the same major version only" };
        services.Subcommands.Add(Api(new Command("version", "Change a service's version (within its major version)") { name, newVersion }, async (api, p) =>
        {
            Console.WriteLine((await api.GetJsonAsync(HttpMethod.Put, Path(p, name) + "/version", new JsonObject { ["version"] = p.GetValue(newVersion) }.ToJsonString()))["version"]);
            return 0;
        }));

        var deleteVolume = new Option<bool>("--delete-volume") { Description = "Also delete the service's data" };
        services.Subcommands.Add(Api(new Command("delete", "Delete a service (refused while projects are linked to it)") { name, deleteVolume }, async (api, p) =>
        {
            using var _ = await api.SendAsync(HttpMethod.Delete, Path(p, name) + (p.GetValue(deleteVolume) ? "?deleteVolume=true" : ""));
            return 0;
        }));

        var tail = new Option<int?>("--tail") { Description = "How many lines (default 200)" };
        services.Subcommands.Add(Api(new Command("logs", "Print a service's last log lines (password masked)") { name, tail }, async (api, p) =>
        {
            using var res = await api.SendAsync(HttpMethod.Get, Path(p, name) + "/logs" + (p.GetValue(tail) is { } t ? $"?tail={t}" : ""));
            Console.Write(await res.Content.ReadAsStringAsync());
            return 0;
        }));
        ServiceDumpCommands.AddTo(services, name);
        return services;
    }

    internal static string Path(ParseResult p, Argument<string> name) => "api/services/" + Uri.EscapeDataString(p.GetValue(name)!);

    internal static Command Api(Command cmd, Func<PanelApiClient, ParseResult, Task<int>> run)
    {
        PanelApiClient.AddOptions(cmd);
        cmd.SetAction(async p =>
        {
            using var api = PanelApiClient.From(p);
            return await run(api, p);
        });
        return cmd;
    }
}
