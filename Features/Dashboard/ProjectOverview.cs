using Dapper;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Deployments;

namespace VpsPanel.Features.Dashboard;

/// <summary>A project's row on the dashboard: its live deployment (commit, when, by whom) and its newest deployment.</summary>
public sealed record ProjectOverview(
    long Id, string Name, string Slug, long? LiveId, string? LiveCommit, string? LiveMessage, string? LiveAt, string? LiveBy, string? LiveTrigger,
    long? LastId, string? LastStatus, string? LastError, string? LastFailedStep)
{
    /// <summary>From the run state (Running/RunStore), for the live deployment: stopped by its user, crash looping.</summary>
    public bool StoppedByUser { get; init; }
    public bool CrashLooping { get; init; }

    /// <summary>Set from LiveState (LiveReconciler): the live container is not running.</summary>
    public ContainerDown? Down { get; init; }

    public string Status => ProjectStatus.Of(this);
}

/// <summary>One row of "Last deployments": the newest deployments across the projects the user sees.</summary>
public sealed record RecentDeployment(long Id, long ProjectId, string ProjectName, string Status, string Trigger, string? RequestedBy,
    string? CommitSha, string CreatedAt, string? Error);

/// <summary>
/// The status words of the dashboard: live, building, failed, crash looping, stopped (and never deployed), from the
/// deployments, the run state (Running/RunStore: stopped by its user, crash looping) and what the reconciler knows
/// (LiveState: a live container that is down but not yet marked is shown stopped).
/// </summary>
public static class ProjectStatus
{
    public const string Live = "live", Building = "building", Failed = "failed", CrashLooping = "crash looping", Stopped = "stopped", Never = "never deployed";

    public static string Of(ProjectOverview p) =>
        p.LastStatus is { } last && (last == DeployStates.Queued || DeployStates.IsRunning(last)) ? Building
        : p.LiveId is not null && p.CrashLooping ? CrashLooping
        : p.LiveId is not null && (p.StoppedByUser || p.Down is not null) ? Stopped
        : p.LastStatus == DeployStates.Failed ? Failed
        : p.LiveId is not null ? Live
        : p.LastStatus is null ? Never
        : Stopped;

    /// <summary>Failures first (failed, crash looping), then builds in progress, stopped, live, never deployed.</summary>
    public static int Rank(string status) => status switch
    {
        Failed or CrashLooping => 0,
        Building => 1,
        Stopped => 2,
        Live => 3,
        _ => 4,
    };

    public static List<ProjectOverview> ListProjectOverviews(SqliteConnection c, long userId, bool isAdmin, LiveState live)
    {
        var run = c.Query<(long ProjectId, long? Stopped, long? Crash)>(
            "SELECT project_id, stopped_deployment_id, crash_deployment_id FROM project_run_state").ToDictionary(r => r.ProjectId);
        return c.Query<ProjectOverview>(
            """
            SELECT p.id, p.name, p.slug,
                   l.id AS live_id, l.commit_sha AS live_commit, l.commit_message AS live_message, l.finished_at AS live_at,
                   lu.email AS live_by, l.trigger AS live_trigger,
                   n.id AS last_id, n.status AS last_status, n.error AS last_error, n.failed_step AS last_failed_step
            FROM projects p
            LEFT JOIN deployments l ON l.project_id = p.id AND l.status = 'live'
            LEFT JOIN users lu ON lu.id = l.requested_by
            LEFT JOIN deployments n ON n.id = (SELECT max(id) FROM deployments WHERE project_id = p.id)
            WHERE @isAdmin OR p.owner_id = @userId
            """, new { userId, isAdmin })
            .Select(p => p.LiveId is { } id && live.DownOf(id) is { } down ? p with { Down = down } : p)
            .Select(p => p.LiveId is { } id && run.TryGetValue(p.Id, out var r) ? p with { StoppedByUser = r.Stopped == id, CrashLooping = r.Crash == id } : p)
            .OrderBy(p => Rank(p.Status)).ThenBy(p => p.Name, StringComparer.OrdinalIgnoreCase).ToList();
    }

    public static List<RecentDeployment> ListRecentDeployments(SqliteConnection c, long userId, bool isAdmin, int limit) =>
        c.Query<RecentDeployment>(
            """
            SELECT d.id, d.project_id, p.name AS project_name, d.status, d.trigger, u.email AS requested_by, d.commit_sha, d.created_at, d.error
            FROM deployments d JOIN projects p ON p.id = d.project_id LEFT JOIN users u ON u.id = d.requested_by
            WHERE @isAdmin OR p.owner_id = @userId
            ORDER BY d.id DESC LIMIT @limit
            """, new { userId, isAdmin, limit }).AsList();
}
