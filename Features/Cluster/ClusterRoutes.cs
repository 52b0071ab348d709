using Dapper;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Data;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Domains;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Cluster;

/// <summary>
/// Keeps Caddy's upstreams of every live cluster project equal to its running tasks, and tells when a server goes
/// down. Tasks publish their port in host mode on their node (Swarm picks the port), so the address of a task is its
/// node's address and that port; tasks move (a drain, a node lost, a rolling update) and the site file follows, read
/// every Cluster:SyncSeconds. Between two reads Caddy's own health checks keep requests off a task that stopped
/// answering. Nothing here runs a Docker call while the panel has no live cluster project and is no swarm manager
/// beyond one node list per 30 s, so a single server pays nothing.
/// </summary>
public sealed class ClusterRoutes(Db db, DockerEngine engine, DomainSites sites, PanelSettings settings, ILogger<ClusterRoutes> logger) : BackgroundService
{
    /// <summary>A running task where Caddy can reach it.</summary>
    public sealed record TaskAddress(string TaskId, string NodeId, string Hostname, string Address, int Port, string Image, ulong ForceUpdate)
    {
        public string Upstream => $"{Address}:{Port}";
    }

    public static IReadOnlyList<string>? Split(string? upstreams) =>
        string.IsNullOrWhiteSpace(upstreams) ? null : upstreams.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    public static string Join(IEnumerable<TaskAddress> tasks) =>
        string.Join(' ', tasks.Select(t => t.Upstream).Distinct().Order(StringComparer.Ordinal));

    /// <summary>The path Caddy's active checks ask a task for: the project's health path, or none (passive checks only).</summary>
    public static string? HealthUriOf(SqliteConnection c, long projectId) =>
        c.ExecuteScalar<string?>("SELECT health_path FROM projects WHERE id = @projectId", new { projectId }) is { Length: > 0 } path ? path : null;

