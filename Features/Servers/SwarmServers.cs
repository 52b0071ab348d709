using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Docker.DotNet;
using Docker.DotNet.Models;
using VpsPanel.Features.Docker;

namespace VpsPanel.Features.Servers;

/// <summary>A refusal of a servers action with the HTTP status that says why (400 bad input, 404, 409 wrong state, 502 Docker).</summary>
public sealed class ServerProblem(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}

/// <summary>One node of the swarm as the API and the page show it.</summary>
public sealed record ServerRow(string Id, string Hostname, string Address, string Role, string State, string Availability,
    IDictionary<string, string> Labels, double Cpus, long MemoryBytes, int RunningTasks, bool IsManagerLeader, bool IsThisServer);

/// <summary>
/// The Servers feature's half that talks to the panel's Docker engine (Swarm mode): the panel's own engine is the
/// swarm's manager, every other server joins it as a worker. Each action checks the engine's swarm state first, so a
/// call on a panel that is no swarm (yet) is refused with a sentence, never half done.
/// </summary>
public static partial class SwarmServers
{
    public const int ManagerPort = 2377;
    public static readonly string[] Availabilities = ["active", "drain"];

    /// <summary>Whether the engine is in a swarm and a manager of it, and its advertised address.</summary>
    public sealed record Mode(bool InSwarm, bool IsManager, string NodeId, string NodeAddress);

    public static async Task<Mode> ModeAsync(DockerClient docker, CancellationToken ct)
    {
        var info = (await docker.System.GetSystemInfoAsync(ct)).Swarm;
        var state = $"{info?.LocalNodeState}".ToLowerInvariant();
        return new Mode(state == "active", info?.ControlAvailable == true, info?.NodeID ?? "", info?.NodeAddr ?? "");
    }

    static async Task<(DockerClient Docker, Mode Mode)> ManagerAsync(DockerEngine engine, CancellationToken ct)
    {
        var docker = await Client(engine, ct);
        var mode = await ModeAsync(docker, ct);
        if (!mode.InSwarm) throw new ServerProblem(409, "This server is not a cluster manager yet: make it one first (POST /api/servers/init with its advertiseAddress, or Servers → Make this server the manager).");
        if (!mode.IsManager) throw new ServerProblem(409, "This server's Docker engine is a swarm worker, not a manager: the panel must run on the manager.");
        return (docker, mode);
    }

    static async Task<DockerClient> Client(DockerEngine engine, CancellationToken ct)
    {
        try { return await engine.ClientAsync(ct); }
        catch (Exception e) when (DockerEngine.IsDockerError(e)) { throw new ServerProblem(502, "Docker does not answer: " + DockerErrors.Readable(e)); }
    }

    /// <summary>The nodes, this server first; null when the engine is in no swarm (a single server).</summary>
    public static async Task<List<ServerRow>?> ListAsync(DockerEngine engine, CancellationToken ct)
    {
        var docker = await Client(engine, ct);
        var mode = await ModeAsync(docker, ct);
        if (!mode.InSwarm) return null;
        if (!mode.IsManager) throw new ServerProblem(409, "This server's Docker engine is a swarm worker, not a manager: the panel must run on the manager.");
        var nodes = await docker.Swarm.ListNodesAsync(ct);
        // One call for the tasks of every node rather than one per node.
        var tasks = await docker.Tasks.ListAsync(new TasksListParameters { Filters = new Dictionary<string, IDictionary<string, bool>> { ["desired-state"] = new Dictionary<string, bool> { ["running"] = true } } }, ct);
        var running = tasks.Where(t => $"{t.Status?.State}".Equals("running", StringComparison.OrdinalIgnoreCase))
            .GroupBy(t => t.NodeID).ToDictionary(g => g.Key, g => g.Count());
        return nodes.Select(n => Row(n, mode, running.GetValueOrDefault(n.ID)))
            .OrderByDescending(r => r.IsThisServer).ThenBy(r => r.Hostname, StringComparer.Ordinal).ToList();
    }

