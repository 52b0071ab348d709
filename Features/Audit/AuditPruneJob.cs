using Quartz;
using VpsPanel.Features.Data;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Audit;

/// <summary>
/// Deletes audit rows older than Audit:RetentionDays: once at startup (<see cref="PruneAtStartup"/>) and then every
/// 6 hours. One indexed DELETE (audit_log_at), so it costs nothing on a quiet panel; the append-only trigger lets
/// exactly these rows through.
/// </summary>
[DisallowConcurrentExecution]
public sealed class AuditPruneJob(Db db, PanelSettings settings, ILogger<AuditPruneJob> log) : IJob
{
    // A cron trigger like the backup's: a StartNow simple trigger did not fire within 80 s in the published (trimmed,
    // single-file) binary, although it did at once under `dotnet`; cause not found. So the startup run is done
    // directly, not by Quartz.
    public static void Schedule(IQuartzBuilder q, PanelSettings settings) =>
        q.ScheduleJob<AuditPruneJob>(t => t.WithIdentity("audit-prune").WithCronSchedule("0 7 */6 * * ?"));

    /// <summary>Called once while the panel starts, after the migrations; a failure is left to the periodic run to report.</summary>
    public static void PruneAtStartup(PanelSettings settings)
    {
        try
        {
            using var c = Db.OpenFile(settings.DatabasePath);
            var pruned = AuditLog.PruneOlderThan(c, settings.AuditRetentionDays);
            if (pruned > 0) Console.WriteLine($"Audit log: {pruned} row(s) older than {settings.AuditRetentionDays} days removed");
        }
        catch (Microsoft.Data.Sqlite.SqliteException) { }
    }

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
