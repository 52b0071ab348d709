using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Deployments;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Servers;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Cluster;

/// <summary>
/// The cluster half of a deployment (DeployRun does the rest: clone, build, switch). A cluster project is one Swarm
/// service; a deploy publishes the image (ClusterRegistry) and creates the service or rolls it to the new image:
/// one task at a time, the new task started before the old one stops (start-first), and Swarm rolls back by itself
/// when a new task fails within the monitor period. Then the panel checks every new task over HTTP from here, as it
/// checks a container; a task that does not answer rolls the service back too. Until this returns, the live
/// deployment's route keeps following whichever tasks run (ClusterRoutes), so requests go on being served during
/// the update. Tasks publish their port in host mode (Swarm picks it) and join one overlay network with endpoint mode
/// dnsrr, so nothing depends on the ingress mesh or IPVS, which many hosts lack.
/// </summary>
public sealed class ClusterDeploy(PanelSettings settings, DockerEngine engine, ClusterRoutes routes)
{
    public static string ServiceName(string panel, string slug) => $"vpspanel-{panel}-{slug}";

    /// <summary>The overlay network every cluster project of this panel joins; a project is reachable there by its slug.</summary>
    public static string NetworkName(string panel) => $"vpspanel-{panel}-cluster";

    public sealed record Started(string ServiceName, string Image, List<ClusterRoutes.TaskAddress> Tasks, bool Created, DateTime Since);

