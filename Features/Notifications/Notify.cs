using Dapper;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Data;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Notifications;

/// <summary>
/// Something happened that someone should hear about: one call where it happens (a deploy ends, the reconciler
/// restarts an app, a backup fails, an admin signs in from a new address). It only inserts rows into the outbound
/// queue (notification_messages), one per subscribed channel, and wakes the worker: no network, so it never holds
/// up a deploy, and a failure here is logged and swallowed, never the caller's failure.
/// Flood collapse happens here: the same event for the same project within Notifications:CollapseSeconds adds to
/// the count of the message still queued, or, when that one went out already, to one follow-up sent at the end of
/// the window ("… 9 more times"), so a crash loop is two messages, not a hundred.
/// </summary>
public static class Notify
{
    public const string DeploymentFailed = "deployment.failed", DeploymentSucceeded = "deployment.succeeded", AppCrashLooping = "app.crash_looping",
        AppRestarted = "app.restarted", AppUnhealthy = "app.unhealthy", DiskLow = "disk.low", BackupFailed = "backup.failed",
        WebhookSignatureFailures = "webhook.signature_failures", AdminNewSignIn = "admin.new_sign_in", PreviewReady = "preview.ready",
        ServerDown = "server.down";

    public static readonly string[] Events = [DeploymentFailed, DeploymentSucceeded, AppCrashLooping, AppRestarted, AppUnhealthy, DiskLow, BackupFailed,
        WebhookSignatureFailures, AdminNewSignIn, PreviewReady, ServerDown];

    /// <summary>Set by the worker from Notifications:CollapseSeconds (one panel per process).</summary>
    internal static TimeSpan CollapseWindow { get; set; } = TimeSpan.FromMinutes(10);
    internal static ILogger? Logger { get; set; }
    /// <summary>http or https for app links in messages (Caddy:AutomaticHttps), set by the worker like CollapseWindow.</summary>
    internal static string AppScheme { get; set; } = "https";
    internal static readonly SemaphoreSlim Wake = new(0);

    /// <summary>A deployment ended failed or live (Deployments/DeployStore).</summary>
    public static void DeploymentEnded(SqliteConnection c, long deploymentId, bool live, string? error)
    {
        var rows = c.Query<(long ProjectId, string Slug)>(
            "SELECT d.project_id, p.slug FROM deployments d JOIN projects p ON p.id = d.project_id WHERE d.id = @deploymentId", new { deploymentId }).ToList();
        if (rows is not [var row]) return;
        if (!live)
        {
            Event(c, DeploymentFailed, row.ProjectId, deploymentId, $"Deployment {deploymentId} of {row.Slug} failed: {error}", $"/deployments/{deploymentId}");
            return;
        }
        Event(c, DeploymentSucceeded, row.ProjectId, deploymentId, $"Deployment {deploymentId} of {row.Slug} is live.", $"/deployments/{deploymentId}");
        // A preview (Previews/PreviewDeploys) is ready: the message carries its URL, so a team's hook can post it on the request.
        if (c.Query<(long Number, string Title, string? Host)>(
                """
                SELECT v.number, v.title, (SELECT hostname FROM project_domains pd WHERE pd.project_id = v.project_id ORDER BY position LIMIT 1)
                FROM previews v WHERE v.project_id = @ProjectId
                """, new { row.ProjectId }).ToList() is [var preview])
            Event(c, PreviewReady, row.ProjectId, deploymentId,
                $"The preview of request #{preview.Number} ({preview.Title}) of {row.Slug} is live at {AppScheme}://{preview.Host}/", $"/deployments/{deploymentId}");
    }

    /// <summary>
    /// The reconciler (Deployments/LiveReconciler) started a stopped live container again. A second stop after a restart,
    /// or the last allowed attempt, is a crash loop: the app will not stay up by itself.
    /// </summary>
    public static void AppWasRestarted(Db db, long projectId, long deploymentId, string what, bool crashLooping) =>
        Event(db, crashLooping ? AppCrashLooping : AppRestarted, projectId, deploymentId,
            (crashLooping ? "The app is crash looping: " : "The app was restarted by self-healing: ") + what + ".", $"/deployments/{deploymentId}");

