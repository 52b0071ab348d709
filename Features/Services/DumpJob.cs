using Microsoft.AspNetCore.DataProtection;
using Quartz;
using VpsPanel.Features.Data;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Services;

/// <summary>
/// Scheduled dumps. Each service has its own cron (services.dump_schedule), editable at any time, so one Quartz job
/// ticks every few seconds and asks each service's CronExpression whether a fire time passed since the last tick,
/// rather than keeping a Quartz trigger per service in step with the table. Fire times missed while the panel was
/// down are not made up (the next one comes); several missed between two ticks make one dump.
/// </summary>
[DisallowConcurrentExecution]
public sealed class DumpJob(Db db, DockerEngine engine, IDataProtectionProvider protection, PanelSettings settings, ILogger<DumpJob> log) : IJob
{
    public const int TickSeconds = 2;

    // Per service: the schedule last seen and the time up to which its fire times were looked at.
    static readonly Dictionary<long, (string Schedule, DateTimeOffset CheckedUpTo)> Seen = [];
    static bool _recovered;

    public static void Schedule(IQuartzBuilder q) =>
        q.ScheduleJob<DumpJob>(t => t.WithIdentity("service-dumps").WithSimpleSchedule(x => x.WithInterval(TimeSpan.FromSeconds(TickSeconds)).RepeatForever()));

    public ValueTask Execute(IJobExecutionContext context, CancellationToken ct)
    {
        using var c = db.Open();
        if (!_recovered)
        {
            _recovered = true;
            if (ServiceDumps.FailInterruptedDumps(c) is > 0 and var n) log.LogWarning("{Count} service dump(s) were interrupted by a panel restart", n);
        }
        var now = DateTimeOffset.UtcNow;
        var schedules = ServiceDumps.ListSchedules(c);
        foreach (var gone in Seen.Keys.Except(schedules.Select(s => s.Id)).ToList()) Seen.Remove(gone);
        foreach (var sch in schedules)
        {
            if (sch.Schedule == "" || !Seen.TryGetValue(sch.Id, out var seen) || seen.Schedule != sch.Schedule)
            {
                Seen[sch.Id] = (sch.Schedule, now);
                continue;
            }
            Seen[sch.Id] = (sch.Schedule, now);
            // Validated when saved; a hand-edited bad row is skipped, not fatal.
            if (!CronExpression.TryParse(sch.Schedule, out _)) continue;
            var cron = new CronExpression(sch.Schedule, TimeZoneInfo.Utc);
            if (cron.GetNextValidTimeAfter(seen.CheckedUpTo) is not { } due || due > now) continue;
            // A dump still running (a slow one, or one asked for by hand) is not queued behind: this fire time is skipped.
            if (ServiceDumps.Gate(sch.Id).CurrentCount == 0) continue;
            if (ServiceStore.FindServiceById(c, sch.Id) is not { } s) continue;
            var id = ServiceDumps.Start(db, engine, protection, settings, s, "schedule", log);
            Audit.AuditLog.RecordJob(c, "service.dump", s.Name, $"dump {id}, scheduled ({sch.Schedule})");
        }
        return ValueTask.CompletedTask;
    }
}
