using Microsoft.Data.Sqlite;
using VpsPanel.Features.Caddy;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Deployments;

/// <summary>
/// A crash during the switch, resolved from what Caddy really routes. The old recovery failed the switching row,
/// removed its container and only then rewrote the site files, while Caddy had already loaded the new route: 502s for
/// 1.9 s, the old version for 3.4 s, then the next. Now the route and the database are made to agree first and
/// nothing is removed here: if Caddy routes to the new container and it answers, the switch is finished (the new
/// deployment becomes live, the previous one retired); otherwise the row fails and the caller points Caddy back at
/// the live deployment before it removes the new container.
/// </summary>
public sealed class SwitchRecovery(PanelSettings settings, DockerEngine engine, CaddyAdmin caddy, DeployLog logs, ILogger<SwitchRecovery> logger)
{
    static readonly HttpClient Probe = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false }) { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>
    /// Decides every deployment left in the switching step. Returns the containers of the ones that did not go live:
    /// they may be removed only once Caddy was reloaded from the database (the caller's job).
    /// </summary>
    public async Task<List<string>> ResolveAsync(SqliteConnection c, CancellationToken ct)
    {
        var notLive = new List<string>();
        var rows = LiveStore.ListSwitchingDeployments(c);
        if (rows.Count == 0) return notLive;
        HashSet<string>? upstreams = null;
        try
        {
            upstreams = await caddy.RoutedUpstreamsAsync(ct);
            // A plain static site is routed by its directory (StaticSiteDeploy); both sets come from the same config.
            if (rows.Any(d => d.IsStatic)) upstreams.UnionWith(await caddy.RoutedStaticRootsAsync(ct));
        }
        catch (CaddyException e) { logger.LogWarning("switch recovery: cannot read Caddy's routes: {Message}", e.Message); }
        foreach (var d in rows)
        {
            using var log = logs.Open(d.Id);
            var routed = upstreams is not null && (d.StaticRoot is { } root ? upstreams.Contains(root) : d.HostPort is { } port && upstreams.Contains($"127.0.0.1:{port}"));
            if (routed && (d.StaticRoot is { } files ? Directory.Exists(files) : await AnswersAsync(d, ct)))
            {
                var previous = DeployStore.MarkLiveRetiringPrevious(c, d.Id, d.ProjectId);
                logger.LogWarning("deployment {Id} was interrupted mid-switch after Caddy had loaded its route; the switch was finished", d.Id);
                log.Important($"==> live: the panel restarted during the switch after Caddy had already loaded the route to {(d.StaticRoot is { } r ? "the static files in " + r : $"127.0.0.1:{d.HostPort}")}; " +
                    $"the switch was finished{(previous is { } p ? $" (deployment {p} retired)" : "")}");
                continue;
            }
            var why = upstreams is null
                ? "interrupted by panel restart during the switch (Caddy could not be asked what it routes; the live deployment stays live)"
                : routed
                    ? "interrupted by panel restart during the switch; Caddy already routed to the new container but it did not answer, so the route goes back to the live deployment"
                    : "interrupted by panel restart during the switch, before Caddy loaded the new route";
            DeployStore.FinishUnsuccessfully(c, d.Id, DeployStates.Failed, why);
            logger.LogWarning("deployment {Id}: {Why}", d.Id, why);
            log.Important($"FAILED at switching: {why}");
            notLive.AddRange(ReplicaSet.ContainersOf(c, d).Select(x => x.Name));
        }
        return notLive;
    }

    /// <summary>
    /// The new container runs and is healthy by the deploy's own rule (<see cref="HealthCheck.DockerDecides"/>): Docker's
    /// status of the image's HEALTHCHECK when the project set no health path, else its health path (or /) answers
    /// 2xx/3xx. A few short tries: it was healthy before the crash.
    /// </summary>
    async Task<bool> AnswersAsync(DeploymentRow d, CancellationToken ct)
    {
        if (d.ContainerName is not { } name || d.HostPort is not { } port) return false;
        var path = Projects.ProjectConfig.FromJson(d.ConfigJson).HealthPath;
        global::Docker.DotNet.Models.ContainerInspectResponse? inspect;
        try
        {
            var docker = await engine.ClientAsync(ct);
            inspect = await docker.InspectContainerOrNullAsync(name, ct);
            if (inspect?.State is not { Running: true }) return false;
            if (HealthCheck.DockerDecides(path, ImageFacts.Own(inspect.Config?.Healthcheck)) is not null)
            {
                for (var attempt = 1; attempt <= 3; attempt++)
                {
                    if (inspect?.State is { Running: true, Health.Status: "healthy" }) return true;
                    await Task.Delay(500, ct);
                    inspect = await docker.InspectContainerOrNullAsync(name, ct);
                }
                return false;
            }
        }
        catch (Exception e) when (DockerEngine.IsDockerError(e)) { return false; }
        if (path == "") path = "/";
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(settings.HealthTimeout);
            try
            {
                using var res = await Probe.GetAsync($"http://127.0.0.1:{port}{path}", HttpCompletionOption.ResponseHeadersRead, timeout.Token);
                if ((int)res.StatusCode is >= 200 and < 400) return true;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested) { }
            catch (HttpRequestException) { }
            await Task.Delay(500, ct);
        }
        return false;
    }
}
