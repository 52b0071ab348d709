using System.Collections.Concurrent;
using System.Globalization;
using Dapper;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Data;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Domains;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Deployments;

/// <summary>One container of a deployment: replica 1 is the deployment row's own container, 2..N are copies of it.</summary>
public sealed record ReplicaContainer(long Replica, string Name, long HostPort);

/// <summary>What the project page's replica section reads from the database (_Replicas.cshtml asks the engine for the states).</summary>
public sealed record ReplicasSection(int Wanted, Cluster.ClusterPlacement.Choice Choice, DeploymentRow? Live, List<ReplicaContainer> Containers)
{
    public static ReplicasSection Read(Microsoft.Data.Sqlite.SqliteConnection c, long projectId, DeploymentRow? live) =>
        new(Projects.ProjectReplicas.FindReplicas(c, projectId), Cluster.ClusterPlacement.Find(c, projectId), live,
            live is { IsStatic: false } ? ReplicaSet.ContainersOf(c, live) : []);
}

/// <summary>The replicas section as a view shows it: what was read with the page, and each container's state from the engine now.</summary>
public sealed record ReplicasView(ReplicasSection Section, List<ReplicaSet.ReplicaState> States);

/// <summary>What Caddy balances a deployment across: the ports after the first, and the path its active checks GET (null: passive checks only).</summary>
public sealed record ReplicaRoute(IReadOnlyList<int> OtherPorts, string? HealthUri);

/// <summary>
/// Replicas on one server (issue 16). A deployment's first container is started and health-checked by DeployRun as
/// before; replicas 2..N are copies of it (same image, environment, limits, volumes and network, made from `docker
/// inspect` of the first, so nothing has to be decrypted or derived twice), each on its own loopback port, named
/// <c>&lt;first&gt;-r2</c> … <c>-r10</c>, each health-checked the same way before the switch. Caddy then balances across
/// all of them (Caddy/CaddySite). Replica 1 stays in deployments.container_name/host_port; the others are rows of
/// deployment_replicas. <see cref="ContainersOf(SqliteConnection, DeploymentRow)"/> is the one list every part that
/// acts on "the containers of a deployment" goes through (retire, switch recovery, reconcile, the page).
/// </summary>
public sealed class ReplicaSet(Db db, PanelSettings settings, DockerEngine engine, DomainSites sites, DeployLog logs, ILogger<ReplicaSet> logger)
{
    public const int Min = 1, Max = 10;

    /// <summary>On replicas 2..N only; replica 1 is the deployment's container as it always was.</summary>
    public const string Label = "vpspanel.replica";

    /// <summary>Scaling and healing one project's replicas are not run twice at once.</summary>
    static readonly ConcurrentDictionary<long, SemaphoreSlim> Locks = new();

    /// <summary>Held while a project's replicas are scaled or revived; deleting the project takes it too.</summary>
    public static SemaphoreSlim ProjectLock(long projectId) => Locks.GetOrAdd(projectId, _ => new SemaphoreSlim(1, 1));

    public static string NameOf(string first, long replica) => replica == 1 ? first : $"{first}-r{replica}";

    /// <summary>Every container of a deployment, replica 1 first; empty when it has none (static site, ended before starting).</summary>
    public static List<ReplicaContainer> ContainersOf(SqliteConnection c, DeploymentRow d) => ContainersOf(c, d.Id, d.ContainerName, d.HostPort);

    public static List<ReplicaContainer> ContainersOf(SqliteConnection c, long deploymentId, string? first, long? firstPort)
    {
        if (first is null) return [];
        var list = new List<ReplicaContainer> { new(1, first, firstPort ?? 0) };
        list.AddRange(c.Query<ReplicaContainer>(
            "SELECT replica, container_name AS name, host_port FROM deployment_replicas WHERE deployment_id = @deploymentId ORDER BY replica", new { deploymentId }));
        return list;
    }

