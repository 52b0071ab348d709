using Dapper;
using Microsoft.AspNetCore.DataProtection;
using VpsPanel.Features.Data;
using VpsPanel.Features.Settings;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Notifications;

/// <summary>
/// Delivers the outbound queue (notification_messages): due rows oldest first; each attempt goes into the channel's
/// delivery log with the service's answer or the error. A failed attempt is retried after Notifications:RetrySeconds,
/// doubling up to an hour, until Notifications:RetryHours after it was queued; then it is given up (logged so).
/// The queue is in SQLite, so what was queued when the panel stopped is delivered after it starts.
/// </summary>
public sealed class NotifyWorker(Db db, PanelSettings settings, IDataProtectionProvider protection, ILogger<NotifyWorker> logger) : BackgroundService
{
    const int Batch = 20;
    static readonly TimeSpan MaxBackoff = TimeSpan.FromHours(1);
    static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(30);

    // Properties, not a positional record: Dapper's constructor mapping wants SQLite's exact types (Int64 for count).
    sealed record Due
    {
        public long Id { get; init; }
        public long ChannelId { get; init; }
        public string Event { get; init; } = "";
        public string Project { get; init; } = "";
        public long? DeploymentId { get; init; }
        public string Message { get; init; } = "";
        public string Path { get; init; } = "";
        public int Count { get; init; }
        public bool FollowUp { get; init; }
        public string WindowAt { get; init; } = "";
        public string CreatedAt { get; init; } = "";
        public string LastAt { get; init; } = "";
        public int Attempts { get; init; }
    }

    protected override async Task ExecuteAsync(CancellationToken stop)
    {
        await Shared.StartGate.WaitAsync(stop);
        Notify.CollapseWindow = settings.NotifyCollapse;
        Notify.AppScheme = settings.AutomaticHttps ? "https" : "http";
        Notify.Logger = logger;
        while (!stop.IsCancellationRequested)
        {
            List<Due> due;
            string? next;
            using (var c = db.Open())
            {
                due = c.Query<Due>(
                    """
                    SELECT id, channel_id AS ChannelId, event, project, deployment_id AS DeploymentId, message, path, count, follow_up AS FollowUp,
                        window_at AS WindowAt, created_at AS CreatedAt, last_at AS LastAt, attempts
                    FROM notification_messages WHERE status = 'pending' AND due_at <= @now ORDER BY due_at, id LIMIT @Batch
                    """, new { now = Clock.Now(), Batch }).ToList();
                next = c.ExecuteScalar<string?>("SELECT min(due_at) FROM notification_messages WHERE status = 'pending'");
            }
            foreach (var m in due)
            {
                if (stop.IsCancellationRequested) return;
                try { await DeliverAsync(m, stop); }
                catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException)
                {
                    logger.LogWarning("notification {Id}: could not record its delivery: {Message}", m.Id, e.Message);
                }
            }
            if (due.Count == Batch) continue;
            var wait = MaxWait;
            if (next is not null && due.Count == 0)
            {
                var until = DateTime.Parse(next, null, System.Globalization.DateTimeStyles.RoundtripKind) - DateTime.UtcNow;
                if (until < wait) wait = until < TimeSpan.FromMilliseconds(50) ? TimeSpan.FromMilliseconds(50) : until;
            }
            else if (due.Count > 0) wait = TimeSpan.FromMilliseconds(50);
            try { await Notify.Wake.WaitAsync(wait, stop); }
            catch (OperationCanceledException) { return; }
        }
    }

    async Task DeliverAsync(Due m, CancellationToken stop)
    {
        using var c = db.Open();
        if (NotifyChannels.FindChannel(c, m.ChannelId) is not { } ch) return;
        var url = (settings.PublicUrl == "" ? "" : settings.PublicUrl.TrimEnd('/')) + m.Path;
        var outgoing = new Outgoing(m.Id, m.Event, m.Project, m.DeploymentId, m.Message, url, m.Count, m.FollowUp, Parse(m.LastAt), Parse(m.WindowAt));
        bool ok;
        string detail;
        try
        {
            (ok, detail) = await NotifySend.SendAsync(ch.Type, NotifyChannels.AllSettingsOf(protection, ch), ch.AllowPrivateNetwork, outgoing, settings.NotifyCollapse, settings, stop);
        }
        catch (Exception e) when (!stop.IsCancellationRequested)
        {
            // Anything a service or the network can do (refused, reset, timeout, TLS, SMTP errors) is this attempt's
            // outcome, never the worker's end.
            ok = false;
            detail = e is TaskCanceledException or OperationCanceledException ? "timed out" : Explain(e);
        }
        var attempt = m.Attempts + 1;
        var now = DateTime.UtcNow;
        c.Execute("INSERT INTO notification_deliveries (channel_id, message_id, at, attempt, ok, detail) VALUES (@ChannelId, @Id, @at, @attempt, @ok, @detail)",
            new { m.ChannelId, m.Id, at = Clock.Format(now), attempt, ok, detail });
        if (ok)
        {
            // Events that arrived while this was being sent added to its count: those become the follow-up.
            var done = c.Execute("UPDATE notification_messages SET status = 'delivered', attempts = @attempt, finished_at = @at WHERE id = @Id AND count = @Count",
                new { m.Id, m.Count, attempt, at = Clock.Format(now) });
            if (done == 0)
                c.Execute(
                    "UPDATE notification_messages SET count = count - @Count, follow_up = 1, attempts = 0, due_at = @due WHERE id = @Id",
                    new { m.Id, m.Count, due = Clock.Format(Parse(m.WindowAt) + settings.NotifyCollapse) });
            logger.LogInformation("notification {Id} ({Event}) delivered to channel {Channel}: {Detail}", m.Id, m.Event, ch.Name, detail);
            return;
        }
        if (now - Parse(m.CreatedAt) >= settings.NotifyRetryFor)
        {
            c.Execute("UPDATE notification_messages SET status = 'gave_up', attempts = @attempt, finished_at = @at WHERE id = @Id",
                new { m.Id, attempt, at = Clock.Format(now) });
            logger.LogWarning("notification {Id} ({Event}) to channel {Channel} given up after {Attempts} attempts: {Detail}", m.Id, m.Event, ch.Name, attempt, detail);
            return;
        }
        var backoff = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, settings.NotifyRetry.Ticks * (1L << Math.Min(attempt - 1, 20))));
        c.Execute("UPDATE notification_messages SET attempts = @attempt, due_at = @due WHERE id = @Id", new { m.Id, attempt, due = Clock.Format(now + backoff) });
        logger.LogWarning("notification {Id} ({Event}) to channel {Channel} failed (attempt {Attempt}), retry in {Seconds:0} s: {Detail}",
            m.Id, m.Event, ch.Name, attempt, backoff.TotalSeconds, detail);
    }

    static string Explain(Exception e)
    {
        var inner = e.GetBaseException();
        return inner == e || inner.Message == e.Message ? e.Message : $"{e.Message} ({inner.Message})";
    }

    static DateTime Parse(string at) => DateTime.Parse(at, null, System.Globalization.DateTimeStyles.RoundtripKind);
}
