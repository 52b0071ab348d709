using System.Collections.Concurrent;
using Dapper;
using Docker.DotNet.Models;
using Microsoft.AspNetCore.DataProtection;
using VpsPanel.Features.Caddy;
using VpsPanel.Features.Data;
using VpsPanel.Features.Deployments;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Domains;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Running;

/// <summary>
/// What the reconciler (Deployments/LiveReconciler) does beyond starting a stopped live container (issue 16):
/// recreates a live container that was removed, from the deployment's image with the spec a deploy gives it
/// (<see cref="AppContainer"/>) on the same host port, so Caddy's route stays right; counts a live container's exits
/// and marks its project crash looping, with the last log lines, when they keep coming; removes containers with this
/// panel's id whose deployment no longer wants them after Running:OrphanGraceSeconds; and regenerates a project's Caddy
/// site file that no longer matches the database. Each action is a project event. Only containers labelled with this
/// panel's id are ever touched, and of those only the ones a deployment of this panel labelled.
/// </summary>
public sealed class SelfHealing(Db db, PanelSettings settings, DockerEngine engine, IDataProtectionProvider protection, DomainSites sites, CaddySite caddy,
    ILogger<SelfHealing> logger)
{
    /// <summary>Exits within this window count towards a crash loop; none within it ends one.</summary>
    public static readonly TimeSpan CrashWindow = TimeSpan.FromMinutes(10);

    sealed class ExitWatch
    {
        public long RestartCount;
        public string? FinishedAt;
        public readonly List<DateTime> Exits = [];
    }

    readonly ConcurrentDictionary<long, ExitWatch> _exits = new();
    readonly ConcurrentDictionary<long, DateTime> _quietUntil = new();

    /// <summary>
    /// A user's start, stop or restart is under way (Running/AppPower): its exits are not crashes and its moment of
    /// "exited" is not "down", so the reconciler leaves the deployment alone until a moment after it ended, and its
    /// exit count starts again from what the engine says then.
    /// </summary>
    public void BeginUserAction(long deploymentId) => _quietUntil[deploymentId] = DateTime.MaxValue;

    public void EndUserAction(long deploymentId)
    {
        _exits.TryRemove(deploymentId, out _);
        _quietUntil[deploymentId] = DateTime.UtcNow.AddSeconds(3);
    }

    public bool IsQuiet(long deploymentId) => _quietUntil.TryGetValue(deploymentId, out var until) && DateTime.UtcNow < until;
    readonly ConcurrentDictionary<string, DateTime> _orphansSeen = new();

    public void KeepOnly(IEnumerable<long> liveIds)
    {
        var keep = liveIds.ToHashSet();
        foreach (var id in _exits.Keys.Where(k => !keep.Contains(k)).ToList()) _exits.TryRemove(id, out _);
        foreach (var id in _quietUntil.Keys.Where(k => !keep.Contains(k) || !IsQuiet(k)).ToList()) _quietUntil.TryRemove(id, out _);
    }

    void Event(long projectId, string kind, string message)
    {
        try
        {
            using var c = db.Open();
            RunStore.RecordEvent(c, projectId, kind, message, null, settings.EventsKept);
        }
        catch (Microsoft.Data.Sqlite.SqliteException e) { logger.LogWarning("could not record the {Kind} event of project {Id}: {Message}", kind, projectId, e.Message); }
    }

    /// <summary>
    /// Counts the exits since the last look: Docker's restart count (its restart policy brings an app that crashed
    /// back at once, with its own back-off) and a new finish time (an exit nothing restarted). The first look at a
    /// container is the baseline. Enough exits within <see cref="CrashWindow"/> mark the project crash looping.
    /// </summary>
    public async Task ObserveAsync(LiveStore.LiveContainer d, ContainerInspectResponse inspect, CancellationToken ct)
    {
        var s = inspect.State ?? new global::Docker.DotNet.Models.State { Status = "unknown" };
        var now = DateTime.UtcNow;
        var w = _exits.GetOrAdd(d.Id, _ => new ExitWatch { RestartCount = inspect.RestartCount, FinishedAt = s.FinishedAt });
        int added;
        lock (w)
        {
            added = (int)Math.Max(0, inspect.RestartCount - w.RestartCount);
            if (added == 0 && s.FinishedAt != w.FinishedAt && !string.IsNullOrEmpty(s.FinishedAt) && !s.FinishedAt.StartsWith("0001-", StringComparison.Ordinal)) added = 1;
            w.RestartCount = inspect.RestartCount;
            w.FinishedAt = s.FinishedAt;
            w.Exits.RemoveAll(t => now - t > CrashWindow);
            for (var i = 0; i < added; i++) w.Exits.Add(now);
        }
        RunStateRow? run;
        using (var c = db.Open()) run = RunStore.FindRunState(c, d.ProjectId);
        var looping = run?.CrashDeploymentId == d.Id;
        var how = $"exited with code {s.ExitCode}{(s.OOMKilled ? " (killed: out of memory)" : "")}";
        if (added > 0 && !looping)
            Event(d.ProjectId, "exited", s.Running
                ? $"container {d.ContainerName} {how}; Docker's restart policy started it again (restart count {inspect.RestartCount})"
                : $"container {d.ContainerName} {how}");
        int count;
        lock (w) count = w.Exits.Count;
        if (!looping && count >= settings.CrashLoopExits)
        {
            var lines = await LastLogLinesAsync(d, ct);
            using var c = db.Open();
            RunStore.MarkCrashLooping(c, d.ProjectId, d.Id, lines);
            RunStore.RecordEvent(c, d.ProjectId, "crash_looping",
                $"crash looping: container {d.ContainerName} exited {count} times within {CrashWindow.TotalMinutes:0} minutes (last: {how}); restarts back off", null, settings.EventsKept);
            logger.LogWarning("{Project}: crash looping ({Count} exits, last {How})", d.Slug, count, how);
        }
        else if (looping && added > 0)
        {
            // The lines of the latest crash are the useful ones.
            var lines = await LastLogLinesAsync(d, ct);
            using var c = db.Open();
            RunStore.UpdateCrashLog(c, d.ProjectId, lines);
        }
        else if (looping && count == 0 && s.Running && !s.Restarting)
        {
            using var c = db.Open();
            RunStore.ClearCrashLoop(c, d.ProjectId);
            RunStore.RecordEvent(c, d.ProjectId, "recovered", $"no longer crash looping: container {d.ContainerName} has run {CrashWindow.TotalMinutes:0} minutes without exiting", null, settings.EventsKept);
        }
    }

    /// <summary>
    /// Whether the reconciler may start this container again now: after a crash loop was reached, each further
    /// start waits 5 s doubling per exit beyond the threshold, at most 5 minutes, after the last exit.
    /// </summary>
    public bool MayStartNow(long deploymentId)
    {
        if (!_exits.TryGetValue(deploymentId, out var w)) return true;
        lock (w)
        {
            var beyond = w.Exits.Count - settings.CrashLoopExits;
            if (beyond < 0 || w.Exits.Count == 0) return true;
            var wait = TimeSpan.FromSeconds(Math.Min(300, 5 * Math.Pow(2, Math.Min(beyond, 10))));
            return DateTime.UtcNow - w.Exits[^1] >= wait;
        }
    }

    /// <summary>The last 20 lines of the container's output, secret values masked as on the container logs page; kept in the database.</summary>
    async Task<string> LastLogLinesAsync(LiveStore.LiveContainer d, CancellationToken ct)
    {
        try
        {
            var mask = Variables.SecretMask.None;
            using (var c = db.Open())
                if (DeployStore.FindDeployment(c, d.Id) is { } row)
                {
                    try { mask = Variables.DeployVariables.MaskOf(Variables.DeployVariables.ForDeployment(c, protection, row.Id, row.ProjectId, ProjectConfig.FromJson(row.ConfigJson)).Vars); }
                    catch (DeployFailure) { return "(the log is not shown: the deployment's variables cannot be decrypted to hide its secrets)"; }
                }
            var logs = await engine.ContainerLogsAsync(d.ContainerName, 20, 16 * 1024, ct);
            return string.Join('\n', (logs?.Lines ?? []).Select(l => mask.Apply(Shared.Ansi.Strip(l.Text))));
        }
        catch (Exception e) when (DockerEngine.IsDockerError(e)) { return $"(the log could not be read: {DockerErrors.Readable(e)})"; }
    }

    /// <summary>
    /// A live container that is gone (docker rm -f): made again from the deployment's image, with its variables,
    /// volumes, network and the project's limits, on the host port Caddy routes to. Null when it runs again, else why not.
    /// </summary>
    public async Task<string?> RecreateAsync(LiveStore.LiveContainer live, CancellationToken ct)
    {
        await AppPower.Gate.WaitAsync(ct);
        try
        {
            using var c = db.Open();
            var d = DeployStore.FindDeployment(c, live.Id);
            // Retired or stopped by a user while we waited for the gate: nothing to do.
            if (d?.Status != DeployStates.Live || RunStore.IsStoppedByUser(c, d.Id)) return null;
            var project = ProjectStore.FindProjectById(c, d.ProjectId);
            if (project is null) return null;
            if (d.Image is not { } image || d.HostPort is not { } hostPort) return "the deployment has no image or port recorded; redeploy";
            try
            {
                var docker = await engine.ClientAsync(ct);
                if (!await docker.ImageExistsAsync(image, ct)) return $"its image {image} no longer exists; redeploy";
                var notes = new List<string>();
                var (config, vars) = Variables.DeployVariables.ForDeployment(c, protection, d.Id, project.Id, ProjectConfig.FromJson(d.ConfigJson), notes.Add);
                var plan = await AppContainer.PlanAsync(c, engine, settings, project, image, config, vars, notes.Add, ct);
                var panel = PanelIdentity.Of(c);
                var network = await ProjectNetwork.EnsureAsync(docker, panel, project.Slug, ct);
                await docker.Containers.CreateContainerAsync(
                    AppContainer.Spec(settings, live.ContainerName, image, AppContainer.Labels(panel, project.Slug, d.Id), plan, (int)hostPort, project.Limits, network).Parameters(), ct);
                try { await docker.Containers.StartContainerAsync(live.ContainerName, null, ct); }
                catch
                {
                    await docker.RemoveContainerIfExistsAsync(live.ContainerName, CancellationToken.None);
                    throw;
                }
            }
            catch (Exception e) when (DockerEngine.IsDockerError(e) || e is DeployFailure)
            {
                var why = DockerErrors.Readable(e);
                RunStore.RecordEvent(c, project.Id, "recreate_failed", $"container {live.ContainerName} is missing and could not be recreated: {why}", null, settings.EventsKept);
                return why;
            }
            RunStore.RecordEvent(c, project.Id, "recreated",
                $"container {live.ContainerName} was missing; recreated by self-healing from image {image} on 127.0.0.1:{hostPort} (the port Caddy routes to)", null, settings.EventsKept);
            return null;
        }
        finally { AppPower.Gate.Release(); }
    }

    /// <summary>Self-healing started a stopped live container again (LiveReconciler.RestartAsync).</summary>
    public void Restarted(LiveStore.LiveContainer d, string before, bool running) =>
        Event(d.ProjectId, running ? "restarted" : "restart_failed",
            $"container {d.ContainerName} was {before}; {(running ? "started again by self-healing" : "self-healing started it but it stopped again")}");

    /// <summary>
    /// Containers of this panel's deployments that no deployment wants any more (retired, failed, cancelled, deleted):
    /// a drain cut short, a crash between two steps. A deploy's own cleanup removes them at once; this is for what
    /// slipped through, and waits Running:OrphanGraceSeconds from the first time it saw one, so a container being
    /// drained or retired right now is never taken from under its deploy. Containers of services, volume helpers or
    /// anything without a deployment label are not this sweep's.
    /// </summary>
    public async Task SweepOrphansAsync(CancellationToken ct)
    {
        string panel;
        using (var c = db.Open()) panel = PanelIdentity.Of(c);
        var docker = await engine.ClientAsync(ct);
        var containers = await docker.Containers.ListContainersAsync(
            new ContainersListParameters { All = true, Filters = DockerAbsentOk.LabelFilter($"{PanelIdentity.Label}={panel}") }, ct);
        var now = DateTime.UtcNow;
        var seenNow = new HashSet<string>();
        foreach (var ctr in containers)
        {
            // The list filter is the engine's; the label is checked again here, so a filter the engine ignored cannot widen this.
            if (ctr.Labels is null || !ctr.Labels.TryGetValue(PanelIdentity.Label, out var owner) || owner != panel) continue;
            if (!ctr.Labels.TryGetValue("vpspanel.deployment", out var dep) || !long.TryParse(dep, out var depId)) continue;
            string? status;
            using (var c = db.Open()) status = DeployStore.FindStatus(c, depId);
            if (status is not (null or DeployStates.Retired or DeployStates.Failed or DeployStates.Cancelled or DeployStates.Superseded)) continue;
            seenNow.Add(ctr.ID);
            var first = _orphansSeen.GetOrAdd(ctr.ID, now);
            if (now - first < settings.OrphanGrace) continue;
            var name = ctr.Names.FirstOrDefault()?.TrimStart('/') ?? ctr.ID;
            await docker.RemoveContainerIfExistsAsync(ctr.ID, ct);
            _orphansSeen.TryRemove(ctr.ID, out _);
            logger.LogInformation("removed orphaned container {Name} (deployment {Id}, {Status})", name, depId, status ?? "deleted");
            long? projectId;
            using (var c = db.Open())
                projectId = c.ExecuteScalar<long?>("SELECT project_id FROM deployments WHERE id = @depId", new { depId })
                    ?? (ctr.Labels.TryGetValue("vpspanel.project", out var slug) ? c.ExecuteScalar<long?>("SELECT id FROM projects WHERE slug = @slug", new { slug }) : null);
            if (projectId is { } pid)
                Event(pid, "orphan_removed", $"removed container {name}: no deployment owns it (deployment {depId} is {status ?? "gone"}) and it was left over for more than {settings.OrphanGrace.TotalSeconds:0} s");
        }
        foreach (var id in _orphansSeen.Keys.Where(k => !seenNow.Contains(k)).ToList()) _orphansSeen.TryRemove(id, out _);
    }

    /// <summary>
    /// A project's site file that differs from what the database renders (edited or deleted by hand, restored from an
    /// old copy) is rendered again and Caddy reloaded. Looked at twice, 2 s apart, so a change being applied right now
    /// (a deploy's switch, a domain change: they write the file, then the database) is not taken for drift.
    /// </summary>
    public async Task RegenerateDriftedSitesAsync(CancellationToken ct)
    {
        // Before the startup recovery has rendered the sites, a file that differs is not drift yet (DomainSites.StartupRendered).
        if (!sites.StartupRendered) return;
        var drifted = DriftedProjects();
        if (drifted.Count == 0) return;
        await Task.Delay(2000, ct);
        foreach (var (id, slug) in DriftedProjects().Where(drifted.Contains))
        {
            try
            {
                await sites.ApplyProjectAsync(id, _ => { }, ct);
                Event(id, "site_regenerated", $"the Caddy site file {CaddySite.FileName(slug)} did not match the database (changed or removed outside the panel); regenerated and Caddy reloaded");
            }
            catch (CaddyException e)
            {
                Event(id, "site_regenerate_failed", $"the Caddy site file {CaddySite.FileName(slug)} does not match the database and regenerating it failed: {e.Message}");
            }
        }
    }

    List<(long Id, string Slug)> DriftedProjects()
    {
        using var c = db.Open();
        var wanted = DomainSites.RenderAll(c, TlsOptions.From(settings), panelUpstream: "", without: null, switchTo: null);
        var drifted = new List<(long, string)>();
        // A deployment in the switching step decides its project's route itself, and after a crash startup recovery
        // (SwitchRecovery) does, from what Caddy really routes: rendering from the database now would flap it back.
        var switching = c.Query<long>("SELECT DISTINCT project_id FROM deployments WHERE status = 'switching'").ToHashSet();
        foreach (var p in ProjectDomains.ListRoutedProjects(c))
        {
            if (switching.Contains(p.Id)) continue;
            var file = CaddySite.FileName(p.Slug);
            var path = caddy.SitePath(file);
            var onDisk = File.Exists(path) ? File.ReadAllText(path) : null;
            if (wanted.GetValueOrDefault(file) != onDisk) drifted.Add((p.Id, p.Slug));
        }
        return drifted;
    }
}
