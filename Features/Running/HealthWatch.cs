using System.Collections.Concurrent;
using Dapper;
using VpsPanel.Features.Data;
using VpsPanel.Features.Deployments;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Running;

/// <summary>
/// "Health check failing on a live app" (issue 17): the deploy's health check (Deployments/HealthCheck) runs once,
/// before the switch, and the reconciler only sees whether the container runs, so an app that still runs but answers
/// 500 (a lost database, a full disk, a deadlock) went unnoticed. Every Health:ProbeSeconds each live container app
/// is judged by the deploy's own rule (<see cref="HealthCheck.DockerDecides"/>): Docker's status of the image's
/// HEALTHCHECK when the project set no health path, else a GET of the health path (or /) on 127.0.0.1:host port.
/// Health:FailuresBeforeAlert failures in a row raise app.unhealthy once, with what failed, and a project event; the
/// first good answer after that ends the unhealthy period (a project event, no message), so the next failure run
/// raises again. Cheap: one shared HttpClient, Deploy:HealthTimeoutSeconds per GET, the apps probed a few at a time.
/// Left alone: a project while one of its deploys runs, an app its user stopped or one held or being started by a
/// user, and a container that is not running (that is the reconciler's business, with its own messages).
/// Static sites have no container and are not probed; of a scaled app only replica 1, the deployment's own container.
/// </summary>
public sealed class HealthWatch(Db db, PanelSettings settings, DockerEngine engine, SelfHealing healing, ILogger<HealthWatch> logger) : BackgroundService
{
    static readonly HttpClient Http = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false }) { Timeout = Timeout.InfiniteTimeSpan };
    const int AtOnce = 8;

    // Properties, not a positional record: Dapper's constructor mapping wants SQLite's exact types (Int64 for EXISTS).
    sealed record LiveApp
    {
        public long Id { get; init; }
        public long ProjectId { get; init; }
        public string Slug { get; init; } = "";
        public string ContainerName { get; init; } = "";
        public long HostPort { get; init; }
        public string ConfigJson { get; init; } = "";
        public bool Deploying { get; init; }
        public bool StoppedByUser { get; init; }
    }

    sealed class Watch
    {
        public int Failures;
        public bool Alerted;
    }

    readonly ConcurrentDictionary<long, Watch> _watches = new();

    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        await Shared.StartGate.WaitAsync(stopping);
        using var timer = new PeriodicTimer(settings.HealthProbeInterval);
        do
        {
            try { await ProbeOnceAsync(stopping); }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested) { return; }
            catch (Exception e) { logger.LogWarning("health probe of live apps: {Message}", e.Message); }
            try { if (!await timer.WaitForNextTickAsync(stopping)) return; }
            catch (OperationCanceledException) { return; }
        }
        while (true);
    }

    /// <summary>One probe of every live container app.</summary>
    public async Task ProbeOnceAsync(CancellationToken ct)
    {
        List<LiveApp> live;
        // deploying: looked up by status (a handful of rows), not through the project's index, which SQLite chose
        // without the unary + and walked all of each project's deployments (DeployStore.HasDeploymentAhead).
        using (var c = db.Open())
            live = c.Query<LiveApp>(
                """
                SELECT d.id, d.project_id, p.slug, d.container_name, d.host_port, d.config_json,
                    EXISTS (SELECT 1 FROM deployments r WHERE +r.project_id = d.project_id
                            AND r.status IN ('cloning', 'building', 'starting', 'health_checking', 'switching')) AS deploying,
                    EXISTS (SELECT 1 FROM project_run_state s WHERE s.stopped_deployment_id = d.id) AS stopped_by_user
                FROM deployments d JOIN projects p ON p.id = d.project_id
                WHERE d.status = 'live' AND d.container_name IS NOT NULL AND d.host_port IS NOT NULL
                """).AsList();
        var ids = live.Select(l => l.Id).ToHashSet();
        foreach (var gone in _watches.Keys.Where(k => !ids.Contains(k)).ToList()) _watches.TryRemove(gone, out _);
        var due = live.Where(l => !l.Deploying && !l.StoppedByUser && !Volumes.AppHold.Holds(l.ContainerName) && !healing.IsQuiet(l.Id)).ToList();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await Parallel.ForEachAsync(due, new ParallelOptions { MaxDegreeOfParallelism = AtOnce, CancellationToken = ct }, async (app, token) =>
        {
            var failure = await ProbeAsync(app, token);
            if (failure is null) return;
            Record(app, failure == "" ? null : failure);
        });
        // The cost measurement in HealthAndDiskNotificationTests reads this line (Logging__LogLevel__VpsPanel.Features.Running.HealthWatch=Debug).
        logger.LogDebug("health probe: {Count} live apps probed in {Ms:0.0} ms", due.Count, watch.Elapsed.TotalMilliseconds);
    }

    /// <summary>"" for a good answer, a sentence for a failure, null when there is nothing to judge (not running, starting, engine away).</summary>
    async Task<string?> ProbeAsync(LiveApp app, CancellationToken ct)
    {
        var path = Projects.ProjectConfig.FromJson(app.ConfigJson).HealthPath;
        global::Docker.DotNet.Models.ContainerInspectResponse? inspect;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            inspect = await (await engine.ClientAsync(timeout.Token)).InspectContainerOrNullAsync(app.ContainerName, timeout.Token);
        }
        catch (Exception e) when (DockerEngine.IsDockerError(e) || (e is OperationCanceledException && !ct.IsCancellationRequested)) { return null; }
        if (inspect?.State is not { Running: true, Restarting: false } state) return null;
        if (HealthCheck.DockerDecides(path, ImageFacts.Own(inspect.Config?.Healthcheck)) is not null)
        {
            var last = state.Health?.Log?.LastOrDefault();
            return state.Health?.Status switch
            {
                "healthy" => "",
                "unhealthy" => $"the image's HEALTHCHECK reports it unhealthy (last check: exit code {last?.ExitCode}" +
                    (last?.Output?.Trim() is { Length: > 0 } o ? $", output: {(o.Length > 300 ? o[..300] + "…" : o)})" : ")"),
                _ => null,
            };
        }
        if (path == "") path = "/";
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(settings.HealthTimeout);
        try
        {
            using var res = await Http.GetAsync($"http://127.0.0.1:{app.HostPort}{path}", HttpCompletionOption.ResponseHeadersRead, limit.Token);
            var code = (int)res.StatusCode;
            return code is >= 200 and < 400 ? "" : $"GET {path} answered {code} {res.ReasonPhrase}";
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested) { return $"GET {path} got no answer within {settings.HealthTimeout.TotalSeconds:0} s (Deploy:HealthTimeoutSeconds)"; }
        catch (HttpRequestException e) { return $"GET {path} failed: {(e.InnerException ?? e).Message}"; }
    }

    void Record(LiveApp app, string? failure)
    {
        var w = _watches.GetOrAdd(app.Id, _ => new Watch());
        bool raise = false, recovered = false;
        int failures;
        lock (w)
        {
            if (failure is null)
            {
                recovered = w.Alerted;
                w.Failures = 0;
                w.Alerted = false;
            }
            else
            {
                w.Failures++;
                raise = !w.Alerted && w.Failures >= settings.HealthFailuresBeforeAlert;
                if (raise) w.Alerted = true;
            }
            failures = w.Failures;
        }
        if (raise)
        {
            var message = $"The app {app.Slug} is failing its health check: {failure} ({failures} checks in a row, one every " +
                $"{settings.HealthProbeInterval.TotalSeconds:0} s; container {app.ContainerName}, deployment {app.Id}).";
            logger.LogWarning("{Project} deployment {Id} unhealthy: {Failure}", app.Slug, app.Id, failure);
            ProjectEvent(app, "unhealthy", $"health check failing {failures} times in a row: {failure}");
            Notifications.Notify.Event(db, Notifications.Notify.AppUnhealthy, app.ProjectId, app.Id, message, $"/projects/{app.ProjectId}");
        }
        else if (recovered)
        {
            logger.LogInformation("{Project} deployment {Id} answers its health check again", app.Slug, app.Id);
            ProjectEvent(app, "healthy", $"answers its health check again (container {app.ContainerName})");
        }
    }

    void ProjectEvent(LiveApp app, string kind, string message)
    {
        try
        {
            using var c = db.Open();
            RunStore.RecordEvent(c, app.ProjectId, kind, message, null, settings.EventsKept);
        }
        catch (Microsoft.Data.Sqlite.SqliteException e) { logger.LogWarning("could not record the {Kind} event of project {Id}: {Message}", kind, app.ProjectId, e.Message); }
    }
}