    /// <summary>The replicas 2..N recorded for the deployment whose first container has this name (a failed deploy's cleanup).</summary>
    public static List<string> ExtraNamesOf(SqliteConnection c, string first) =>
        c.Query<string>(
            "SELECT r.container_name FROM deployment_replicas r JOIN deployments d ON d.id = r.deployment_id WHERE d.container_name = @first ORDER BY r.replica",
            new { first }).AsList();

    /// <summary>
    /// The upstreams beyond <paramref name="firstPort"/> of the project's deployment that owns that port (live, or
    /// in its switch). Found by the port so a switch keeps passing one port, as before replicas.
    /// </summary>
    public static ReplicaRoute RouteOf(SqliteConnection c, long projectId, long firstPort)
    {
        var d = c.QueryFirstOrDefault<(long Id, string? HealthUri)>(
            """
            SELECT id, health_uri FROM deployments
            WHERE project_id = @projectId AND host_port = @firstPort AND status IN ('starting', 'health_checking', 'switching', 'live')
            ORDER BY id DESC LIMIT 1
            """, new { projectId, firstPort });
        if (d.Id == 0) return new ReplicaRoute([], null);
        var others = c.Query<int>("SELECT host_port FROM deployment_replicas WHERE deployment_id = @Id ORDER BY replica", new { d.Id }).ToList();
        return new ReplicaRoute(others, d.HealthUri);
    }

    static void InsertReplica(SqliteConnection c, long deploymentId, long replica, string name, int port) =>
        c.Execute("INSERT OR REPLACE INTO deployment_replicas (deployment_id, replica, container_name, host_port) VALUES (@deploymentId, @replica, @name, @port)",
            new { deploymentId, replica, name, port });

    static void DeleteReplicasAbove(SqliteConnection c, long deploymentId, long keep) =>
        c.Execute("DELETE FROM deployment_replicas WHERE deployment_id = @deploymentId AND replica > @keep", new { deploymentId, keep });

    static void SaveHealthUri(SqliteConnection c, long deploymentId, string? healthUri) =>
        c.Execute("UPDATE deployments SET health_uri = @healthUri WHERE id = @deploymentId", new { deploymentId, healthUri });

    /// <summary>
    /// The deploy's part, after its first container passed the health check: starts and checks replicas 2..N of the
    /// project's setting. Any failure removes the replicas this started and rethrows, so the deploy fails as one
    /// whose first container did not pass (its own cleanup removes that one).
    /// </summary>
    public async Task StartExtraAsync(SqliteConnection c, long deploymentId, long projectId, string healthPath, ImageFacts facts, int containerPort,
        DeployLog.Writer log, CancellationToken cancel)
    {
        // What Caddy's active checks GET: the same path the deploy's own check probed (none when Docker's HEALTHCHECK decided).
        SaveHealthUri(c, deploymentId, HealthCheck.DockerDecides(healthPath, facts.Healthcheck) is null ? (healthPath == "" ? "/" : healthPath) : null);
        var count = Projects.ProjectReplicas.FindReplicas(c, projectId);
        if (count <= 1) return;
        var d = DeployStore.FindDeployment(c, deploymentId) ?? throw new InvalidOperationException($"deployment {deploymentId} vanished");
        log.Important($"replicas: starting {count - 1} more container(s) of {d.Image}, each health-checked before the switch");
        try
        {
            for (var r = 2; r <= count; r++)
            {
                var (name, port) = await StartCopyAsync(c, d, r, log, cancel);
                await new HealthCheck(settings, engine).RunAsync(name, port, containerPort, healthPath, facts, log, cancel);
            }
        }
        catch
        {
            await RemoveAsync(ContainersOf(c, d).Where(x => x.Replica > 1).Select(x => x.Name), log.Important);
            DeleteReplicasAbove(c, deploymentId, 1);
            throw;
        }
    }