    /// <summary>
    /// An admin signed in (Auth/Login, LoginCode) from an address the audit log has no earlier sign-in of theirs from.
    /// Called after the sign-in's own audit row, so "new" is "only that one row".
    /// </summary>
    public static void AdminSignedIn(SqliteConnection c, Users.UserRow user)
    {
        if (user.Role != Users.Roles.Admin) return;
        // The address as the audit row has it (IPv4-mapped forms already unwrapped there).
        var address = c.ExecuteScalar<string?>("SELECT address FROM audit_log WHERE user_id = @Id AND action = 'auth.sign_in' ORDER BY id DESC LIMIT 1", new { user.Id });
        if (address is null || c.ExecuteScalar<long>("SELECT count(*) FROM audit_log WHERE user_id = @Id AND action = 'auth.sign_in' AND address = @address", new { user.Id, address }) > 1) return;
        Event(c, AdminNewSignIn, null, null, $"Admin {user.Email} signed in from a new address: {address}.", "/account");
    }

    /// <summary>A service dump ended failed (Services/ServiceDumps).</summary>
    public static void DumpFailed(SqliteConnection c, long dumpId, string error)
    {
        var rows = c.Query<(long Id, string Name)>("SELECT s.id, s.name FROM service_dumps d JOIN services s ON s.id = d.service_id WHERE d.id = @dumpId", new { dumpId }).ToList();
        if (rows is [var s]) Event(c, BackupFailed, null, null, $"Dump {dumpId} of service {s.Name} failed: {error}", $"/services/{s.Name}/dumps");
    }

    /// <summary>The scheduled backup of the panel failed (Backups/BackupJob); it holds no Db, so the database file is opened here.</summary>
    public static void ScheduledBackupFailed(Settings.PanelSettings settings, string error)
    {
        try
        {
            using var c = Db.OpenFile(settings.DatabasePath);
            Event(c, BackupFailed, null, null, $"The scheduled backup of the panel failed: {error}", "/");
        }
        catch (SqliteException e) { Logger?.LogWarning("notification {Event} not queued: {Message}", BackupFailed, e.Message); }
    }

    /// <summary>The same, on a connection of its own (callers that hold none).</summary>
    public static void Event(Db db, string evt, long? projectId, long? deploymentId, string message, string path)
    {
        try
        {
            using var c = db.Open();
            Event(c, evt, projectId, deploymentId, message, path);
        }
        catch (Exception e) when (e is SqliteException or InvalidOperationException) { Logger?.LogWarning("notification {Event} not queued: {Message}", evt, e.Message); }
    }

    /// <summary>Queues the event for every channel that takes it (its events, its projects, the project's subscriptions; deployment.failed always).</summary>
    /// <param name="outer">The caller's transaction, when the event is recorded inside one: the message is queued if
    /// and when that transaction commits, and the caller then calls <see cref="WakeWorker"/>.</param>
    public static void Event(SqliteConnection c, string evt, long? projectId, long? deploymentId, string message, string path, SqliteTransaction? outer = null)
    {
        try
        {
            var (project, channels) = ChannelsFor(c, evt, projectId, outer);
            foreach (var channelId in channels) Collapse(c, channelId, evt, projectId, project, deploymentId, message, path, outer);
            // Inside a transaction the sender would look before the message is committed, find nothing and sleep for
            // up to half a minute: the caller wakes it after its commit instead (WakeWorker).
            if (channels.Count > 0 && outer is null) WakeWorker();
        }
        catch (Exception e) when (e is SqliteException or InvalidOperationException) { Logger?.LogWarning("notification {Event} not queued: {Message}", evt, e.Message); }
    }

    /// <summary>
    /// Several deployments of one project that failed together, inside the caller's transaction (Deployments/PushOrder:
    /// the queued pushes a fetch did not bring, thousands in a flood): the same messages as <see cref="DeploymentEnded"/>
    /// gives each, with the project and its channels looked up once instead of three queries per deployment. The
    /// caller wakes the sender after its commit (<see cref="WakeWorker"/>).
    /// </summary>
    public static void DeploymentsFailed(SqliteConnection c, long projectId, IReadOnlyList<(long Id, string Error)> failed, SqliteTransaction outer)
    {
        try
        {
            var (project, channels) = ChannelsFor(c, DeploymentFailed, projectId, outer);
            foreach (var channelId in channels)
                foreach (var (id, error) in failed)
                    Collapse(c, channelId, DeploymentFailed, projectId, project, id, $"Deployment {id} of {project} failed: {error}", $"/deployments/{id}", outer);
        }
        catch (Exception e) when (e is SqliteException or InvalidOperationException) { Logger?.LogWarning("notification {Event} not queued: {Message}", DeploymentFailed, e.Message); }
    }

