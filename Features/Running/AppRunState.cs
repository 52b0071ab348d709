using VpsPanel.Features.Data;
using VpsPanel.Features.Deployments;
using VpsPanel.Features.Docker;

namespace VpsPanel.Features.Running;

/// <summary>
/// What a project's app is doing, as the engine says (docker inspect of the live deployment's container) with what
/// the panel knows besides: a user's stop, a crash loop and its last log lines. State is one of: not deployed,
/// static site, running, restarting, exited, stopped by user, missing, unknown (the engine did not answer).
/// </summary>
public sealed record AppRunState(
    string State, string Description, long? DeploymentId, string? Container, int? ExitCode, bool OomKilled, string? StartedAt, long RestartCount,
    string? StoppedBy, string? StoppedAt, bool CrashLooping, string? CrashLoopingSince, List<string> LastLogLines)
{
    /// <summary>The limits the container really runs with (docker inspect), e.g. "memory 256 MiB, 0.5 CPUs, 512 processes, restart unless-stopped, log 3 × 10m".</summary>
    public string? Limits { get; init; }

    public bool HasContainer => State is "running" or "restarting" or "exited" or "stopped by user" or "unknown";

    public static async Task<AppRunState> LoadAsync(Db db, DockerEngine engine, long projectId, CancellationToken ct)
    {
        DeploymentRow? live;
        RunStateRow? run;
        using (var c = db.Open())
        {
            live = DeployStore.FindLiveDeployment(c, projectId);
            run = RunStore.FindRunState(c, projectId);
        }
        return await LoadAsync(engine, live, run, ct);
    }

    /// <summary>From the project's live deployment and run state as already read (the project page keeps them in Data/ReadCache); the engine is asked every time.</summary>
    public static async Task<AppRunState> LoadAsync(DockerEngine engine, DeploymentRow? live, RunStateRow? run, CancellationToken ct)
    {
        if (live is null) return Empty("not deployed", "not deployed: there is no live deployment", null);
        if (live.IsStatic) return Empty("static site", "a static site that Caddy serves itself: there is no container", live.Id);
        if (live.ServiceName is { } service)
            return Empty("cluster service", $"a Swarm service ({service}) whose tasks run on the cluster's servers at {live.Upstreams}: see the Servers page", live.Id);
        var crash = run?.CrashDeploymentId == live.Id;
        var stopped = run?.StoppedDeploymentId == live.Id;
        var logLines = crash && run!.CrashLog is { } log ? log.Split('\n').ToList() : [];
        var name = live.ContainerName!; // replica 1; the page's replica table shows the others
        global::Docker.DotNet.Models.ContainerInspectResponse? inspect;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            inspect = await (await engine.ClientAsync(timeout.Token)).InspectContainerOrNullAsync(name, timeout.Token);
        }
        catch (Exception e) when (DockerEngine.IsDockerError(e) || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            return new AppRunState("unknown", $"unknown: the Docker engine did not answer ({(e is OperationCanceledException ? "timed out" : DockerErrors.Readable(e))})",
                live.Id, name, null, false, null, 0, stopped ? run!.StoppedBy : null, stopped ? run!.StoppedAt : null, crash, crash ? run!.CrashLoopingSince : null, logLines);
        }
        if (inspect is null)
            return new AppRunState("missing", "missing: the container no longer exists; self-healing recreates it from the live image", live.Id, name, null, false, null, 0,
                null, null, crash, crash ? run!.CrashLoopingSince : null, logLines);
        var s = inspect.State ?? new global::Docker.DotNet.Models.State { Status = "unknown" };
        var state = s.Restarting ? "restarting" : s.Running ? "running" : stopped ? "stopped by user" : "exited";
        var started = s.StartedAt is { Length: > 0 } at && !at.StartsWith("0001-", StringComparison.Ordinal) ? at : null;
        var description = state switch
        {
            "running" => $"running since {Short(started)}",
            "restarting" => $"restarting (last exit code {s.ExitCode}{(s.OOMKilled ? ", out of memory" : "")})",
            "stopped by user" => $"stopped by {run!.StoppedBy} at {Short(run.StoppedAt)} (exit code {s.ExitCode})",
            _ => $"exited (code {s.ExitCode}{(s.OOMKilled ? ", out of memory" : "")})",
        };
        if (inspect.RestartCount > 0) description += $", restarted {inspect.RestartCount} time{(inspect.RestartCount == 1 ? "" : "s")} by Docker";
        if (crash) description = "crash looping; " + description;
        return new AppRunState(state, description, live.Id, name, (int)s.ExitCode, s.OOMKilled, started, inspect.RestartCount,
            stopped ? run!.StoppedBy : null, stopped ? run!.StoppedAt : null, crash, crash ? run!.CrashLoopingSince : null, logLines)
            { Limits = LimitsOf(inspect.HostConfig) };
    }

    /// <summary>From the engine, not the project's settings: limits apply from a container's start, so the two can differ.</summary>
    static string? LimitsOf(global::Docker.DotNet.Models.HostConfig? h)
    {
        if (h is null) return null;
        var parts = new List<string>
        {
            h.Memory > 0 ? $"memory {h.Memory / (1024 * 1024)} MiB" : "memory unlimited",
            h.NanoCPUs > 0 ? $"{Projects.ProjectLimits.CpusOf(h.NanoCPUs)} CPUs" : "CPUs unlimited",
            h.PidsLimit is > 0 ? $"{h.PidsLimit} processes" : "processes unlimited",
            "restart " + (h.RestartPolicy?.Name switch
            {
                global::Docker.DotNet.Models.RestartPolicyKind.UnlessStopped => "unless-stopped",
                global::Docker.DotNet.Models.RestartPolicyKind.OnFailure => "on-failure",
                global::Docker.DotNet.Models.RestartPolicyKind.Always => "always",
                _ => "no",
            }),
        };
        if (h.LogConfig?.Config is { } log && log.TryGetValue("max-size", out var size))
            parts.Add($"log {(log.TryGetValue("max-file", out var files) ? files : "1")} × {size}");
        return string.Join(", ", parts);
    }

    static AppRunState Empty(string state, string description, long? deployment) =>
        new(state, description, deployment, null, null, false, null, 0, null, null, false, null, []);

    /// <summary>"2026-12-01 21:03:04 UTC" from Docker's or our ISO timestamps.</summary>
    public static string Short(string? iso) =>
        iso is null ? "?" : DateTime.TryParse(iso, null, System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal, out var t)
            ? t.ToString("yyyy-MM-dd HH:mm:ss") + " UTC" : iso;
}
