using Quartz;
using VpsPanel.Features.Data;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Audit;

/// <summary>
/// Deletes audit rows older than Audit:RetentionDays: once at startup and then every 6 hours. One indexed DELETE
/// (audit_log_at), so it costs nothing on a quiet panel; the append-only trigger lets exactly these rows through.
/// </summary>
[DisallowConcurrentExecution]
public sealed class AuditPruneJob(Db db, PanelSettings settings, ILogger<AuditPruneJob> log) : IJob
{
    public static void Schedule(IQuartzBuilder q, PanelSettings settings) =>
        q.ScheduleJob<AuditPruneJob>(t => t.WithIdentity("audit-prune").StartNow().WithSimpleSchedule(s => s.WithInterval(TimeSpan.FromHours(6)).RepeatForever()));

    public ValueTask Execute(IJobExecutionContext context, CancellationToken ct)
    {
        try
        {
            using var c = db.Open();
            var pruned = AuditLog.PruneOlderThan(c, settings.AuditRetentionDays);
            if (pruned > 0) log.LogInformation("Audit log: {Pruned} row(s) older than {Days} days removed", pruned, settings.AuditRetentionDays);
        }
        catch (Microsoft.Data.Sqlite.SqliteException e)
        {
            log.LogError("Pruning the audit log failed: {Message}", e.Message);
        }
        return ValueTask.CompletedTask;
    }
}