    /// <summary>The project's slug ("" for none) and the channels taking <paramref name="evt"/> for it.</summary>
    static (string Project, List<long> Channels) ChannelsFor(SqliteConnection c, string evt, long? projectId, SqliteTransaction? outer)
    {
        var project = projectId is null ? "" : c.ExecuteScalar<string?>("SELECT slug FROM projects WHERE id = @projectId", new { projectId }, outer) ?? "";
        // The channel's projects and events, then the owner's subscription: the rule is NotifySubscriptions'.
        // An environment or a preview (Projects/ProjectEnvironments) is subscribed as its project is.
        var subscriber = projectId is { } pid ? c.ExecuteScalar<long?>("SELECT coalesce(parent_id, id) FROM projects WHERE id = @pid", new { pid }, outer) ?? pid : (long?)null;
        return (project, NotifySubscriptions.ChannelsTaking(c, evt, subscriber, outer));
    }

    static void Collapse(SqliteConnection c, long channelId, string evt, long? projectId, string project, long? deploymentId, string message, string path,
        SqliteTransaction? outer)
    {
        var now = DateTime.UtcNow;
        using var own = outer is null ? c.BeginTransaction() : null;
        var tx = outer ?? own!;
        var newest = c.Query<(long Id, string Status, string WindowAt)>(
            """
            SELECT id, status, window_at FROM notification_messages
            WHERE channel_id = @channelId AND event = @evt AND project_id IS @projectId AND test = 0 ORDER BY id DESC LIMIT 1
            """, new { channelId, evt, projectId }, tx).ToList();
        var windowStart = newest is [var n] ? DateTime.Parse(n.WindowAt, null, System.Globalization.DateTimeStyles.RoundtripKind) : DateTime.MinValue;
        if (newest is [var last] && windowStart > now - CollapseWindow)
        {
            if (last.Status == "pending")
                c.Execute(
                    """
                    UPDATE notification_messages SET count = count + 1, message = @message, path = @path, deployment_id = @deploymentId, last_at = @at
                    WHERE id = @Id
                    """, new { last.Id, message, path, deploymentId, at = Clock.Format(now) }, tx);
            else
                Insert(c, tx, channelId, evt, projectId, project, deploymentId, message, path, followUp: true, windowAt: last.WindowAt,
                    dueAt: Clock.Format(windowStart + CollapseWindow), test: false);
        }
        else Insert(c, tx, channelId, evt, projectId, project, deploymentId, message, path, followUp: false, windowAt: Clock.Format(now), dueAt: Clock.Format(now), test: false);
        own?.Commit();
    }

    /// <summary>A test message for one channel (the "send test" button): queued like any other, never collapsed.</summary>
    public static long QueueTest(SqliteConnection c, long channelId, string requestedBy)
    {
        var now = Clock.Now();
        var id = Insert(c, null, channelId, "test", null, "", null, $"Test message from VpsPanel, sent by {requestedBy}. This channel works.", "/notifications/" + channelId,
            followUp: false, windowAt: now, dueAt: now, test: true);
        WakeWorker();
        return id;
    }

    static long Insert(SqliteConnection c, SqliteTransaction? tx, long channelId, string evt, long? projectId, string project, long? deploymentId, string message, string path,
        bool followUp, string windowAt, string dueAt, bool test) =>
        c.ExecuteScalar<long>(
            """
            INSERT INTO notification_messages (channel_id, event, project_id, project, deployment_id, message, path, follow_up, test, window_at, created_at, last_at, due_at)
            VALUES (@channelId, @evt, @projectId, @project, @deploymentId, @message, @path, @followUp, @test, @windowAt, @now, @now, @dueAt) RETURNING id
            """, new { channelId, evt, projectId, project, deploymentId, message, path, followUp, test, windowAt, now = Clock.Now(), dueAt }, tx);

    /// <summary>Tells the sender (NotifyWorker) that messages may be due.</summary>
    public static void WakeWorker()
    {
        if (Wake.CurrentCount == 0) Wake.Release();
    }
}
