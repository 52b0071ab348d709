using Quartz;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Backups;

/// <summary>
/// The scheduled backup (Backup:Schedule, daily by default) into &lt;DataDir&gt;/backups, keeping the newest Backup:Keep.
/// A failure is logged and the next run tries again; it never stops the panel.
/// </summary>
[DisallowConcurrentExecution]
public sealed class BackupJob(PanelSettings settings, ILogger<BackupJob> log) : IJob
{
    public static void Schedule(IQuartzBuilder q, PanelSettings settings)
    {
        if (settings.BackupSchedule == "") return;
        q.ScheduleJob<BackupJob>(t => t.WithIdentity("backup").WithCronSchedule(settings.BackupSchedule));
    }

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken ct)
    {
        try
        {
            var file = await MakeBackup.CreateAsync(settings, null, ct);
            var pruned = MakeBackup.PruneOldBackups(settings);
            Audit.AuditLog.RecordBackup(settings, "backup.create", file, "job");
            log.LogInformation("Backup written to {File}; {Pruned} old backup(s) removed (keeping {Keep})", file, pruned.Count, settings.BackupKeep);
        }
        catch (Exception e) when (e is BackupException or IOException or UnauthorizedAccessException)
        {
            log.LogError("Scheduled backup failed: {Message}", e.Message);
            Notifications.Notify.ScheduledBackupFailed(settings, e.Message);
        }
    }
}
