using System.Collections.Concurrent;
using System.Threading.Channels;
using Docker.DotNet.Models;
using VpsPanel.Features.Caddy;
using VpsPanel.Features.Data;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Domains;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Deployments;

/// <summary>
/// The one deploy worker. The queue is the deployments table: the worker claims queued rows (one per project at a
/// time, at most Deploy:MaxParallelBuilds at once) and runs each as a <see cref="DeployRun"/>. It wakes when told
/// (a deploy was queued or finished) and otherwise polls every few seconds, so nothing waits on a lost signal.
/// </summary>
public sealed class DeployWorker(
    Db db, PanelSettings settings, DeployRun run, DockerEngine engine, DomainSites sites, ILogger<DeployWorker> logger) : BackgroundService
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
        await RecoverAsync(stopping);
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                while (_running.Count < settings.MaxParallelBuilds && Claim() is { } id)
                    Start(id, stopping);
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
                logger.LogError(e, "deployment {Id}: the worker could not run it", id);
                try
                {
                    using var c = db.Open();
                    DeployStore.FinishUnsuccessfully(c, id, DeployStates.Failed, "internal error: " + e.Message);
                }
                catch (Exception again) { logger.LogError(again, "deployment {Id}: could not record the failure", id); }
            }
            finally
            {
                _running.TryRemove(id, out _);
                cts.Dispose();
                Wake();
            }
        }, CancellationToken.None);
    }

    void Track(Task t)
    {
        _retiring[t] = 0;
        t.ContinueWith(done => _retiring.TryRemove(done, out _), TaskScheduler.Default);
    }

    /// <summary>
    /// After a crash or kill -9: deployments left mid-step become failed ("interrupted by panel restart") and what
    /// they started is removed. The live deployment is a different row: its container is not touched, and if the
    /// crash came mid-switch the site files are regenerated (see RegenerateSitesAsync) to point at the live container again.
    /// Leftover containers of retired deployments (a drain cut short) are removed too.
    /// </summary>
    async Task RecoverAsync(CancellationToken ct)
    {
        try
        {
            using var c = db.Open();
            var docker = await engine.ClientAsync(ct);
            var interrupted = DeployStore.FailInterruptedDeployments(c);
            foreach (var d in interrupted)
            {
                logger.LogWarning("deployment {Id} was interrupted at {Status} by a panel restart; marked failed", d.Id, d.Status);
                using (var log = new DeployLog(settings).Open(d.Id))
                    log.Important($"FAILED at {DeployStates.Label(d.Status)}: interrupted by panel restart");
                if (d.ContainerName is { } name) await docker.RemoveContainerIfExistsAsync(name, ct);
            }
            var panel = PanelIdentity.Of(c);
            var containers = await docker.Containers.ListContainersAsync(
                new ContainersListParameters { All = true, Filters = DockerAbsentOk.LabelFilter($"{PanelIdentity.Label}={panel}") }, ct);
            foreach (var ctr in containers)
            {
                if (!ctr.Labels.TryGetValue("vpspanel.deployment", out var dep) || !long.TryParse(dep, out var depId)) continue;
                var status = DeployStore.FindStatus(c, depId);
                if (status is null or DeployStates.Retired or DeployStates.Failed or DeployStates.Cancelled)
                {
                    logger.LogInformation("removing leftover container {Name} (deployment {Id}, {Status})", ctr.Names.FirstOrDefault()?.TrimStart('/'), depId, status ?? "deleted");
                    await docker.RemoveContainerIfExistsAsync(ctr.ID, ct);
                }
            }
            var builds = Path.Combine(settings.DataDir, "builds");
            if (Directory.Exists(builds)) Directory.Delete(builds, recursive: true);
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
        await RegenerateSitesAsync(ct);
    }

    /// <summary>
    /// Every site file is rendered again from the database at startup: a crash mid-switch, a panel upgrade that
    /// renders differently, or a hand-edited file all end here. Caddy being down only costs a warning.
    /// </summary>
    async Task RegenerateSitesAsync(CancellationToken ct)
    {
        try { await sites.ApplyAllAsync(m => logger.LogInformation("{Message}", m), ct); }
        catch (Exception e) when (e is CaddyException or IOException or TimeoutException or OperationCanceledException)
        {
            logger.LogWarning("could not regenerate the Caddy site files at startup: {Message}", e.Message);
        }
    }
}
