using System.Collections.Concurrent;
using System.Threading.Channels;
using Docker.DotNet;
using Docker.DotNet.Models;
using VpsPanel.Features.Caddy;
using VpsPanel.Features.Data;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Domains;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Settings;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Deployments;

/// <summary>
/// The one deploy worker. The queue is the deployments table: the worker claims queued rows (one per project at a
/// time, at most Deploy:MaxParallelBuilds at once) and runs each as a <see cref="DeployRun"/>. It wakes when told
/// (a deploy was queued or finished) and otherwise polls every few seconds, so nothing waits on a lost signal.
/// </summary>
public sealed class DeployWorker(
    Db db, PanelSettings settings, DeployRun run, DockerEngine engine, DomainSites sites, SwitchRecovery switches, ILogger<DeployWorker> logger) : BackgroundService
{
    readonly ConcurrentDictionary<long, CancellationTokenSource> _running = new();
    readonly ConcurrentDictionary<Task, byte> _retiring = new();
    readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public void Wake() => _wake.Writer.TryWrite(true);

    /// <summary>Aborts a running deployment of this process; false when it is not running here.</summary>
    public bool Cancel(long deploymentId)
    {
        if (!_running.TryGetValue(deploymentId, out var cts)) return false;
        cts.Cancel();
        return true;
    }

    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        await Shared.StartGate.WaitAsync(stopping);
        await RecoverAsync(stopping);
        // Start-up is a burst too (configuration, Razor, Docker and Caddy clients, recovery): what it used once and
        // freed is given back here, or an idle panel keeps ~10 MB of it until its first deploy (measured, issue 13).
        Shared.RuntimeKnobs.ReturnFreeMemory();
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                while (_running.Count < settings.MaxParallelBuilds && Claim() is { } id)
                    Start(id, stopping);
                // Only here, after the claim: a deploy that ended with more queued behind it is not a reason to trim.
                if (_running.IsEmpty && _retiring.IsEmpty) Shared.RuntimeKnobs.TrimWhenIdle(Interlocked.Exchange(ref _ended, 0) == 1);
            }
            catch (Microsoft.Data.Sqlite.SqliteException e)
            {
                logger.LogWarning("deploy queue: {Message}", e.Message);
            }
            using var poll = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            poll.CancelAfter(TimeSpan.FromSeconds(3));
            try { await _wake.Reader.ReadAsync(poll.Token); }
            catch (OperationCanceledException) { }
        }
        // Stopping: running deploys are cancelled (they clean up and end as cancelled), then waited for briefly.
        foreach (var cts in _running.Values) cts.Cancel();
        var deadline = Task.Delay(TimeSpan.FromSeconds(20));
        while (!_running.IsEmpty && !deadline.IsCompleted) await Task.Delay(100);
    }

    long? Claim()
    {
        using var c = db.Open();
        return DeployStore.ClaimNextQueuedDeployment(c);
    }

    void Start(long id, CancellationToken stopping)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        _running[id] = cts;
        _ = Task.Run(async () =>
        {
            try
            {
                var after = await run.RunAsync(id, cts.Token);
                if (after is not null) Track(after());
            }
            catch (Exception e)
            {
                // A DeployFailure here is a known failure whose recording failed (DeployRun says both); anything else is a bug.
                var message = e is DeployFailure ? e.Message : "internal error: " + e.Message;
                if (e is DeployFailure) logger.LogError("deployment {Id} failed: {Message}", id, message);
                else logger.LogError(e, "deployment {Id}: the worker could not run it", id);
                try
                {
                    using var c = db.Open();
                    DeployStore.FinishUnsuccessfully(c, id, DeployStates.Failed, message);
                }
                catch (Exception again) { logger.LogError(again, "deployment {Id}: could not record the failure", id); }
            }
            finally
            {
                _running.TryRemove(id, out _);
                cts.Dispose();
                Ended();
            }
        }, CancellationToken.None);
    }

    void Track(Task t)
    {
        _retiring[t] = 0;
        t.ContinueWith(done =>
        {
            _retiring.TryRemove(done, out _);
            Ended();
        }, TaskScheduler.Default);
    }

    int _ended;

    /// <summary>
    /// A deploy is a burst (build output, JSON, processes) between long idle stretches; once no deploy runs or drains,
    /// the memory it used is given back instead of being kept for the next one (Shared/RuntimeKnobs.TrimWhenIdle, from
    /// the loop, after it has looked for queued work).
    /// </summary>
    void Ended()
    {
        Interlocked.Exchange(ref _ended, 1);
        Wake();
    }

    /// <summary>
    /// After a crash or kill -9, in this order, so that no container is removed while Caddy may still route to it:
    /// 1. deployments left mid-switch are decided from what Caddy really routes (SwitchRecovery): finished, or failed;
    /// 2. the other deployments left mid-step become failed ("interrupted by panel restart");
    /// 3. every site file is rendered from the database and Caddy reloaded: route and database agree;
    /// 4. only then are the containers of the failed deployments removed, and leftovers of retired ones (a drain cut
    ///    short). Should Caddy be unreachable at 3, the containers of failed switches stay (the next start removes
    ///    them): one of them may still be what Caddy routes to.
    /// The live deployment's container is never touched here.
    /// </summary>
    async Task RecoverAsync(CancellationToken ct)
    {
        KillOrphanedChildren();
        var afterRoute = new List<string>();
        List<DeploymentRow> interrupted = [];
        try
        {
            using var c = db.Open();
            afterRoute = await switches.ResolveAsync(c, ct);
            interrupted = DeployStore.FailInterruptedDeployments(c);
            foreach (var d in interrupted)
            {
                logger.LogWarning("deployment {Id} was interrupted at {Status} by a panel restart; marked failed", d.Id, d.Status);
                using (var log = new DeployLog(settings, db).Open(d.Id))
                    log.Important($"FAILED at {DeployStates.Label(d.Status)}: interrupted by panel restart");
                // Never routed to (only a switching deployment can be), so it can go before the route is rewritten.
                foreach (var x in ReplicaSet.ContainersOf(c, d)) await (await engine.ClientAsync(ct)).RemoveContainerIfExistsAsync(x.Name, ct);
            }
        }
        catch (Exception e) when (DockerEngine.IsDockerError(e) || e is CaddyException or IOException)
        {
            // Docker or Caddy being down must not keep the queue from starting; the rows are already failed.
            logger.LogWarning("startup recovery could not finish: {Message}", e.Message);
        }
        catch (Exception e)
        {
            // A bug here must not take the whole panel (and its pages) down with it.
            logger.LogError(e, "startup recovery failed");
        }
        var routed = await RegenerateSitesAsync(ct);
        sites.MarkStartupRendered();
        if (routed) PruneStaticFiles();
        if (!routed && afterRoute.Count > 0)
            logger.LogWarning("kept the containers {Names} of interrupted switches: Caddy could not be reloaded, so it may still route to them", string.Join(", ", afterRoute));
        try
        {
            var docker = await engine.ClientAsync(ct);
            if (routed) foreach (var name in afterRoute) await docker.RemoveContainerIfExistsAsync(name, ct);
            await RemoveLeftoverContainersAsync(docker, keep: routed ? [] : afterRoute, ct);
            // After the containers: an image still used by a container cannot be removed.
            using var c = db.Open();
            var panel = PanelIdentity.Of(c);
            await RemoveImagesOfInterruptedAsync(docker, panel, interrupted, ct);
            foreach (var id in await BuildContainers.RemoveLeftoversAsync(docker, panel, ct))
                logger.LogInformation("removed build container {Id}, left by a build the engine did not finish", id);
        }
        catch (Exception e) when (DockerEngine.IsDockerError(e))
        {
            logger.LogWarning("startup recovery could not remove leftover containers: {Message}", e.Message);
        }
    }

    /// <summary>
    /// Static files of deployments that failed or are no longer kept for rollback (StaticSiteDeploy), only once Caddy
    /// was loaded from the database: before that, it may still serve an interrupted switch's directory.
    /// </summary>
    void PruneStaticFiles()
    {
        try
        {
            using var c = db.Open();
            StaticSiteDeploy.PruneAll(c, settings, m => logger.LogInformation("{Message}", m));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("startup recovery could not prune static files in {Dir}: {Message}", settings.StaticDir, e.Message);
        }
    }

    /// <summary>Containers of ours whose deployment is retired, failed, cancelled or gone; and the build dirs.</summary>
    async Task RemoveLeftoverContainersAsync(DockerClient docker, List<string> keep, CancellationToken ct)
    {
        using var c = db.Open();
        var panel = PanelIdentity.Of(c);
        var containers = await docker.Containers.ListContainersAsync(
            new ContainersListParameters { All = true, Filters = DockerAbsentOk.LabelFilter($"{PanelIdentity.Label}={panel}") }, ct);
        foreach (var ctr in containers)
        {
            var name = ctr.Names.FirstOrDefault()?.TrimStart('/') ?? ctr.ID;
            if (ctr.Labels is null || !ctr.Labels.TryGetValue("vpspanel.deployment", out var dep) || !long.TryParse(dep, out var depId) || keep.Contains(name)) continue;
            var status = DeployStore.FindStatus(c, depId);
            if (status is null or DeployStates.Retired or DeployStates.Failed or DeployStates.Cancelled)
            {
                logger.LogInformation("removing leftover container {Name} (deployment {Id}, {Status})", name, depId, status ?? "deleted");
                await docker.RemoveContainerIfExistsAsync(ctr.ID, ct);
            }
        }
        var builds = Path.Combine(settings.DataDir, "builds");
        if (Directory.Exists(builds)) Directory.Delete(builds, recursive: true);
    }

    /// <summary>
    /// The images built by deployments the restart failed (issue 12, finding 8): a failed deploy's own run removes its
    /// image, but a run killed mid-step never got there, and nothing else ever would. Found by the labels every build
    /// carries (the row's image column is only set once the build has finished, and a build may finish as the panel
    /// dies). A rollback builds nothing: the image it carries is its source's, kept for rollback, and not touched.
    /// </summary>
    async Task RemoveImagesOfInterruptedAsync(DockerClient docker, string panel, IEnumerable<DeploymentRow> interrupted, CancellationToken ct)
    {
        foreach (var d in interrupted.Where(d => d.RollbackOf is null))
            foreach (var image in (await docker.Images.ListImagesAsync(
                new ImagesListParameters { Filters = DockerAbsentOk.LabelFilter($"{PanelIdentity.Label}={panel}", $"vpspanel.deployment={d.Id}") }, ct)).Names())
            {
                logger.LogInformation("removing image {Image} of interrupted deployment {Id}", image, d.Id);
                await docker.RemoveImageIfUnusedAsync(image, ct);
            }
    }

    /// <summary>
    /// A git fetch (or any child) the previous instance started survives its kill -9; it is killed here, before the
    /// queue starts, so it cannot write into a mirror the next deploy fetches into (issue 12, finding 8).
    /// </summary>
    void KillOrphanedChildren()
    {
        try
        {
            foreach (var p in ProcGroups.KillOrphans(settings.DataDir))
                logger.LogWarning("killed {Process}, left running by the panel's previous run", p);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("could not look for processes left by the panel's previous run: {Message}", e.Message);
        }
    }

    /// <summary>
    /// Every site file is rendered again from the database at startup: a crash mid-switch, a panel upgrade that
    /// renders differently, or a hand-edited file all end here. Caddy being down only costs a warning.
    /// </summary>
    async Task<bool> RegenerateSitesAsync(CancellationToken ct)
    {
        try
        {
            await sites.ApplyAllAsync(m => logger.LogInformation("{Message}", m), ct);
            return true;
        }
        catch (Exception e) when (e is CaddyException or IOException or TimeoutException or OperationCanceledException)
        {
            logger.LogWarning("could not regenerate the Caddy site files at startup: {Message}", e.Message);
            return false;
        }
    }
}
