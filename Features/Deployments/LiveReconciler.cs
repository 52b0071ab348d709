using System.Threading.Channels;
using Docker.DotNet.Models;
using VpsPanel.Features.Data;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Deployments;

/// <summary>
/// Keeps "live" true: every live deployment's container must be running. Docker's own restart policy is not
/// enough: after dockerd was killed and came back, containers stayed `Exited (137)` with restart count 0 despite
/// unless-stopped, and the panel kept calling them live. So this checks at startup, on every Docker event of our
/// containers (die, stop, oom, start; the stream is reconnected with back-off when the engine goes away, and a
/// reconnect checks at once), and every Deploy:ReconcileSeconds. A stopped container is shown as down (pages, API),
/// written to its deployment's log, and started again with bounded attempts and back-off; a missing one is recreated
/// from the live image (issue 16). While the engine is unreachable every live app is shown down: nothing can say otherwise.
/// Issue 16 added the rest of self-healing (Running/SelfHealing): a user's stop is respected, exits are counted into
/// "crash looping", orphaned containers of this panel are removed after a grace period, drifted Caddy sites regenerated.
/// </summary>
public sealed class LiveReconciler(Db db, PanelSettings settings, DockerEngine engine, DeployLog logs, LiveState state, ReplicaSet replicas, Running.SelfHealing healing,
    ILogger<LiveReconciler> logger)
    : BackgroundService
{
    /// <summary>Restarts tried per down period; then it stays down (shown) until someone redeploys or it comes back.</summary>
    public const int MaxRestartAttempts = 5;

    static readonly string[] Actions = ["die", "stop", "oom", "start", "kill", "destroy"];

    /// <summary>Wakes the loop on each event, right as the library reads it (no thread-pool hop, unlike Progress).</summary>
    sealed class OnEvent(Action wake) : IProgress<Message>
    {
        public void Report(Message value) => wake();
    }

    readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public void Wake() => _wake.Writer.TryWrite(true);

    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        await Shared.StartGate.WaitAsync(stopping);
        var events = WatchEventsAsync(stopping);
        while (!stopping.IsCancellationRequested)
        {
            try { await ReconcileOnceAsync(stopping); }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested) { break; }
            catch (Exception e) { logger.LogError(e, "reconciling live containers failed"); }
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            wait.CancelAfter(NextWait());
            try { await _wake.Reader.ReadAsync(wait.Token); }
            catch (OperationCanceledException) { }
            // Events come in bursts (die, then stop): one check after the burst is enough.
            try { await Task.Delay(200, stopping); } catch (OperationCanceledException) { }
            _wake.Reader.TryRead(out _);
        }
        try { await events; } catch (OperationCanceledException) { }
    }

    /// <summary>
    /// Until the next pass: the interval, or sooner when a restart's back-off ends before it (5 s after a failed
    /// first try, e.g. a start on a container that `docker rm -f` was removing, must not become 30 s).
    /// </summary>
    TimeSpan NextWait()
    {
        var now = DateTime.UtcNow;
        var due = state.AllDown.Values.Where(d => d.Attempts < MaxRestartAttempts && d.NextAttemptAt > now).Select(d => d.NextAttemptAt - now).DefaultIfEmpty(settings.ReconcileInterval).Min();
        return due < settings.ReconcileInterval ? due + TimeSpan.FromMilliseconds(100) : settings.ReconcileInterval;
    }

    async Task WatchEventsAsync(CancellationToken stopping)
    {
        var backoff = TimeSpan.FromSeconds(1);
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                string panel;
                using (var c = db.Open()) panel = PanelIdentity.Of(c);
                var docker = await engine.ClientAsync(stopping);
                // The library says nothing when the stream is open, so a ping stands for "connected": the engine is
                // back, so the back-off starts over and the check runs at once (an app it stopped is started again).
                await docker.System.PingAsync(stopping);
                backoff = TimeSpan.FromSeconds(1);
                Wake();
                var filters = DockerAbsentOk.LabelFilter($"{PanelIdentity.Label}={panel}");
                filters["type"] = new Dictionary<string, bool> { ["container"] = true };
                filters["event"] = Actions.ToDictionary(a => a, _ => true);
                // Returns when the engine closes the stream; throws when it goes away mid-stream.
                await docker.System.MonitorEventsAsync(new ContainerEventsParameters { Filters = filters }, new OnEvent(Wake), stopping);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested) { return; }
            catch (Exception e) when (DockerEngine.IsDockerError(e))
            {
                logger.LogDebug("docker events: {Message}", e.Message);
            }
            catch (Exception e)
            {
                // Anything else (a message the library cannot read) must not end the watch: the reconnect below still runs.
                logger.LogWarning("docker events: {Message}", e.Message);
            }
            // The stream ended: the engine went away (or restarted). Check now, so the pages say so, then reconnect.
            Wake();
            try { await Task.Delay(backoff, stopping); } catch (OperationCanceledException) { return; }
            // Capped low: reconnecting to a local socket is cheap, and the app is started only once we are back.
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
        }
    }

    /// <summary>One pass over every live deployment. Public so a test of the panel's own process is not needed to see one.</summary>
    public async Task ReconcileOnceAsync(CancellationToken ct)
    {
        List<LiveStore.LiveContainer> live;
        HashSet<long> userStopped;
        using (var c = db.Open())
        {
            live = LiveStore.ListLiveContainers(c);
            userStopped = Running.RunStore.ListUserStoppedLiveDeployments(c);
        }
        state.KeepOnly(live.Select(l => l.Id));
        healing.KeepOnly(live.Select(l => l.Id));
        foreach (var d in live)
        {
            // Stopped on purpose for a moment (a stop-old-first deploy, a volume restore): not down.
            if (Volumes.AppHold.Holds(d.ContainerName)) continue;
            // Stopped by its user (Running/AppPower): not down either, and left stopped until they start it. Nor is one
            // a user is starting, stopping or restarting right now.
            if (userStopped.Contains(d.Id) || healing.IsQuiet(d.Id))
            {
                state.SetUp(d.Id);
                continue;
            }
            State? s;
            ContainerInspectResponse? inspect;
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(5));
                var docker = await engine.ClientAsync(timeout.Token);
                inspect = await docker.InspectContainerOrNullAsync(d.ContainerName, timeout.Token);
                s = inspect?.State;
            }
            catch (Exception e) when (DockerEngine.IsDockerError(e) || (e is OperationCanceledException && !ct.IsCancellationRequested))
            {
                MarkDown(d, "the Docker engine is not reachable");
                continue;
            }
            if (inspect is not null) await healing.ObserveAsync(d, inspect, ct);
            if (s is { Running: true })
            {
                if (state.SetUp(d.Id)) Log(d, $"container {d.ContainerName} is running again");
                continue;
            }
            var reason = s is null
                ? "the container no longer exists (self-healing makes it again from the live image)"
                : $"the container is {s.Status} (exit code {s.ExitCode})";
            var down = MarkDown(d, reason);
            if (down.Attempts < MaxRestartAttempts && DateTime.UtcNow >= down.NextAttemptAt && healing.MayStartNow(d.Id))
            {
                if (s is not null) await RestartAsync(d, down, ct, reason);
                else await RecreateAsync(d, down, ct);
            }
        }
        // The rest of self-healing (Running/SelfHealing): each part on its own, so one failing does not stop the others.
        try { await healing.SweepOrphansAsync(ct); }
        catch (Exception e) when (DockerEngine.IsDockerError(e)) { logger.LogDebug("orphan sweep: {Message}", e.Message); }
        try { await healing.RegenerateDriftedSitesAsync(ct); }
        catch (IOException e) { logger.LogWarning("site drift check: {Message}", e.Message); }
        // Replicas 2..N of each live deployment (the loop above keeps replica 1, the deployment's own container).
        await replicas.ReviveAsync(ct);
    }

    async Task RecreateAsync(LiveStore.LiveContainer d, ContainerDown down, CancellationToken ct)
    {
        var attempt = down.Attempts + 1;
        state.SetDown(d.Id, down with { Attempts = attempt, NextAttemptAt = DateTime.UtcNow + TimeSpan.FromSeconds(5 * Math.Pow(2, attempt - 1)) });
        if (await healing.RecreateAsync(d, ct) is { } problem)
            Log(d, $"could not recreate container {d.ContainerName} (attempt {attempt}/{MaxRestartAttempts}): {problem}", warn: true);
        else
        {
            state.SetUp(d.Id);
            Log(d, $"recreated container {d.ContainerName} from the live image (attempt {attempt}/{MaxRestartAttempts}); it is running");
        }
    }

    ContainerDown MarkDown(LiveStore.LiveContainer d, string reason)
    {
        var old = state.DownOf(d.Id);
        var now = DateTime.UtcNow;
        // The first time, a restart may be tried at once; the engine being away is no reason to count an attempt.
        var down = old is null ? new ContainerDown(now, reason, 0, now) : old with { Reason = reason };
        state.SetDown(d.Id, down);
        if (old is null || old.Reason != reason) Log(d, $"live, but {reason}", warn: true);
        return down;
    }

    async Task RestartAsync(LiveStore.LiveContainer d, ContainerDown down, CancellationToken ct, string reason)
    {
        var attempt = down.Attempts + 1;
        // 5 s, 10 s, 20 s, 40 s between attempts: a crash loop is not hammered, a one-off stop is fixed at once.
        var next = DateTime.UtcNow + TimeSpan.FromSeconds(5 * Math.Pow(2, attempt - 1));
        state.SetDown(d.Id, down with { Attempts = attempt, NextAttemptAt = next });
        try
        {
            var docker = await engine.ClientAsync(ct);
            // Under the controls' gate, and asked again inside it: a user's stop that came meanwhile wins.
            await Running.AppPower.Gate.WaitAsync(ct);
            try
            {
                using (var c = db.Open())
                    if (Running.RunStore.IsStoppedByUser(c, d.Id)) return;
                // A user's start or restart that held the gate may have brought it back already.
                if ((await docker.InspectContainerOrNullAsync(d.ContainerName, ct))?.State is { Running: true })
                {
                    state.SetUp(d.Id);
                    return;
                }
                await docker.Containers.StartContainerAsync(d.ContainerName, new ContainerStartParameters(), ct);
            }
            finally { Running.AppPower.Gate.Release(); }
            var after = (await docker.InspectContainerOrNullAsync(d.ContainerName, ct))?.State;
            healing.Restarted(d, reason.Replace("the container is ", ""), after is { Running: true });
            if (after is { Running: true })
            {
                state.SetUp(d.Id);
                Log(d, $"started container {d.ContainerName} again (attempt {attempt}/{MaxRestartAttempts}); it is running");
                Notifications.Notify.AppWasRestarted(db, d.ProjectId, d.Id, $"container {d.ContainerName} was down ({down.Reason}); started again (attempt {attempt}/{MaxRestartAttempts})", crashLooping: false);
            }
            else
            {
                Log(d, $"started container {d.ContainerName} again (attempt {attempt}/{MaxRestartAttempts}) but it is {after?.Status ?? "gone"}", warn: true);
                Notifications.Notify.AppWasRestarted(db, d.ProjectId, d.Id, $"container {d.ContainerName} stopped again after a restart (attempt {attempt}/{MaxRestartAttempts}): it is {after?.Status ?? "gone"}", crashLooping: true);
            }
        }
        catch (Exception e) when (DockerEngine.IsDockerError(e))
        {
            Log(d, $"could not start container {d.ContainerName} (attempt {attempt}/{MaxRestartAttempts}): {DockerErrors.Readable(e)}", warn: true);
        }
    }

    void Log(LiveStore.LiveContainer d, string message, bool warn = false)
    {
        if (warn) logger.LogWarning("{Project} deployment {Id}: {Message}", d.Slug, d.Id, message);
        else logger.LogInformation("{Project} deployment {Id}: {Message}", d.Slug, d.Id, message);
        try
        {
            using var w = logs.Open(d.Id);
            w.Important($"[{DateTime.UtcNow:yyyy-MM-dd HH:mm:ss} UTC] {message}");
        }
        catch (IOException e) { logger.LogWarning("could not write the log of deployment {Id}: {Message}", d.Id, e.Message); }
    }
}