    static ServerRow Row(NodeListResponse n, Mode mode, int runningTasks)
    {
        // A manager's Status.Addr can be 0.0.0.0 (it listens everywhere); its manager address is the one workers dial.
        var addr = n.Status?.Addr ?? "";
        if ((addr is "" or "0.0.0.0") && n.ManagerStatus?.Addr is { Length: > 0 } m) addr = m[..m.LastIndexOf(':')];
        return new ServerRow(n.ID, n.Description?.Hostname ?? "", addr, $"{n.Spec?.Role}".ToLowerInvariant(), $"{n.Status?.State}".ToLowerInvariant(),
            $"{n.Spec?.Availability}".ToLowerInvariant(), n.Spec?.Labels ?? new Dictionary<string, string>(),
            (n.Description?.Resources?.NanoCPUs ?? 0) / 1e9, n.Description?.Resources?.MemoryBytes ?? 0, runningTasks,
            n.ManagerStatus?.Leader == true, n.ID == mode.NodeId);
    }

    /// <summary>
    /// Why <paramref name="address"/> cannot be the manager's advertise address, or null. Only what can be told without
    /// the engine: that it is one IP address other servers could dial. Whether it is an address of the engine's host
    /// is the engine's to say (it listens on it, see <see cref="InitAsync"/>).
    /// </summary>
    public static string? AdvertiseAddressProblem(string? address)
    {
        if (string.IsNullOrWhiteSpace(address)) return "advertiseAddress is required: the IP address of this server that the other servers can reach.";
        var a = address.Trim();
        if (!IPAddress.TryParse(a, out var ip) || a.Contains(':') && ip.AddressFamily != AddressFamily.InterNetworkV6 || a.Contains('/'))
            return $"advertiseAddress \"{a}\" is not an IP address (give one such as 203.0.113.10, without a port).";
        if (IPAddress.IsLoopback(ip)) return $"advertiseAddress {a} is a loopback address: other servers cannot reach it. Give this server's address on the network they share.";
        if (ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any) || ip.Equals(IPAddress.Broadcast) || ip.IsIPv6Multicast || (ip.AddressFamily == AddressFamily.InterNetwork && ip.GetAddressBytes()[0] >= 224))
            return $"advertiseAddress {a} is not the address of one server; give this server's own address.";
        return null;
    }

    /// <summary>
    /// Makes the panel's engine the manager of a new swarm. It listens for the swarm on the advertise address itself,
    /// so an address that is not this Docker host's is refused by the engine ("cannot assign requested address") and
    /// nothing is initialised, instead of a swarm that no server can join.
    /// </summary>
    public static async Task<string> InitAsync(DockerEngine engine, string? address, CancellationToken ct)
    {
        if (AdvertiseAddressProblem(address) is { } problem) throw new ServerProblem(400, problem);
        var a = address!.Trim();
        var docker = await Client(engine, ct);
        var mode = await ModeAsync(docker, ct);
        if (mode.InSwarm) throw new ServerProblem(409, $"This server is already in a swarm ({(mode.IsManager ? "the manager" : "a worker")}, address {mode.NodeAddress}); nothing was changed.");
        var hostPort = ip(a) + ":" + ManagerPort;
        try
        {
            return await docker.Swarm.InitSwarmAsync(new SwarmInitParameters { AdvertiseAddr = hostPort, ListenAddr = hostPort }, ct);
        }
        catch (DockerApiException e) when (e.ResponseBody.Contains("cannot assign requested address", StringComparison.OrdinalIgnoreCase) ||
                                           e.ResponseBody.Contains("listen", StringComparison.OrdinalIgnoreCase))
        {
            throw new ServerProblem(400, $"advertiseAddress {a} is not an address of this server's Docker host (the engine cannot listen on {hostPort}): " +
                "give an address of one of its network interfaces that the other servers can reach. Nothing was changed.");
        }
        catch (Exception e) when (DockerEngine.IsDockerError(e)) { throw new ServerProblem(502, "Docker refused to create the swarm: " + DockerErrors.Readable(e)); }

        static string ip(string a) => a.Contains(':') ? $"[{a}]" : a;
    }

    /// <summary>Swarm's worker join token and the manager's address (host:2377) for a server that joins.</summary>
    public static async Task<(string WorkerToken, string ManagerAddress)> WorkerJoinAsync(DockerEngine engine, CancellationToken ct)
    {
        var (docker, mode) = await ManagerAsync(engine, ct);
        var swarm = await docker.Swarm.InspectSwarmAsync(ct);
        var host = mode.NodeAddress.Contains(':') ? $"[{mode.NodeAddress}]" : mode.NodeAddress;
        return (swarm.JoinTokens.Worker, $"{host}:{ManagerPort}");
    }

    [GeneratedRegex("^[A-Za-z0-9]([A-Za-z0-9._-]{0,126}[A-Za-z0-9])?$")]
    private static partial Regex LabelKeyPattern();

    /// <summary>What is wrong with a label set, or null: keys of letters, digits and . _ - (a placement constraint names them), values of one line.</summary>
    public static string? LabelsProblem(IDictionary<string, string?> labels)
    {
        if (labels.Count > 50) return "at most 50 labels";
        foreach (var (k, v) in labels)
        {
            if (!LabelKeyPattern().IsMatch(k)) return $"label \"{k}\" is not a valid key: letters, digits and . _ - , starting and ending with a letter or digit, at most 128";
            if (v is null) return $"label {k} has no value (give \"\" for an empty one)";
            if (v.Length > 256 || v.Any(char.IsControl)) return $"the value of label {k} must be one line of at most 256 characters";
        }
        return null;
    }

    /// <summary>Sets a node's availability and/or replaces its labels; answers the node as it is now.</summary>
    public static async Task<ServerRow> UpdateAsync(DockerEngine engine, string id, string? availability, IDictionary<string, string>? labels, CancellationToken ct)
    {
        if (availability is not null && !Availabilities.Contains(availability)) throw new ServerProblem(400, $"availability \"{availability}\" is not one of: drain, active.");
        var (docker, mode) = await ManagerAsync(engine, ct);
        var node = await FindAsync(docker, id, ct);
        var spec = node.Spec;
        try
        {
            await docker.Swarm.UpdateNodeAsync(node.ID, node.Version?.Index ?? 0, new NodeUpdateParameters
            {
                Name = spec.Name,
                Role = spec.Role,
                Availability = availability ?? spec.Availability,
                Labels = labels is null ? spec.Labels : new Dictionary<string, string>(labels),
            }, ct);
        }
        catch (Exception e) when (DockerEngine.IsDockerError(e)) { throw new ServerProblem(502, $"Docker did not update node {node.Description?.Hostname}: {DockerErrors.Readable(e)}"); }
        return (await ListAsync(engine, ct))!.Single(r => r.Id == node.ID);
    }

    /// <summary>
    /// Removes a node from the swarm: only a worker that is down (gone for good) or drained (its tasks already moved
    /// away); anything else would take running tasks with it. A drained node that still runs is removed with force,
    /// as `docker node rm --force` does, since the engine refuses to remove a node that is not down otherwise.
    /// </summary>
    public static async Task<string> RemoveAsync(DockerEngine engine, string id, CancellationToken ct)
    {
        var (docker, mode) = await ManagerAsync(engine, ct);
        var node = await FindAsync(docker, id, ct);
        var name = node.Description?.Hostname ?? node.ID;
        if (node.ID == mode.NodeId || node.ManagerStatus is not null)
            throw new ServerProblem(409, $"{name} is a manager (the panel's own server): it cannot be removed.");
        var state = $"{node.Status?.State}".ToLowerInvariant();
        var availability = $"{node.Spec?.Availability}".ToLowerInvariant();
        if (state != "down" && availability != "drain")
            throw new ServerProblem(409, $"{name} is {state} and {availability}: drain it first (its tasks move to the other servers), or remove it once it is down.");
        try { await docker.Swarm.RemoveNodeAsync(node.ID, state != "down", ct); }
        catch (Exception e) when (DockerEngine.IsDockerError(e)) { throw new ServerProblem(502, $"Docker did not remove {name}: {DockerErrors.Readable(e)}"); }
        return name;
    }

    /// <summary>A node by its id (or a unique id prefix, as the docker CLI takes) or its hostname; 404 otherwise.</summary>
    static async Task<NodeListResponse> FindAsync(DockerClient docker, string id, CancellationToken ct)
    {
        var nodes = await docker.Swarm.ListNodesAsync(ct);
        var found = nodes.Where(n => n.ID == id).ToList();
        if (found.Count == 0 && id.Length > 0) found = nodes.Where(n => n.ID.StartsWith(id, StringComparison.Ordinal) || n.Description?.Hostname == id).ToList();
        return found.Count switch
        {
            1 => found[0],
            0 => throw new ServerProblem(404, $"Server {id} is not a node of this swarm."),
            _ => throw new ServerProblem(409, $"\"{id}\" names {found.Count} nodes; give the node's id."),
        };
    }
}
