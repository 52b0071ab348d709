using Dapper;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Running;

/// <summary>A project's run state (migration 0023): a user's stop and a crash loop, each for one live deployment.</summary>
public sealed record RunStateRow(long ProjectId, long? StoppedDeploymentId, string? StoppedAt, string? StoppedBy,
    long? CrashDeploymentId, string? CrashLoopingSince, string? CrashLog);

/// <summary>One thing that happened to a project's running app; <see cref="Actor"/> null means the panel did it.</summary>
public sealed record ProjectEvent(long Id, string At, string Kind, string Message, string? Actor);

public static class RunStore
{
    public static RunStateRow? FindRunState(SqliteConnection c, long projectId) =>
        c.QuerySingleOrDefault<RunStateRow>(
            """
            SELECT project_id, stopped_deployment_id, stopped_at, stopped_by, crash_deployment_id, crash_looping_since, crash_log
            FROM project_run_state WHERE project_id = @projectId
            """, new { projectId });

    /// <summary>The live deployments a user stopped (and nobody started since): self-healing leaves them stopped.</summary>
    public static HashSet<long> ListUserStoppedLiveDeployments(SqliteConnection c) =>
        c.Query<long>(
            """
            SELECT r.stopped_deployment_id FROM project_run_state r
            JOIN deployments d ON d.id = r.stopped_deployment_id AND d.status = 'live'
            """).ToHashSet();

    public static bool IsStoppedByUser(SqliteConnection c, long deploymentId) =>
        c.ExecuteScalar<bool>("SELECT EXISTS (SELECT 1 FROM project_run_state WHERE stopped_deployment_id = @deploymentId)", new { deploymentId });

    public static void MarkStoppedByUser(SqliteConnection c, long projectId, long deploymentId, string by) =>
        c.Execute(
            """
            INSERT INTO project_run_state (project_id, stopped_deployment_id, stopped_at, stopped_by) VALUES (@projectId, @deploymentId, @now, @by)
            ON CONFLICT (project_id) DO UPDATE SET stopped_deployment_id = @deploymentId, stopped_at = @now, stopped_by = @by
            """, new { projectId, deploymentId, now = Clock.Now(), by });

    /// <summary>A start or restart by a user: the app is wanted running again, and a crash loop starts over.</summary>
    public static void ClearStopAndCrashLoop(SqliteConnection c, long projectId) =>
        c.Execute(
            """
            UPDATE project_run_state SET stopped_deployment_id = NULL, stopped_at = NULL, stopped_by = NULL,
                crash_deployment_id = NULL, crash_looping_since = NULL, crash_log = NULL
            WHERE project_id = @projectId
            """, new { projectId });

    public static void MarkCrashLooping(SqliteConnection c, long projectId, long deploymentId, string log) =>
        c.Execute(
            """
            INSERT INTO project_run_state (project_id, crash_deployment_id, crash_looping_since, crash_log) VALUES (@projectId, @deploymentId, @now, @log)
            ON CONFLICT (project_id) DO UPDATE SET crash_deployment_id = @deploymentId, crash_looping_since = @now, crash_log = @log
            """, new { projectId, deploymentId, now = Clock.Now(), log });

    public static void UpdateCrashLog(SqliteConnection c, long projectId, string log) =>
        c.Execute("UPDATE project_run_state SET crash_log = @log WHERE project_id = @projectId", new { projectId, log });

    public static void ClearCrashLoop(SqliteConnection c, long projectId) =>
        c.Execute("UPDATE project_run_state SET crash_deployment_id = NULL, crash_looping_since = NULL, crash_log = NULL WHERE project_id = @projectId",
            new { projectId });

    /// <summary>Adds an event and drops the project's oldest beyond <paramref name="keep"/>.</summary>
    public static void RecordEvent(SqliteConnection c, long projectId, string kind, string message, string? actor, int keep)
    {
        using var tx = c.BeginTransaction();
        c.Execute("INSERT INTO project_events (project_id, at, kind, message, actor) VALUES (@projectId, @at, @kind, @message, @actor)",
            new { projectId, at = Clock.Now(), kind, message, actor }, tx);
        c.Execute(
            """
            DELETE FROM project_events WHERE project_id = @projectId AND id <= (
                SELECT id FROM project_events WHERE project_id = @projectId ORDER BY id DESC LIMIT 1 OFFSET @keep)
            """, new { projectId, keep }, tx);
        tx.Commit();
    }

    public static List<ProjectEvent> ListEventsNewestFirst(SqliteConnection c, long projectId, int limit) =>
        c.Query<ProjectEvent>("SELECT id, at, kind, message, actor FROM project_events WHERE project_id = @projectId ORDER BY id DESC LIMIT @limit",
            new { projectId, limit }).AsList();
}