    /// <summary>Starts replica <paramref name="replica"/> as a copy of the deployment's first container on a fresh loopback port; records it.</summary>
    async Task<(string Name, int Port)> StartCopyAsync(SqliteConnection c, DeploymentRow d, long replica, DeployLog.Writer log, CancellationToken cancel)
    {
        var docker = await engine.ClientAsync(cancel);
        var firstName = d.ContainerName ?? throw new DeployFailure($"deployment {d.Id} has no container to copy for replica {replica}");
        var first = await docker.InspectContainerOrNullAsync(firstName, cancel)
            ?? throw new DeployFailure($"the first container {firstName} is gone, so replica {replica} cannot be made from it (redeploy)");
        var name = NameOf(firstName, replica);
        await docker.RemoveContainerIfExistsAsync(name, cancel);
        for (var attempt = 1; ; attempt++)
        {
            var port = DeployRun.PickFreePort(c, settings);
            InsertReplica(c, d.Id, replica, name, port);
            log.Important($"starting replica {replica}: container {name} on 127.0.0.1:{port}");
            await docker.Containers.CreateContainerAsync(CopyOf(first, name, replica, port), cancel);
            try
            {
                await docker.Containers.StartContainerAsync(name, null, cancel);
                return (name, port);
            }
            catch (DockerApiException e) when (attempt < 5 && (e.Message.Contains("already allocated") || e.Message.Contains("address already in use")))
            {
                log.Line($"port {port} was taken meanwhile, trying another");
                await docker.RemoveContainerIfExistsAsync(name, cancel);
            }
        }
    }

    /// <summary>
    /// The create parameters of a copy: the first container's configuration and host configuration as the engine
    /// reports them, with its own name, its own host port, a replica label and no hostname (the engine gives each its
    /// id, so the copies are told apart, as the test app's answers show).
    /// </summary>
    static CreateContainerParameters CopyOf(ContainerInspectResponse first, string name, long replica, int port)
    {
        var cfg = first.Config ?? throw new DeployFailure($"the engine reported no configuration for {first.Name}");
        var host = first.HostConfig ?? throw new DeployFailure($"the engine reported no host configuration for {first.Name}");
        host.PortBindings = (host.PortBindings ?? new Dictionary<string, IList<PortBinding>>()).ToDictionary(
            b => b.Key, b => (IList<PortBinding>)[new PortBinding { HostIP = "127.0.0.1", HostPort = port.ToString(CultureInfo.InvariantCulture) }]);
        return new CreateContainerParameters
        {
            Name = name,
            Image = cfg.Image,
            Env = cfg.Env,
            Cmd = cfg.Cmd,
            Entrypoint = cfg.Entrypoint,
            WorkingDir = cfg.WorkingDir,
            User = cfg.User,
            Tty = cfg.Tty,
            StopSignal = cfg.StopSignal,
            Healthcheck = cfg.Healthcheck,
            ExposedPorts = cfg.ExposedPorts,
            Labels = new Dictionary<string, string>(cfg.Labels ?? new Dictionary<string, string>()) { [Label] = replica.ToString(CultureInfo.InvariantCulture) },
            HostConfig = host,
        };
    }

    async Task RemoveAsync(IEnumerable<string> names, Action<string> log)
    {
        try
        {
            var docker = await engine.ClientAsync(CancellationToken.None);
            foreach (var name in names)
            {
                await docker.RemoveContainerIfExistsAsync(name, CancellationToken.None);
                log($"removed container {name}");
            }
        }
        catch (Exception e) when (DockerEngine.IsDockerError(e)) { log($"cleanup: {DockerErrors.Readable(e)}"); }
    }

    /// <summary>
    /// After the drain: stops (with a short grace for apps that ignore SIGTERM) and removes every container of a
    /// retired deployment, all at once so the time does not grow with the replicas.
    /// </summary>
    public async Task StopAndRemoveAsync(IReadOnlyList<ReplicaContainer> containers)
    {
        var docker = await engine.ClientAsync(CancellationToken.None);
        await Task.WhenAll(containers.Select(async x =>
        {
            try { await docker.Containers.StopContainerAsync(x.Name, new ContainerStopParameters { WaitBeforeKillSeconds = 3 }, CancellationToken.None); }
            catch (DockerContainerNotFoundException) { }
            await docker.RemoveContainerIfExistsAsync(x.Name, CancellationToken.None);
        }));
    }