    static readonly HttpClient Probe = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false }) { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>
    /// Publishes <paramref name="image"/>, brings the service to it, waits for every task and checks each one. On any
    /// failure (or cancel) the service is what it was before (rolled back, or removed when this deploy created it) and
    /// a <see cref="DeployFailure"/> says why.
    /// </summary>
    public async Task<Started> StartAsync(SqliteConnection c, long id, ProjectRow project, string panel, string image, AppContainer.Plan plan, ProjectConfig config,
        Action<string> log, CancellationToken cancel)
    {
        var choice = ClusterPlacement.Find(c, project.Id);
        var replicas = ProjectReplicas.FindReplicas(c, project.Id);
        var problems = await ClusterPlacement.ProblemsAsync(engine, choice, replicas, plan.Mounts.Count > 0, cancel);
        if (problems.Count > 0) throw new DeployFailure("the cluster cannot run this project as set: " + string.Join(" ", problems.Values));
        var nodes = (await SwarmServers.ListAsync(engine, cancel))!;
        var docker = await engine.ClientAsync(cancel);
        var reference = await ClusterRegistry.PublishAsync(settings, docker, image, $"vpspanel/{panel}-{project.Slug}", id, nodes.Count, log, cancel);
        var network = await EnsureNetworkAsync(docker, panel, cancel);
        var service = ServiceName(panel, project.Slug);
        var spec = Spec(service, panel, project, id, reference, plan, replicas, ClusterPlacement.Parse(choice.Placement)!, network);
        var existing = await InspectOrNullAsync(docker, service, cancel);
        var since = DateTime.UtcNow.AddSeconds(-1);
        log($"{(existing is null ? "creating" : "rolling")} service {service}: {replicas} task(s), placement {choice.Placement}, image {reference}" +
            (existing is null ? "" : choice.Placement == "spread"
                ? " (one task at a time, stopped before its replacement starts on that server, as spread allows one per server; Swarm rolls back a task that fails)"
                : " (one task at a time, each new task started before the old one stops; Swarm rolls back a task that fails)"));
        if (existing is null)
            await docker.Swarm.CreateServiceAsync(new ServiceCreateParameters { Service = spec, RegistryAuth = ClusterRegistry.Auth(settings) }, cancel);
        else
            await docker.Swarm.UpdateServiceAsync(existing.ID, new ServiceUpdateParameters { Service = spec!, Version = (long)(existing.Version?.Index ?? 0), RegistryAuth = ClusterRegistry.Auth(settings) }, cancel);
        try
        {
            var tasks = await WaitForTasksAsync(docker, project.Id, service, id, replicas, existing is not null, since, log, cancel);
            await CheckTasksAsync(tasks, config.HealthPath, log, cancel);
            return new Started(service, reference, tasks, existing is null, since);
        }
        catch (Exception e) when (e is DeployFailure or OperationCanceledException || DockerEngine.IsDockerError(e))
        {
            await UndoAsync(docker, project.Id, service, existing is null, since, log);
            throw;
        }
    }

    /// <summary>After a failed switch: the service goes back to what it ran before this deploy (or away, if this deploy made it).</summary>
    public async Task UndoAsync(DockerClient docker, long projectId, string service, bool created, DateTime since, Action<string> log)
    {
        try
        {
            var svc = await InspectOrNullAsync(docker, service, CancellationToken.None);
            if (svc is null) return;
            if (created)
            {
                await docker.Swarm.RemoveServiceAsync(svc.ID, CancellationToken.None);
                log($"removed service {service}");
                return;
            }
            // Swarm may already be rolling back this very update (a task failed); an older update's state does not count.
            var current = svc.UpdateStatus is { StartedAt: { } at } s && at >= since ? s.State : null;
            if (current is not ("rollback_started" or "rollback_completed" or "rollback_paused"))
            {
                log($"rolling service {service} back to the version before this deploy");
                await docker.Swarm.UpdateServiceAsync(svc.ID, new ServiceUpdateParameters { Service = svc.Spec!, Version = (long)(svc.Version?.Index ?? 0), Rollback = "previous", RegistryAuth = ClusterRegistry.Auth(settings) }, CancellationToken.None);
            }
            // The live route follows the old tasks as they come back; wait for the rollback so the next deploy starts from a settled service.
            var deadline = DateTime.UtcNow.AddMinutes(3);
            while (DateTime.UtcNow < deadline)
            {
                await Task.Delay(1000);
                await SyncQuietlyAsync(projectId);
                svc = await docker.Swarm.InspectServiceAsync(svc.ID, CancellationToken.None);
                if (svc.UpdateStatus?.State is "rollback_completed" or "rollback_paused" or "paused") break;
            }
            log($"service {service}: {svc.UpdateStatus?.State?.Replace('_', ' ') ?? "unchanged"}");
        }
        catch (Exception e) when (DockerEngine.IsDockerError(e))
        {
            log($"undoing the change of service {service} failed: {DockerErrors.Readable(e)}");
        }
    }

    async Task SyncQuietlyAsync(long projectId)
    {
        try { await routes.SyncProjectAsync(projectId, CancellationToken.None); }
        catch (Exception e) when (DockerEngine.IsDockerError(e)) { }
    }

    static ServiceSpec Spec(string service, string panel, ProjectRow project, long id, string reference, AppContainer.Plan plan, int replicas,
        ClusterPlacement.Parsed placement, string network)
    {
        var labels = AppContainer.Labels(panel, project.Slug, id);
        return new ServiceSpec
        {
            Name = service,
            Labels = new Dictionary<string, string> { [PanelIdentity.Label] = panel, ["vpspanel.project"] = project.Slug },
            Mode = new ServiceMode { Replicated = new ReplicatedService { Replicas = (ulong)replicas } },
            TaskTemplate = new TaskSpec
            {
                ContainerSpec = new global::Docker.DotNet.Models.ContainerSpec { Image = reference, Env = plan.Env, Labels = labels, Mounts = plan.Mounts, StopGracePeriod = TimeSpan.FromSeconds(10) },
                Resources = new ResourceRequirements
                {
                    Limits = new SwarmLimit { MemoryBytes = project.Limits.MemoryMb is { } mb ? mb * 1024 * 1024 : null, NanoCPUs = project.Limits.NanoCpus, Pids = project.Limits.PidsLimit },
                },
                RestartPolicy = new SwarmRestartPolicy { Condition = "any", Delay = TimeSpan.FromSeconds(2) },
                Placement = ClusterPlacement.SwarmPlacement(placement),
                Networks = [new NetworkAttachmentConfig { Target = network, Aliases = [project.Slug] }],
                // A redeploy of the same image still replaces every task: the deployment id is the spec's change.
                ForceUpdate = (ulong)id,
            },
            EndpointSpec = new EndpointSpec
            {
                Mode = "dnsrr",
                Ports = [new PortConfig { Protocol = "tcp", TargetPort = (uint)plan.ContainerPort, PublishMode = "host" }],
            },
            UpdateConfig = new SwarmUpdateConfig
            {
                // Spread allows one task per node, so a new task cannot start beside the old one: there the old one
                // stops first and the other nodes' tasks serve meanwhile (Caddy retries a request that hit it).
                Parallelism = 1, Order = Order(placement), FailureAction = "rollback", Monitor = TimeSpan.FromSeconds(5), MaxFailureRatio = 0,
                // Time for the route to pick up the new task (Cluster:SyncSeconds) before the next old one stops.
                Delay = TimeSpan.FromSeconds(3),
            },
            RollbackConfig = new SwarmUpdateConfig { Parallelism = 1, Order = Order(placement), FailureAction = "pause", Monitor = TimeSpan.FromSeconds(5), MaxFailureRatio = 0 },
        };
    }

    static string Order(ClusterPlacement.Parsed placement) => placement.Kind == "spread" ? "stop-first" : "start-first";

    /// <summary>
    /// Waits until <paramref name="replicas"/> tasks of this deployment run (and, for an update, Swarm says it is
    /// complete), keeping the live route current meanwhile. Fails on Swarm's rollback, on tasks that keep failing,
    /// on tasks no node can take, or after the health check's time budget.
    /// </summary>
    async Task<List<ClusterRoutes.TaskAddress>> WaitForTasksAsync(DockerClient docker, long projectId, string service, long id, int replicas, bool update,
        DateTime since, Action<string> log, CancellationToken cancel)
    {
        var budget = TimeSpan.FromTicks(Math.Max(TimeSpan.FromMinutes(3).Ticks, settings.HealthTimeout.Ticks * settings.HealthRetries));
        var deadline = DateTime.UtcNow + budget;
        DateTime? unplaceableSince = null;
        string lastSaid = "";
        while (true)
        {
            await Task.Delay(1000, cancel);
            if (update) await SyncQuietlyAsync(projectId);
            var svc = await docker.Swarm.InspectServiceAsync(service, cancel);
            var status = svc.UpdateStatus is { StartedAt: { } started } s && started >= since ? s : null;
            if (status?.State is { } state && state != lastSaid)
            {
                lastSaid = state;
                log($"swarm: update {state.Replace('_', ' ')}{(string.IsNullOrEmpty(status.Message) ? "" : ": " + status.Message)}");
                if (state is "rollback_started" or "rollback_completed" or "rollback_paused" or "paused")
                    throw new DeployFailure($"a new task failed, so Swarm rolled the service back to the live version ({status.Message})");
            }
            var ours = (await ClusterRoutes.RunningTasksAsync(docker, service, cancel)).Where(t => t.ForceUpdate == (ulong)id).ToList();
            if (ours.Count >= replicas && (!update || status?.State == "completed"))
            {
                log($"{ours.Count} task(s) running: {string.Join(", ", ours.Select(t => $"{t.Hostname} ({t.Upstream})"))}");
                return ours;
            }
            var all = await docker.Tasks.ListAsync(new TasksListParameters
            {
                Filters = new Dictionary<string, IDictionary<string, bool>> { ["service"] = new Dictionary<string, bool> { [service] = true } },
            }, cancel);
            var mine = all.Where(t => t.Spec?.ForceUpdate == (ulong)id).ToList();
            var failed = mine.Where(t => t.Status?.State is TaskState.Failed or TaskState.Rejected).ToList();
            if (failed.Count >= 3 && !update)
                throw new DeployFailure($"{failed.Count} tasks failed to start: {Reason(failed.OrderByDescending(t => t.Status?.Timestamp).First())}");
            var pending = mine.FirstOrDefault(t => t.Status?.State == TaskState.Pending && !string.IsNullOrEmpty(t.Status.Err));
            if (pending is null) unplaceableSince = null;
            else if ((unplaceableSince ??= DateTime.UtcNow) < DateTime.UtcNow.AddSeconds(-20))
                throw new DeployFailure($"no server can take a task of this project: {pending.Status!.Err}");
            if (DateTime.UtcNow > deadline)
                throw new DeployFailure($"after {budget.TotalSeconds:0} s only {ours.Count} of {replicas} task(s) run" +
                    (mine.OrderByDescending(t => t.Status?.Timestamp).FirstOrDefault() is { } last ? $" (latest task: {Reason(last)})" : ""));
        }
    }

    static string Reason(TaskResponse t) =>
        $"{t.Status?.State?.ToString().ToLowerInvariant()}{(string.IsNullOrEmpty(t.Status?.Err) ? "" : ": " + t.Status!.Err)}{(string.IsNullOrEmpty(t.Status?.Message) ? "" : " (" + t.Status!.Message + ")")}";

    /// <summary>
    /// Every new task must answer where Caddy will reach it: GET of the health path with 2xx/3xx, or, with no health
    /// path (a database, a TCP service), a connection its port accepts. Each gets the same tries as a container's
    /// health check.
    /// </summary>
    async Task CheckTasksAsync(List<ClusterRoutes.TaskAddress> tasks, string healthPath, Action<string> log, CancellationToken cancel)
    {
        var path = healthPath is { Length: > 0 } p ? p : null;
        foreach (var t in tasks)
        {
            string last = "";
            var ok = false;
            for (var attempt = 1; attempt <= settings.HealthRetries && !ok; attempt++)
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
                timeout.CancelAfter(settings.HealthTimeout);
                try
                {
                    if (path is null)
                    {
                        using var tcp = new System.Net.Sockets.TcpClient();
                        await tcp.ConnectAsync(t.Address, t.Port, timeout.Token);
                        ok = true;
                    }
                    else
                    {
                        using var answer = await Probe.GetAsync($"http://{t.Upstream}{path}", timeout.Token);
                        var code = (int)answer.StatusCode;
                        ok = code is >= 200 and < 400;
                        last = $"HTTP {code}";
                    }
                }
                catch (HttpRequestException e) { last = e.Message; }
                catch (System.Net.Sockets.SocketException e) { last = e.Message; }
                catch (OperationCanceledException) when (!cancel.IsCancellationRequested) { last = $"no answer within {settings.HealthTimeout.TotalSeconds:0} s"; }
                if (!ok) await Task.Delay(1000, cancel);
            }
            var what = path is null ? $"a connection to {t.Upstream}" : $"GET http://{t.Upstream}{path}";
            if (!ok) throw new DeployFailure($"the task on {t.Hostname} failed its health check, {what}: {last}");
            log($"health check passed: task on {t.Hostname}, {what}");
        }
    }

    public static async Task<SwarmService?> InspectOrNullAsync(DockerClient docker, string service, CancellationToken ct)
    {
        try { return await docker.Swarm.InspectServiceAsync(service, ct); }
        catch (DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound) { return null; }
    }

    static async Task<string> EnsureNetworkAsync(DockerClient docker, string panel, CancellationToken ct)
    {
        var name = NetworkName(panel);
        var found = await docker.Networks.ListNetworksAsync(new NetworksListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["name"] = new Dictionary<string, bool> { [name] = true } },
        }, ct);
        if (found.Any(n => n.Name == name)) return name;
        await docker.Networks.CreateNetworkAsync(new NetworksCreateParameters
        {
            Name = name, Driver = "overlay", Attachable = true, Labels = new Dictionary<string, string> { [PanelIdentity.Label] = panel },
        }, ct);
        return name;
    }

    /// <summary>A new replica count for a live cluster project: Swarm starts or stops tasks, the route follows. Null, or why not.</summary>
    public async Task<string?> ScaleAsync(string panel, string slug, int replicas, CancellationToken ct)
    {
        var docker = await engine.ClientAsync(ct);
        if (await InspectOrNullAsync(docker, ServiceName(panel, slug), ct) is not { } svc) return null;
        svc.Spec!.Mode = new ServiceMode { Replicated = new ReplicatedService { Replicas = (ulong)replicas } };
        try
        {
            await docker.Swarm.UpdateServiceAsync(svc.ID, new ServiceUpdateParameters { Service = svc.Spec!, Version = (long)(svc.Version?.Index ?? 0), RegistryAuth = ClusterRegistry.Auth(settings) }, ct);
            return null;
        }
        catch (DockerApiException e) { return "Swarm refused the new replica count: " + DockerErrors.Readable(e); }
    }

    /// <summary>Removes the project's service (project deleted, or moved back to this server once its container is live).</summary>
    public static async Task RemoveServiceAsync(DockerClient docker, string service, CancellationToken ct)
    {
        if (await InspectOrNullAsync(docker, service, ct) is { } svc) await docker.Swarm.RemoveServiceAsync(svc.ID, ct);
    }
}