    /// <summary>
    /// The tasks of <paramref name="service"/> that run on a ready node, with their published port. A task on a node
    /// that is down still says running until the manager gives up on it; it is left out at once.
    /// </summary>
    public static async Task<List<TaskAddress>> RunningTasksAsync(DockerClient docker, string service, CancellationToken ct)
    {
        var nodes = (await docker.Swarm.ListNodesAsync(ct)).ToDictionary(n => n.ID);
        var tasks = await docker.Tasks.ListAsync(new TasksListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["service"] = new Dictionary<string, bool> { [service] = true },
                ["desired-state"] = new Dictionary<string, bool> { ["running"] = true },
            },
        }, ct);
        var list = new List<TaskAddress>();
        foreach (var t in tasks)
        {
            if (t.Status?.State != TaskState.Running || !nodes.TryGetValue(t.NodeID ?? "", out var node)) continue;
            if (!$"{node.Status?.State}".Equals("ready", StringComparison.OrdinalIgnoreCase)) continue;
            var port = t.Status.PortStatus?.Ports?.FirstOrDefault(p => p.PublishedPort is > 0)?.PublishedPort;
            if (port is null) continue;
            var address = node.Status?.Addr ?? "";
            if ((address is "" or "0.0.0.0") && node.ManagerStatus?.Addr is { Length: > 0 } m) address = m[..m.LastIndexOf(':')];
            list.Add(new TaskAddress(t.ID, t.NodeID!, node.Description?.Hostname ?? "", address, (int)port.Value, t.Spec?.ContainerSpec?.Image ?? "", t.Spec?.ForceUpdate ?? 0));
        }
        return list;
    }

    sealed record LiveCluster(long Id, long ProjectId, string ServiceName, string? Upstreams);

    static List<LiveCluster> ListLiveClusterDeployments(SqliteConnection c) =>
        c.Query<LiveCluster>("SELECT id, project_id, service_name, upstreams FROM deployments WHERE status = 'live' AND service_name IS NOT NULL").AsList();

    /// <summary>
    /// Brings one project's live upstreams to its running tasks: the row and the site file, when they differ and at
    /// least one task runs (with none, the last addresses stay, so Caddy keeps trying them rather than losing the site).
    /// </summary>
    public async Task SyncProjectAsync(long projectId, CancellationToken ct)
    {
        LiveCluster? live;
        using (var c = db.Open()) live = ListLiveClusterDeployments(c).FirstOrDefault(l => l.ProjectId == projectId);
        if (live is not null) await SyncAsync(await engine.ClientAsync(ct), live, ct);
    }

    async Task SyncAsync(DockerClient docker, LiveCluster live, CancellationToken ct)
    {
        var tasks = await RunningTasksAsync(docker, live.ServiceName, ct);
        var upstreams = Join(tasks);
        if (upstreams == "" || upstreams == live.Upstreams) return;
        using (var c = db.Open())
            c.Execute("UPDATE deployments SET upstreams = @upstreams WHERE id = @Id AND status = 'live'", new { upstreams, live.Id });
        logger.LogInformation("cluster: {Service} now runs on {Upstreams}", live.ServiceName, upstreams);
        try { await sites.ApplyProjectAsync(live.ProjectId, _ => { }, ct); }
        catch (Caddy.CaddyException e)
        {
            // The row says what should be; the next change, or the startup's full apply, brings Caddy to it.
            logger.LogWarning("cluster: Caddy refused the new upstreams of {Service}: {Message}", live.ServiceName, e.Message);
        }
    }

    /// <summary>The last state seen per node id, to tell a change; empty until the first read (no alert at startup).</summary>
    readonly Dictionary<string, (string Hostname, string Address, string State)> _nodes = [];

    protected override async Task ExecuteAsync(CancellationToken stop)
    {
        await Shared.StartGate.WaitAsync(stop);
        while (!stop.IsCancellationRequested)
        {
            var wait = settings.ClusterSync;
            try
            {
                var docker = await engine.ClientAsync(stop);
                if (!await WatchNodesAsync(docker, stop)) wait = TimeSpan.FromSeconds(30);
                else
                {
                    List<LiveCluster> live;
                    using (var c = db.Open()) live = ListLiveClusterDeployments(c);
                    foreach (var l in live) await SyncAsync(docker, l, stop);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested) { return; }
            catch (Exception e) when (DockerEngine.IsDockerError(e) || e is SqliteException or OperationCanceledException)
            {
                logger.LogDebug("cluster sync: {Message}", e.Message);
            }
            try { await Task.Delay(wait, stop); }
            catch (OperationCanceledException) { return; }
        }
    }

    /// <summary>Reads the nodes; raises server.down for a node that was ready and no longer is. False when this engine is no swarm manager.</summary>
    async Task<bool> WatchNodesAsync(DockerClient docker, CancellationToken ct)
    {
        IList<NodeListResponse> nodes;
        try { nodes = await docker.Swarm.ListNodesAsync(ct); }
        catch (DockerApiException e) when ((int)e.StatusCode is 503 or 406)
        {
            _nodes.Clear();
            return false;
        }
        var first = _nodes.Count == 0;
        foreach (var n in nodes)
        {
            var state = $"{n.Status?.State}".ToLowerInvariant();
            var hostname = n.Description?.Hostname ?? n.ID;
            var address = n.Status?.Addr ?? "";
            if (!first && _nodes.TryGetValue(n.ID, out var before) && before.State == "ready" && state != "ready")
            {
                logger.LogWarning("cluster: server {Hostname} ({Address}) is {State}", hostname, address, state);
                Notifications.Notify.Event(db, Notifications.Notify.ServerDown, null, null,
                    $"Server {hostname} ({address}) is {state}: Swarm moves its tasks to the other servers and Caddy no longer routes to it.", "/servers");
            }
            _nodes[n.ID] = (hostname, address, state);
        }
        return true;
    }
}
