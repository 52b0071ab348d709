using System.Diagnostics;
using Docker.DotNet;
using Docker.DotNet.Models;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Deployments;

/// <summary>
/// The health-checking step of a deploy. The image's own HEALTHCHECK decides when the project left the health path
/// empty and the image has one (Docker's health status is awaited); otherwise the panel GETs the path. Either way the
/// container is watched between tries: one that exits is named at once (or as a crash loop once its restart policy
/// has restarted it twice), not after the whole retry budget, and on any failure its last output, exit code and
/// restart count are copied into the deploy log before the container is removed.
/// </summary>
public sealed class HealthCheck(PanelSettings settings, DockerEngine engine)
{
    static readonly HttpClient Http = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false }) { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>Exits before a restarting container counts as crash-looping; the first two may be a dependency not up yet.</summary>
    const int CrashLoopExits = 3;
    const int OutputLines = 200;

    // The first try goes at once and the waits grow from 50 ms to 1 s: a fast app goes live within a few
    // milliseconds of listening, a slow one still gets one try a second for the rest of Deploy:HealthRetries.
    static readonly TimeSpan FirstWait = TimeSpan.FromMilliseconds(50), LongestWait = TimeSpan.FromSeconds(1);

    public async Task RunAsync(string container, int hostPort, int containerPort, string path, ImageFacts image, DeployLog.Writer log, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        var docker = await engine.ClientAsync(cancel);
        try
        {
            if (DockerDecides(path, image.Healthcheck) is { } own) await AwaitDockerHealthAsync(docker, container, own, clock, log, cancel);
            else await ProbeAsync(docker, container, hostPort, containerPort, path == "" ? "/" : path, image, clock, log, cancel);
        }
        catch (DeployFailure)
        {
            // Before the cleanup removes the container, and with it the only copy of why the app would not start.
            await CopyOutputAsync(docker, container, log);
            throw;
        }
    }

    /// <summary>
    /// The rule: the image's own HEALTHCHECK (returned) decides when the project set no health path; otherwise (null)
    /// the panel GETs the path, "/" when none is set. The switch recovery judges a container by the same rule.
    /// </summary>
    public static HealthcheckConfig? DockerDecides(string healthPath, HealthcheckConfig? own) => healthPath == "" ? own : null;

    async Task ProbeAsync(DockerClient docker, string container, int hostPort, int containerPort, string path, ImageFacts image, Stopwatch clock,
        DeployLog.Writer log, CancellationToken cancel)
    {
        var url = $"http://127.0.0.1:{hostPort}{path}";
        var wait = FirstWait;
        for (var attempt = 1; attempt <= settings.HealthRetries; attempt++)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            timeout.CancelAfter(settings.HealthTimeout);
            string outcome;
            try
            {
                using var res = await Http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
                var code = (int)res.StatusCode;
                if (code is >= 200 and < 400)
                {
                    log.Important($"health check {attempt}/{settings.HealthRetries}: GET {path} → {code}, healthy after {clock.Elapsed.TotalSeconds:0.00} s");
                    return;
                }
                outcome = $"answered {code}";
            }
            catch (OperationCanceledException) when (!cancel.IsCancellationRequested) { outcome = $"no answer within {settings.HealthTimeout.TotalSeconds:0} s"; }
            catch (HttpRequestException e) { outcome = e.InnerException?.Message ?? e.Message; }
            log.Line($"health check {attempt}/{settings.HealthRetries}: GET {path}: {outcome}");
            if (await ExitedAsync(docker, container, clock, cancel) is { } exited) throw new DeployFailure(exited);
            await Task.Delay(wait, cancel);
            wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, LongestWait.Ticks));
        }
        // A loop slower than the whole budget (restarts take seconds each on a loaded engine) is still named as one.
        if (await ExitedAsync(docker, container, clock, cancel, atBudgetEnd: true) is { } exitedMeanwhile) throw new DeployFailure(exitedMeanwhile);
        var elsewhere = image.TcpPorts.Count > 0 && !image.TcpPorts.Contains(containerPort)
            ? $"; the app did not answer on {containerPort}, the image exposes {image.Describe()}: is {image.TcpPorts[0]} the app's port?"
            : $"; container port {containerPort}, the image exposes {image.Describe()}";
        throw new DeployFailure($"the app did not answer GET {path} with 2xx/3xx after {settings.HealthRetries} tries (Deploy:HealthRetries){elsewhere}");
    }

    /// <summary>Waits for Docker's verdict on the image's own HEALTHCHECK, watching for exits meanwhile.</summary>
    async Task AwaitDockerHealthAsync(DockerClient docker, string container, HealthcheckConfig own, Stopwatch clock, DeployLog.Writer log, CancellationToken cancel)
    {
        // Docker's defaults for what the image left out; it runs the first check one interval after the start.
        var interval = own.Interval is { } i && i > TimeSpan.Zero ? i : TimeSpan.FromSeconds(30);
        var timeout = own.Timeout is { } t && t > TimeSpan.Zero ? t : TimeSpan.FromSeconds(30);
        var retries = own.Retries is { } r && r > 0 ? r : 3;
        // Docker marks the container unhealthy by itself after `retries` failures; the deadline only guards against a
        // status that never leaves "starting" (an engine that stopped checking).
        var deadline = (own.StartPeriod ?? TimeSpan.Zero) + (interval + timeout) * (retries + 1) + TimeSpan.FromSeconds(10);
        log.Important($"health check: the image's own HEALTHCHECK ({string.Join(" ", (own.Test ?? []).Skip(1))}; every {interval.TotalSeconds:0.#} s, " +
            $"{retries} retries), no health path set on the project: waiting for Docker's health status");
        var wait = FirstWait;
        string? last = null;
        while (true)
        {
            if (await ExitedAsync(docker, container, clock, cancel) is { } exited) throw new DeployFailure(exited);
            var health = (await docker.InspectContainerOrNullAsync(container, cancel))?.State?.Health;
            var status = health?.Status ?? "none";
            var latest = health?.Log?.LastOrDefault();
            if (status != last)
            {
                log.Important($"docker health: {status} after {clock.Elapsed.TotalSeconds:0.00} s{(latest is null ? "" : $" (last check: exit code {latest.ExitCode}{OutputOf(latest)})")}");
                last = status;
            }
            if (status == "healthy") return;
            if (status == "unhealthy")
                throw new DeployFailure($"the image's HEALTHCHECK reported the app unhealthy after {clock.Elapsed.TotalSeconds:0} s; " +
                    $"its last check exited with code {latest?.ExitCode}{OutputOf(latest)}");
            if (clock.Elapsed > deadline)
                throw new DeployFailure($"Docker's health status stayed \"{status}\" for {clock.Elapsed.TotalSeconds:0} s, longer than the image's HEALTHCHECK allows");
            await Task.Delay(wait, cancel);
            wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, LongestWait.Ticks));
        }
    }

    static string OutputOf(HealthcheckResult? r) =>
        r?.Output?.Trim() is { Length: > 0 } o ? $", output: {(o.Length > 500 ? o[..500] + "…" : o)}" : "";

    /// <summary>
    /// Why the container cannot become healthy because its app exits, or null while it runs. A container its restart
    /// policy does not restart is named at its first exit; one that is restarted, at its third (a crash loop).
    /// </summary>
    static async Task<string?> ExitedAsync(DockerClient docker, string container, Stopwatch clock, CancellationToken cancel, bool atBudgetEnd = false)
    {
        var inspected = await docker.InspectContainerOrNullAsync(container, cancel);
        if (inspected?.State is not { } state) return "the container is gone (removed from outside the panel) before it became healthy";
        var exits = inspected.RestartCount + (state.Running ? 0 : 1);
        var oom = state.OOMKilled ? " (killed for using more memory than its limit)" : "";
        // Docker reports exit code 0 for a container its policy has just started again: no code then, rather than a wrong one.
        var code = state.Running && !state.Restarting ? "" : $" with code {state.ExitCode}{oom}";
        // Checked before "not restarted": on a loaded engine one of Docker's restarts can fail to start the container,
        // which leaves it exited after several exits; that is still the app's crash loop, not a policy that gave up.
        if (exits >= CrashLoopExits || (atBudgetEnd && exits >= 2))
            return $"the app exited{code} {Times(exits)} in {clock.Elapsed.TotalSeconds:0} s: it is crash-looping " +
                (state.Running || state.Restarting ? "(Docker restarts it each time)" : $"(Docker restarted it, now status {state.Status})");
        if (!state.Running && !state.Restarting)
            return $"the app exited with code {state.ExitCode}{oom} {Times(exits)} in {clock.Elapsed.TotalSeconds:0} s and is not restarted (status {state.Status})";
        return null;
    }

    static string Times(long n) => n switch { 1 => "once", 2 => "twice", 3 => "three times", _ => $"{n} times" };

    /// <summary>The container's last lines of output, exit code and restart count, into the deploy log (its secrets masked by the writer).</summary>
    async Task CopyOutputAsync(DockerClient docker, string container, DeployLog.Writer log)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            var inspected = await docker.InspectContainerOrNullAsync(container, timeout.Token);
            if (inspected?.State is not { } state) return;
            // A crash-looping container may be running again at this instant, when Docker reports exit code 0: the
            // code of its exits is in the failure's own line, so a running one shows none here rather than a wrong one.
            log.Important($"container {container}: status {state.Status}{(state.Running && !state.Restarting ? "" : $", exit code {state.ExitCode}")}, restarted {inspected.RestartCount} times{(state.OOMKilled ? ", killed for memory" : "")}");
            var logs = await engine.ContainerLogsAsync(container, OutputLines, 256 * 1024, timeout.Token);
            if (logs is null || logs.Lines.Count == 0)
            {
                log.Important("the app wrote no output");
                return;
            }
            log.Important($"--- the app's last {logs.Lines.Count} lines of output{(logs.Truncated ? " (cut to the newest 256 KiB)" : "")} ---");
            foreach (var line in logs.Lines) log.Important($"app | {WithoutTimestamp(line.Text)}");
            log.Important("--- end of the app's output ---");
        }
        catch (Exception e) when (DockerEngine.IsDockerError(e) || e is OperationCanceledException)
        {
            log.Important($"the app's output could not be read: {DockerErrors.Readable(e)}");
        }
    }

    /// <summary>Docker's RFC 3339 timestamp in front of each line: the deploy log has its own.</summary>
    static string WithoutTimestamp(string text) =>
        text.IndexOf(' ') is var space and > 0 && DateTimeOffset.TryParse(text[..space], out _) ? text[(space + 1)..] : text;
}
