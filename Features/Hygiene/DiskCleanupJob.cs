using Quartz;
using VpsPanel.Features.Data;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Hygiene;

/// <summary>The scheduled disk cleanup (Disk:CleanupSchedule, 04:20 daily by default); a failure is logged, never fatal.</summary>
[DisallowConcurrentExecution]
public sealed class DiskCleanupJob(DiskCleanup cleanup, Db db, ILogger<DiskCleanupJob> log) : IJob
{
    public static void Schedule(IQuartzBuilder q, PanelSettings settings)
    {
        if (settings.DiskCleanupSchedule == "") return;
        q.ScheduleJob<DiskCleanupJob>(t => t.WithIdentity("disk-cleanup").WithCronSchedule(settings.DiskCleanupSchedule));
    }

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken ct)
    {
        try
        {
            var r = await cleanup.RunAsync("job", ct);
            using var c = db.Open();
            Audit.AuditLog.RecordJob(c, "disk.cleanup", "panel", r.Summary);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException)
        {
            log.LogError("Scheduled disk cleanup failed: {Message}", e.Message);
        }
    }
}
