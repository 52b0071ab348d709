using System.CommandLine;
using System.Text.Json.Nodes;
using VpsPanel.Features.Cli;

namespace VpsPanel.Features.Servers;

/// <summary>
/// `vpspanel servers list|init|join-token|drain|activate|label|remove`: the servers API from the command line
/// (through the running panel, with an admin's token, so the rules are the API's).
/// </summary>
public static class ServerCommands
{
    public static Command Build()
    {
        var cmd = new Command("servers", "The cluster's servers (Docker Swarm) through the running panel: list, make this server the manager, join tokens, drain, activate, label, remove");
        cmd.Subcommands.Add(List());
        cmd.Subcommands.Add(Init());
        cmd.Subcommands.Add(JoinToken());
        cmd.Subcommands.Add(SetAvailability("drain", "Drain a server: its tasks move to the other servers and none start on it"));
        cmd.Subcommands.Add(SetAvailability("active", "Activate a drained server: tasks may run on it again", name: "activate"));
        cmd.Subcommands.Add(Label());
        cmd.Subcommands.Add(Remove());
        return cmd;
    }

    static Argument<string> Id() => new("SERVER") { Description = "The server's node id (or a unique prefix) or hostname" };

    static string Path(string id) => $"api/servers/{Uri.EscapeDataString(id)}";

    static Command List()
    {
        var cmd = new Command("list", "Print the servers: id, hostname, address, role, state, availability, CPUs, memory, running tasks, labels");
        PanelApiClient.AddOptions(cmd);
        cmd.SetAction(async p =>
        {
            using var api = PanelApiClient.From(p);
            var nodes = (await api.GetJsonAsync(HttpMethod.Get, "api/servers")).AsArray();
            if (nodes.Count == 0) Console.Error.WriteLine("this panel's server is no cluster yet: `vpspanel servers init ADDRESS` makes it the manager");
            foreach (var n in nodes)
            {
                var labels = string.Join(",", n!["labels"]!.AsObject().Select(l => $"{l.Key}={l.Value}"));
                Console.WriteLine($"{n["id"]}\t{n["hostname"]}\t{n["address"]}\t{n["role"]}\t{n["state"]}\t{n["availability"]}\t{n["cpus"]}\t{n["memoryBytes"]}\t{n["runningTasks"]}\t{labels}");
            }
            return 0;
        });
        return cmd;
    }

    static Command Init()
    {
        var address = new Argument<string>("ADDRESS") { Description = "This server's IP address that the other servers reach" };
        var cmd = new Command("init", "Make this server the cluster's manager (Docker Swarm init)") { address };
        PanelApiClient.AddOptions(cmd);
        cmd.SetAction(async p =>
        {
            using var api = PanelApiClient.From(p);
            var node = await api.GetJsonAsync(HttpMethod.Post, "api/servers/init", new JsonObject { ["advertiseAddress"] = p.GetValue(address) }.ToJsonString());
            Console.WriteLine($"this server ({node["hostname"]}, {node["address"]}) is the cluster's manager");
            return 0;
        });
        return cmd;
    }

    static Command JoinToken()
    {
        var cmd = new Command("join-token", "Print a one-time command that joins a new server (good for one join within an hour)");
        PanelApiClient.AddOptions(cmd);
        cmd.SetAction(async p =>
        {
            using var api = PanelApiClient.From(p);
            var t = await api.GetJsonAsync(HttpMethod.Post, "api/servers/join-token");
            Console.WriteLine(t["command"]);
            Console.Error.WriteLine($"expires {t["expiresAt"]}; to join by hand: docker swarm join --token {t["swarmToken"]} <manager address>:2377");
            return 0;
        });
        return cmd;
    }

    static Command SetAvailability(string availability, string description, string? name = null)
    {
        var id = Id();
        var cmd = new Command(name ?? availability, description) { id };
        PanelApiClient.AddOptions(cmd);
        cmd.SetAction(async p =>
        {
            using var api = PanelApiClient.From(p);
            var n = await api.GetJsonAsync(HttpMethod.Patch, Path(p.GetValue(id)!), new JsonObject { ["availability"] = availability }.ToJsonString());
            Console.WriteLine($"{n["hostname"]} is {n["availability"]}");
            return 0;
        });
        return cmd;
    }

    static Command Label()
    {
        var id = Id();
        var labels = new Argument<string[]>("LABEL") { Description = "KEY=VALUE; the server's labels become exactly these (none removes them all)", Arity = ArgumentArity.ZeroOrMore };
        var cmd = new Command("label", "Replace a server's labels (placement constraints name them)") { id, labels };
        PanelApiClient.AddOptions(cmd);
        cmd.SetAction(async p =>
        {
            var body = new JsonObject();
            foreach (var l in p.GetValue(labels) ?? [])
            {
                var eq = l.IndexOf('=');
                if (eq <= 0) throw new CliException($"\"{l}\" is not KEY=VALUE", 2);
                body[l[..eq]] = l[(eq + 1)..];
            }
            using var api = PanelApiClient.From(p);
            var n = await api.GetJsonAsync(HttpMethod.Patch, Path(p.GetValue(id)!), new JsonObject { ["labels"] = body }.ToJsonString());
            Console.WriteLine($"{n["hostname"]} labels: {string.Join(",", n["labels"]!.AsObject().Select(x => $"{x.Key}={x.Value}"))}");
            return 0;
        });
        return cmd;
    }

    static Command Remove()
    {
        var id = Id();
        var cmd = new Command("remove", "Remove a server from the cluster (only one that is down or drained)") { id };
        PanelApiClient.AddOptions(cmd);
        cmd.SetAction(async p =>
        {
            using var api = PanelApiClient.From(p);
            using var _ = await api.SendAsync(HttpMethod.Delete, Path(p.GetValue(id)!));
            Console.WriteLine($"{p.GetValue(id)} removed");
            return 0;
        });
        return cmd;
    }
}
