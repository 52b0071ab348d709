using System.Text.RegularExpressions;
using Dapper;
using Docker.DotNet.Models;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Servers;

namespace VpsPanel.Features.Cluster;

/// <summary>
/// Where a project runs: this server (containers, the default) or the cluster (one Swarm service), and for the
/// cluster on which nodes. Placement is one short text, the same in the form, the API, the CLI and the database:
/// <c>any</c>, <c>spread</c> (at most one task per node), <c>label:KEY=VALUE</c> (nodes with that label) or
/// <c>node:HOSTNAME</c> (pinned to one node, as a service with a volume must be). Admins only, like replicas and
/// limits: the cluster's servers are the admin's to hand out.
/// </summary>
public static partial class ClusterPlacement
{
    public const string Server = "server", ClusterTarget = "cluster";

    public sealed record Choice(string Target, string Placement)
    {
        public bool IsCluster => Target == ClusterTarget;
    }

    public static readonly Choice Default = new(Server, "any");

    public static Choice Find(SqliteConnection c, long projectId, SqliteTransaction? tx = null) =>
        c.QuerySingleOrDefault<(string, string)>("SELECT target, placement FROM projects WHERE id = @projectId", new { projectId }, tx) is var (t, p) && t is not null
            ? new Choice(t, p) : Default;

    public static void UpdateChoice(SqliteConnection c, long projectId, Choice choice, SqliteTransaction tx) =>
        c.Execute("UPDATE projects SET target = @Target, placement = @Placement WHERE id = @projectId", new { projectId, choice.Target, choice.Placement }, tx);

    /// <summary>The placement's parts: kind any|spread|label|node, and for label the key and value, for node the hostname.</summary>
    public sealed record Parsed(string Kind, string Key = "", string Value = "");

    [GeneratedRegex(@"^label:([A-Za-z0-9][A-Za-z0-9._-]{0,62})=([A-Za-z0-9._-]{1,63})$")]
    private static partial Regex LabelPlacement();

    [GeneratedRegex(@"^node:([A-Za-z0-9][A-Za-z0-9.-]{0,252})$")]
    private static partial Regex NodePlacement();

    public static Parsed? Parse(string placement) =>
        placement switch
        {
            "any" => new Parsed("any"),
            "spread" => new Parsed("spread"),
            _ when LabelPlacement().Match(placement) is { Success: true } m => new Parsed("label", m.Groups[1].Value, m.Groups[2].Value),
            _ when NodePlacement().Match(placement) is { Success: true } m => new Parsed("node", m.Groups[1].Value),
            _ => null,
        };

    /// <summary>Swarm's placement for a parsed placement: constraints and the per-node maximum.</summary>
    public static Placement SwarmPlacement(Parsed p) => p.Kind switch
    {
        "spread" => new Placement { MaxReplicas = 1 },
        "label" => new Placement { Constraints = [$"node.labels.{p.Key}=={p.Value}"] },
        "node" => new Placement { Constraints = [$"node.hostname=={p.Key}"] },
        _ => new Placement(),
    };

    /// <summary>
    /// The form's target and placement (null fields keep <paramref name="current"/>), or null with messages under
    /// "target" and "placement". Only the text is judged here; <see cref="ProblemsAsync"/> asks the swarm.
    /// </summary>
    public static Choice? FromForm(ProjectForm f, Choice current, bool isAdmin, Dictionary<string, string> errors)
    {
        var target = f.Target ?? current.Target;
        var placement = f.Placement ?? current.Placement;
        if (target == current.Target && placement == current.Placement) return current;
        if (target is not (Server or ClusterTarget))
            errors["target"] = $"Choose where the project runs: \"server\" (this server's containers) or \"cluster\" (a Swarm service on the cluster's servers); “{Shown(target)}” is neither.";
        if (Parse(placement) is null)
            errors["placement"] = $"Placement is one of: any, spread (one task per server), label:KEY=VALUE (servers with that label) or node:HOSTNAME (one server); “{Shown(placement)}” is none of them.";
        if (errors.ContainsKey("target") || errors.ContainsKey("placement")) return null;
        if (!isAdmin)
        {
            errors["target"] = "Only an admin can change where a project runs: the cluster's servers are the admin's to hand out.";
            return null;
        }
        return new Choice(target, placement);
    }

    static string Shown(string v) => v.Length > 40 ? v[..40] + "…" : v;

    /// <summary>
    /// What the swarm says against running <paramref name="choice"/> with <paramref name="replicas"/> tasks, by form
    /// field: this engine must be the swarm's manager, a label or hostname must be one some node has, spread needs a
    /// node per replica, and a project with volumes must be pinned to one node (its volume lives on that node).
    /// Asked when the choice is saved and again at every deploy (nodes come and go).
    /// </summary>
    public static async Task<Dictionary<string, string>> ProblemsAsync(DockerEngine engine, Choice choice, int replicas, bool hasVolumes, CancellationToken ct)
    {
        var errors = new Dictionary<string, string>();
        if (!choice.IsCluster) return errors;
        List<ServerRow>? nodes;
        try { nodes = await SwarmServers.ListAsync(engine, ct); }
        catch (ServerProblem e)
        {
            errors["target"] = e.Message;
            return errors;
        }
        if (nodes is null)
        {
            errors["target"] = "This server is not a cluster manager yet: make it one on the Servers page (or POST /api/servers/init) before a project runs on the cluster.";
            return errors;
        }
        var usable = nodes.Where(n => n.Availability == "active").ToList();
        var p = Parse(choice.Placement)!;
        switch (p.Kind)
        {
            case "label":
                var labelled = usable.Where(n => n.Labels.TryGetValue(p.Key, out var v) && v == p.Value).ToList();
                if (labelled.Count == 0)
                    errors["placement"] = $"No active server has the label {p.Key}={p.Value} (add it on the Servers page first); nothing was deployed.";
                break;
            case "node":
                if (nodes.FirstOrDefault(n => n.Hostname == p.Key) is not { } node)
                    errors["placement"] = $"No server of the cluster is called {p.Key} (the Servers page lists their hostnames); nothing was deployed.";
                else if (node.Availability != "active")
                    errors["placement"] = $"The server {p.Key} is {node.Availability}: activate it on the Servers page, or choose another.";
                break;
            case "spread":
                if (replicas > usable.Count)
                    errors["replicas"] = $"{replicas} replicas need {replicas} active servers with placement spread (one task per server); the cluster has {usable.Count}.";
                break;
        }
        if (hasVolumes && p.Kind != "node")
            errors["placement"] = "A cluster project with volumes must be pinned to one server (placement node:HOSTNAME): a volume lives on the server that runs it.";
        return errors;
    }
}