    /// <summary>
    /// A changed setting applied to the live deployment at once (as Dokku's ps:scale): more replicas are started from
    /// the live image and checked, then Caddy balances across them; fewer are taken out of Caddy first, drained, then
    /// removed. Returns why it could not, or null (also when nothing is live: the next deploy starts the new count).
    /// </summary>
    public async Task<string?> ScaleLiveAsync(long projectId, int wanted, CancellationToken ct)
    {
        var gate = ProjectLock(projectId);
        await gate.WaitAsync(ct);
        try
        {
            using var c = db.Open();
            if (DeployStore.FindLiveDeployment(c, projectId) is not { ContainerName: not null, Image: { } image } live) return null;
            var have = ContainersOf(c, live);
            if (have.Count == wanted) return null;
            using var log = logs.Open(live.Id);
            log.Important($"[{DateTime.UtcNow:yyyy-MM-dd HH:mm:ss} UTC] replicas: scaling from {have.Count} to {wanted}");
            if (wanted < have.Count)
            {
                // Out of the route first, so no new request reaches them; then the usual drain. From here on the
                // request going away does not stop it half-way.
                var gone = have.Where(x => x.Replica > wanted).ToList();
                DeleteReplicasAbove(c, live.Id, wanted);
                try { await sites.ApplyProjectAsync(projectId, log.Important, CancellationToken.None); }
                catch (Caddy.CaddyException e)
                {
                    // Caddy kept (or was given back) the route to all of them: so do the rows.
                    foreach (var x in gone) InsertReplica(c, live.Id, x.Replica, x.Name, (int)x.HostPort);
                    log.Important($"replicas: scaling to {wanted} failed, {have.Count} kept: {e.Message}");
                    return $"Caddy refused the new route, so the project keeps {have.Count} replicas: {e.Message}";
                }
                if (settings.Drain > TimeSpan.Zero) await Task.Delay(settings.Drain, CancellationToken.None);
                await StopAndRemoveAsync(gone);
                log.Important($"replicas: removed {string.Join(", ", gone.Select(x => x.Name))}");
                return null;
            }
            var docker = await engine.ClientAsync(ct);
            var facts = await ImageFacts.ReadAsync(docker, image, ct);
            var first = await docker.InspectContainerOrNullAsync(live.ContainerName, ct);
            if (first?.HostConfig?.PortBindings?.Keys.FirstOrDefault() is not { } bound || ImageFacts.TcpPortOf(bound) is not { } containerPort)
                return $"the live container {live.ContainerName} is missing or publishes no port; redeploy to start {wanted} replicas";
            var healthPath = Projects.ProjectConfig.FromJson(live.ConfigJson).HealthPath;
            var started = new List<string>();
            try
            {
                for (var r = have.Count + 1; r <= wanted; r++)
                {
                    var (name, port) = await StartCopyAsync(c, live, r, log, ct);
                    started.Add(name);
                    await new HealthCheck(settings, engine).RunAsync(name, port, containerPort, healthPath, facts, log, ct);
                }
                await sites.ApplyProjectAsync(projectId, log.Important, ct);
            }
            catch (Exception e) when (e is DeployFailure or Caddy.CaddyException or OperationCanceledException || DockerEngine.IsDockerError(e))
            {
                DeleteReplicasAbove(c, live.Id, have.Count);
                // The route still lists only the replicas that were there (the apply is the last step, and restores on failure).
                await RemoveAsync(started, log.Important);
                var why = e is DeployFailure ? e.Message : DockerErrors.Readable(e);
                log.Important($"replicas: scaling to {wanted} failed, {have.Count} kept: {why}");
                return $"Starting the new replicas failed, so the project keeps {have.Count}: {why}";
            }
            log.Important($"replicas: {wanted} running, Caddy balances across all of them");
            return null;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// The reconciler's pass over replicas 2..N of every live deployment (replica 1 is its own business, as before
    /// replicas): a stopped one is started again, a removed one is made again from replica 1. Until then Caddy's
    /// health checks keep requests away from it.
    /// </summary>
    public async Task ReviveAsync(CancellationToken ct)
    {
        List<(long Id, long ProjectId)> live;
        using (var c = db.Open())
            live = c.Query<(long, long)>(
                "SELECT DISTINCT d.id, d.project_id FROM deployments d JOIN deployment_replicas r ON r.deployment_id = d.id WHERE d.status = 'live'").AsList();
        foreach (var (id, projectId) in live)
        {
            var gate = ProjectLock(projectId);
            if (!await gate.WaitAsync(0, ct)) continue; // being scaled right now
            try
            {
                using var c = db.Open();
                if (DeployStore.FindDeployment(c, id) is not { Status: DeployStates.Live } d) continue;
                // Stopped on purpose for a moment (a volume restore, stop-old-first): left alone, as replica 1 is.
                if (d.ContainerName is { } held && Volumes.AppHold.Holds(held)) continue;
                // Stopped by its user (Running/AppPower stops every replica): left stopped, as replica 1 is.
                if (Running.RunStore.ListUserStoppedLiveDeployments(c).Contains(id)) continue;
                var docker = await engine.ClientAsync(ct);
                foreach (var x in ContainersOf(c, d).Where(x => x.Replica > 1))
                {
                    var state = (await docker.InspectContainerOrNullAsync(x.Name, ct))?.State;
                    if (state is { Running: true } or { Restarting: true }) continue;
                    using var log = logs.Open(id);
                    var stamp = $"[{DateTime.UtcNow:yyyy-MM-dd HH:mm:ss} UTC]";
                    try
                    {
                        if (state is null)
                        {
                            var (_, port) = await StartCopyAsync(c, d, x.Replica, log, ct);
                            await sites.ApplyProjectAsync(projectId, log.Important, ct);
                            log.Important($"{stamp} replica {x.Replica} ({x.Name}) was missing: made again on 127.0.0.1:{port}");
                        }
                        else
                        {
                            await docker.Containers.StartContainerAsync(x.Name, new ContainerStartParameters(), ct);
                            log.Important($"{stamp} replica {x.Replica} ({x.Name}) was {state.Status} (exit code {state.ExitCode}): started again");
                        }
                    }
                    catch (Exception e) when (e is DeployFailure or Caddy.CaddyException || DockerEngine.IsDockerError(e))
                    {
                        log.Important($"{stamp} replica {x.Replica} ({x.Name}) is down and could not be started again: {DockerErrors.Readable(e)}");
                    }
                }
            }
            catch (Exception e) when (DockerEngine.IsDockerError(e)) { logger.LogDebug("replicas of deployment {Id}: {Message}", id, e.Message); }
            finally { gate.Release(); }
        }
    }

    /// <summary>One replica as the project page shows it: the engine's state, read now.</summary>
    public sealed record ReplicaState(long Replica, string Name, long HostPort, string State);

    public async Task<List<ReplicaState>> StatesAsync(IReadOnlyList<ReplicaContainer> containers, CancellationToken ct)
    {
        var list = new List<ReplicaState>();
        DockerClient? docker = null;
        try { docker = await engine.ClientAsync(ct); } catch (Exception e) when (DockerEngine.IsDockerError(e)) { }
        foreach (var x in containers)
        {
            string state;
            try
            {
                state = docker is null ? "unknown (Docker unreachable)"
                    : (await docker.InspectContainerOrNullAsync(x.Name, ct))?.State is { } s
                        ? s.Running ? (s.Health?.Status is { Length: > 0 } h and not "none" ? $"running ({h})" : "running") : $"{s.Status} (exit code {s.ExitCode})"
                        : "missing";
            }
            catch (Exception e) when (DockerEngine.IsDockerError(e)) { state = "unknown (Docker unreachable)"; }
            list.Add(new ReplicaState(x.Replica, x.Name, x.HostPort, state));
        }
        return list;
    }
}
