using Dapper;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Data;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Deployments;

public sealed record DeploymentRow(
    long Id, long ProjectId, string Status, string Trigger, long? RequestedBy, string? RequestedByEmail, string? RequestedCommit,
    long? RollbackOf, string ConfigJson, string? CommitSha, string? CommitMessage, string? CommitAuthor, string? Image,
    string? ContainerName, long? HostPort, string? FailedStep, string? Error, long CancelRequested, string CreatedAt,
    string? StartedAt, string? FinishedAt, string? StaticRoot = null, string? ServiceName = null, string? ClusterImage = null, string? Upstreams = null)
{
    /// <summary>A plain static site's deployment (StaticSiteDeploy): Caddy serves <see cref="StaticRoot"/>; there is no image and no container.</summary>
    public bool IsStatic => StaticRoot is not null;

    public bool IsFinished => DeployStates.IsFinished(Status);
    public string ShortSha => CommitSha is { Length: >= 7 } s ? s[..7] : "";
    public TimeSpan? Duration =>
        StartedAt is not null && DateTime.TryParse(StartedAt, null, System.Globalization.DateTimeStyles.RoundtripKind, out var s)
            ? (FinishedAt is not null && DateTime.TryParse(FinishedAt, null, System.Globalization.DateTimeStyles.RoundtripKind, out var f) ? f : DateTime.UtcNow) - s
            : null;
}

public sealed record StepRow(string Step, string StartedAt, string? FinishedAt)
{
    public TimeSpan? Duration => FinishedAt is null ? null : DateTime.Parse(FinishedAt, null, System.Globalization.DateTimeStyles.RoundtripKind) - DateTime.Parse(StartedAt, null, System.Globalization.DateTimeStyles.RoundtripKind);
}

/// <summary>The deployment states (see GUIDE.md) and what they mean for the queue.</summary>
public static class DeployStates
{
    public const string Queued = "queued", Cloning = "cloning", Building = "building", Starting = "starting",
        HealthChecking = "health_checking", Switching = "switching", Live = "live", Failed = "failed",
        Cancelled = "cancelled", Superseded = "superseded", Retired = "retired";

    /// <summary>The steps a deployment walks through, in order (the page shows them as a row).</summary>
    public static readonly string[] Steps = [Cloning, Building, Starting, HealthChecking, Switching];

    public static readonly string[] Running = [Cloning, Building, Starting, HealthChecking, Switching];

    public static bool IsRunning(string s) => Running.Contains(s);
    public static bool IsFinished(string s) => s is Live or Failed or Cancelled or Superseded or Retired;

    public static string Label(string s) => s.Replace('_', ' ');
}

/// <summary>The queue's SQL: enqueue (superseding older queued rows), claim, step changes, and the end states.</summary>
public static class DeployStore
{
    internal const string Columns =
        "d.id, d.project_id, d.status, d.trigger, d.requested_by, u.email AS requested_by_email, d.requested_commit, d.rollback_of, " +
        "d.config_json, d.commit_sha, d.commit_message, d.commit_author, d.image, d.container_name, d.host_port, d.failed_step, " +
        "d.error, d.cancel_requested, d.created_at, d.started_at, d.finished_at, d.static_root, d.service_name, d.cluster_image, d.upstreams";

    internal const string From = "FROM deployments d LEFT JOIN users u ON u.id = d.requested_by";

    /// <summary>
    /// Queues a deployment. Older queued deployments of the same project become superseded in the same transaction:
    /// only the newest request matters once it is going to run anyway.
    /// </summary>
    public static long EnqueueDeployment(SqliteConnection c, long projectId, string trigger, long? requestedBy, ProjectConfig config,
        string? requestedCommit = null, long? rollbackOf = null, string? commitSha = null, string? commitMessage = null,
        string? commitAuthor = null, string? image = null)
    {
        using var tx = c.BeginTransaction();
        var now = Clock.Now();
        c.Execute("UPDATE deployments SET status = 'superseded', finished_at = @now WHERE project_id = @projectId AND status = 'queued'",
            new { projectId, now }, tx);
        var id = InsertQueued(c, tx, now, projectId, trigger, requestedBy, config, requestedCommit, rollbackOf, commitSha, commitMessage, commitAuthor, image);
        tx.Commit();
        return id;
    }

    static long InsertQueued(SqliteConnection c, SqliteTransaction tx, string now, long projectId, string trigger, long? requestedBy, ProjectConfig config,
        string? requestedCommit, long? rollbackOf, string? commitSha, string? commitMessage, string? commitAuthor, string? image) =>
        KeptSql.Scalar<long>(c,
            """
            INSERT INTO deployments (project_id, status, trigger, requested_by, requested_commit, rollback_of, config_json,
                                     commit_sha, commit_message, commit_author, image, created_at, log_key)
            VALUES (@projectId, 'queued', @trigger, @requestedBy, @requestedCommit, @rollbackOf, @config,
                    @commitSha, @commitMessage, @commitAuthor, @image, @now, @logKey)
            RETURNING id
            """,
            new { projectId, trigger, requestedBy, requestedCommit, rollbackOf, config = config.ToJson(), commitSha, commitMessage, commitAuthor, image, now,
                  logKey = NewLogKey() }, tx);

    /// <summary>
    /// 128 random bits, part of the deployment's log file name (DeployLog.PathOf). Random rather than derived from the
    /// id or the time: after restoring an older backup the ids (and possibly the clock) repeat, but nothing in the
    /// database or on disk can predict this value, so a new deployment can never open a log another one wrote.
    /// </summary>
    static string NewLogKey() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    /// <summary>Whether the deployment exists, its log key, and the log line kept in its row when it ended before it ran (migration 0035).</summary>
    public static (bool Exists, string? LogKey, string? LogNote) FindLogKey(SqliteConnection c, long deploymentId) =>
        c.QueryFirstOrDefault<(long, string?, string?)>("SELECT id, log_key, log_note FROM deployments WHERE id = @deploymentId", new { deploymentId }) is var (id, key, note) && id != 0
            ? (true, key, note) : (false, null, null);

    /// <summary>Every deployment of a project with its log key: what deleting the project must take off the disk.</summary>
    public static List<(long Id, string? LogKey)> ListLogKeysOfProject(SqliteConnection c, long projectId) =>
        c.Query<(long, string?)>("SELECT id, log_key FROM deployments WHERE project_id = @projectId", new { projectId }).ToList();

    /// <summary>A deployment of the commit that is queued, running or live: what a push of that commit finds instead of queuing.</summary>
    public sealed record PendingDeployment(long Id, string Status);

    /// <summary>
    /// Queues a push's deployment of exactly <paramref name="sha"/>, unless that commit is already queued, running or
    /// live for the project: then nothing is queued and that deployment is returned. This is the replay rule: the
    /// delivery id is an unsigned header, so a captured signed push sent again under a new id must still change nothing.
    /// Check and insert are one (immediate) transaction, so two copies racing in queue one deployment.
    /// Queued manual deploys and rollbacks are superseded as by any enqueue; queued pushes are not: which push is
    /// newer is a question of ancestry the mirror answers once fetched, so the worker decides it (see PushOrder).
    /// The commit alone decides, not the branch in each row's settings: the same commit is the same code.
    /// <paramref name="outer"/>: the caller's transaction (the webhook stores a push in one, Webhooks/WebhookEndpoint);
    /// without one, this is its own.
    /// </summary>
    /// <param name="supersedeQueuedByHand">false when an earlier push of the same transaction already did (the webhook's batches).</param>
    public static (long Id, PendingDeployment? Existing) EnqueuePushDeployment(SqliteConnection c, long projectId, ProjectConfig config, string sha,
        string? commitMessage, string? commitAuthor, SqliteTransaction? outer = null, bool supersedeQueuedByHand = true)
    {
        using var own = outer is null ? c.BeginTransaction() : null;
        var tx = outer ?? own!;
        // Two lookups (one per column, each on its index, migration 0032) rather than one OR, which SQLite answered
        // by walking every deployment the project ever had, on every push.
        var existing = KeptSql.FirstOrDefault<PendingDeployment>(c,
            """
            SELECT id, status FROM (
                SELECT id, status FROM deployments WHERE project_id = @projectId AND requested_commit = @sha
                UNION ALL
                SELECT id, status FROM deployments WHERE project_id = @projectId AND commit_sha = @sha)
            WHERE status IN ('queued', 'cloning', 'building', 'starting', 'health_checking', 'switching', 'live')
            ORDER BY id DESC LIMIT 1
            """, new { projectId, sha }, tx);
        if (existing is not null) return (existing.Id, existing);
        var now = Clock.Now();
        if (supersedeQueuedByHand)
            KeptSql.Execute(c, "UPDATE deployments SET status = 'superseded', finished_at = @now WHERE project_id = @projectId AND status = 'queued' AND trigger <> 'webhook'",
                new { projectId, now }, tx);
        var id = InsertQueued(c, tx, now, projectId, "webhook", null, config, sha, null, sha, commitMessage, commitAuthor, null);
        own?.Commit();
        return (id, null);
    }

    /// <summary>
    /// Ends a push's deployment that is not going to run (see PushOrder): superseded, with why, from the queue or from
    /// its first step. False when it had already moved on (cancelled meanwhile).
    /// </summary>
    /// <remarks><paramref name="logNote"/>: the log line of one that never ran (it then has no log file, see DeployLog).</remarks>
    public static bool SkipDeployment(SqliteConnection c, long id, string reason, string? logNote = null)
    {
        var now = Clock.Now();
        using var tx = c.BeginTransaction();
        c.Execute("UPDATE deployment_steps SET finished_at = @now WHERE deployment_id = @id AND finished_at IS NULL", new { id, now }, tx);
        var n = c.Execute("UPDATE deployments SET status = 'superseded', error = @reason, finished_at = @now, log_note = coalesce(@logNote, log_note) WHERE id = @id AND status IN ('queued', 'cloning')",
            new { id, reason, now, logNote }, tx);
        tx.Commit();
        return n == 1;
    }

    /// <summary>
    /// Fails a deployment that is still queued, at <paramref name="step"/>, the step its own run would have failed at
    /// (PushOrder: a push whose commit another deployment's fetch did not bring). False when it had left the queue.
    /// </summary>
    /// <remarks>The caller queues the notification (PushOrder: Notify.DeploymentsFailed, once for all the rows it fails).
    /// <paramref name="logNote"/> is its whole log (it never ran, so it has no log file; see DeployLog).</remarks>
    public static bool FailQueuedDeployment(SqliteConnection c, long id, string step, string error, string logNote, SqliteTransaction? tx = null) =>
        KeptSql.Execute(c, "UPDATE deployments SET status = 'failed', failed_step = @step, error = @error, finished_at = @now, log_note = @logNote WHERE id = @id AND status = 'queued'",
            new { id, step, error, now = Clock.Now(), logNote }, tx) == 1;

    /// <summary>The id of the newest deployment stored so far (0 for none).</summary>
    public static long FindLastDeploymentId(SqliteConnection c) =>
        c.ExecuteScalar<long>("SELECT coalesce(max(id), 0) FROM deployments");

    public static DeploymentRow? FindDeployment(SqliteConnection c, long id) =>
        c.QuerySingleOrDefault<DeploymentRow>($"SELECT {Columns} {From} WHERE d.id = @id", new { id });

    public static List<DeploymentRow> ListDeploymentsOfProject(SqliteConnection c, long projectId, int limit = 50) =>
        c.Query<DeploymentRow>($"SELECT {Columns} {From} WHERE d.project_id = @projectId ORDER BY d.id DESC LIMIT @limit", new { projectId, limit }).AsList();

    /// <summary>The newest <paramref name="limit"/> deployments of the project older than <paramref name="beforeId"/>: one page of its history.</summary>
    public static List<DeploymentRow> ListDeploymentsOfProjectBefore(SqliteConnection c, long projectId, long beforeId, int limit) =>
        c.Query<DeploymentRow>($"SELECT {Columns} {From} WHERE d.project_id = @projectId AND d.id < @beforeId ORDER BY d.id DESC LIMIT @limit",
            new { projectId, beforeId, limit }).AsList();

    public static DeploymentRow? FindLiveDeployment(SqliteConnection c, long projectId, SqliteTransaction? tx = null) =>
        c.QuerySingleOrDefault<DeploymentRow>($"SELECT {Columns} {From} WHERE d.project_id = @projectId AND d.status = 'live'", new { projectId }, tx);

    /// <summary>The newest deployment before <paramref name="id"/> that went live (live now or retired since) with a known commit.</summary>
    public static DeploymentRow? FindDeploymentLiveBefore(SqliteConnection c, long projectId, long id) =>
        c.QuerySingleOrDefault<DeploymentRow>(
            $"SELECT {Columns} {From} WHERE d.project_id = @projectId AND d.id < @id AND d.status IN ('live', 'retired') AND d.commit_sha IS NOT NULL ORDER BY d.id DESC LIMIT 1",
            new { projectId, id });

    public static List<StepRow> ListSteps(SqliteConnection c, long deploymentId) =>
        c.Query<StepRow>("SELECT step, started_at, finished_at FROM deployment_steps WHERE deployment_id = @deploymentId ORDER BY started_at",
            new { deploymentId }).AsList();

    public static string? FindStatus(SqliteConnection c, long id) =>
        c.ExecuteScalar<string?>("SELECT status FROM deployments WHERE id = @id", new { id });

    /// <summary>
    /// Claims the oldest queued deployment of a project that has nothing running, moving it to its first step.
    /// One statement, so two claimers can never both take a row or both run a project.
    /// The projects in progress are listed once (an uncorrelated NOT IN, on deployments_by_status) rather than looked up
    /// for each queued row: that correlated NOT EXISTS walked the project's whole history per queued row, and with 5,000
    /// pushes queued behind a running deploy, on a project with 20,000 deployments, one claim took 11 s in sqlite3,
    /// holding the write lock every push waits for (bench/run.sh, measurement 7); now 0.8 ms on the same rows. Same
    /// rows claimed in the same order as before. (Asking it project by project, to read less of a long queue on each
    /// wake-up, made SwitchOneSiteTests reload Caddy many times during one redeploy, for a reason not yet found.)
    /// </summary>
    public static long? ClaimNextQueuedDeployment(SqliteConnection c)
    {
        var now = Clock.Now();
        return c.ExecuteScalar<long?>(
            """
            UPDATE deployments SET status = 'cloning', started_at = @now
            WHERE id = (
                SELECT q.id FROM deployments q
                WHERE q.status = 'queued'
                  AND q.project_id NOT IN (SELECT r.project_id FROM deployments r
                                           WHERE r.status IN ('cloning', 'building', 'starting', 'health_checking', 'switching'))
                ORDER BY q.id LIMIT 1)
              AND status = 'queued'
            RETURNING id
            """, new { now });
    }

    /// <summary>
    /// Whether the project has a deployment in progress, or one queued before <paramref name="id"/>: then the worker
    /// cannot claim this one now, and waking it for a claim is wasted (it is woken when that one ends). Two index
    /// lookups (deployments_queued_by_project, deployments_by_status), whatever the queue's length.
    /// </summary>
    /// <remarks>
    /// The running ones are looked up by status (a handful across all projects), never through the project's index:
    /// without the unary + SQLite chose deployments_by_project_commit and walked every deployment the project ever had,
    /// on every push (0.3-1.2 ms a push after a few thousand, issue 20).
    /// </remarks>
    public static bool HasDeploymentAhead(SqliteConnection c, long projectId, long id, SqliteTransaction? tx = null) =>
        c.ExecuteScalar<bool>(
            """
            SELECT EXISTS (SELECT 1 FROM deployments WHERE project_id = @projectId AND status = 'queued' AND id < @id)
                OR EXISTS (SELECT 1 FROM deployments WHERE status IN ('cloning', 'building', 'starting', 'health_checking', 'switching')
                           AND +project_id = @projectId)
            """, new { projectId, id }, tx);

    public static int CountRunningDeployments(SqliteConnection c) =>
        c.ExecuteScalar<int>("SELECT count(*) FROM deployments WHERE status IN ('cloning', 'building', 'starting', 'health_checking', 'switching')");

    /// <summary>Moves a running deployment to its next step and closes the previous step's timing.</summary>
    public static void UpdateStep(SqliteConnection c, long id, string step)
    {
        var now = Clock.Now();
        using var tx = c.BeginTransaction();
        c.Execute("UPDATE deployment_steps SET finished_at = @now WHERE deployment_id = @id AND finished_at IS NULL", new { id, now }, tx);
        c.Execute("INSERT OR REPLACE INTO deployment_steps (deployment_id, step, started_at) VALUES (@id, @step, @now)", new { id, step, now }, tx);
        c.Execute("UPDATE deployments SET status = @step WHERE id = @id", new { id, step }, tx);
        tx.Commit();
    }

    public static void UpdateCommit(SqliteConnection c, long id, string sha, string author, string message) =>
        c.Execute("UPDATE deployments SET commit_sha = @sha, commit_author = @author, commit_message = @message WHERE id = @id",
            new { id, sha, author, message });

    /// <summary>A cluster deployment's service, the image reference its tasks run and the node:port addresses Caddy balances over.</summary>
    public static void UpdateCluster(SqliteConnection c, long id, string serviceName, string clusterImage, string upstreams) =>
        c.Execute("UPDATE deployments SET service_name = @serviceName, cluster_image = @clusterImage, upstreams = @upstreams WHERE id = @id",
            new { id, serviceName, clusterImage, upstreams });

    public static void UpdateImage(SqliteConnection c, long id, string image) =>
        c.Execute("UPDATE deployments SET image = @image WHERE id = @id", new { id, image });

    public static void UpdateContainer(SqliteConnection c, long id, string containerName, int hostPort) =>
        c.Execute("UPDATE deployments SET container_name = @containerName, host_port = @hostPort WHERE id = @id", new { id, containerName, hostPort });

    /// <summary>Ends a deployment in failed or cancelled, keeping the step it was at and why.</summary>
    public static void FinishUnsuccessfully(SqliteConnection c, long id, string status, string error)
    {
        var now = Clock.Now();
        using var tx = c.BeginTransaction();
        c.Execute("UPDATE deployment_steps SET finished_at = @now WHERE deployment_id = @id AND finished_at IS NULL", new { id, now }, tx);
        c.Execute(
            """
            UPDATE deployments SET failed_step = CASE WHEN status IN ('queued', 'cloning', 'building', 'starting', 'health_checking', 'switching') THEN status ELSE failed_step END,
                status = @status, error = @error, finished_at = @now
            WHERE id = @id
            """, new { id, status, error, now }, tx);
        tx.Commit();
        if (status == DeployStates.Failed) Notifications.Notify.DeploymentEnded(c, id, live: false, error);
    }

    /// <summary>The switch, in the database: the previous live deployment becomes retired and this one live, atomically.</summary>
    public static long? MarkLiveRetiringPrevious(SqliteConnection c, long id, long projectId)
    {
        var now = Clock.Now();
        using var tx = c.BeginTransaction();
        var previous = c.ExecuteScalar<long?>("SELECT id FROM deployments WHERE project_id = @projectId AND status = 'live'", new { projectId }, tx);
        c.Execute("UPDATE deployments SET status = 'retired' WHERE project_id = @projectId AND status = 'live'", new { projectId }, tx);
        c.Execute("UPDATE deployment_steps SET finished_at = @now WHERE deployment_id = @id AND finished_at IS NULL", new { id, now }, tx);
        c.Execute("UPDATE deployments SET status = 'live', finished_at = @now WHERE id = @id", new { id, now }, tx);
        tx.Commit();
        Notifications.Notify.DeploymentEnded(c, id, live: true, null);
        return previous;
    }

    /// <summary>A project being deleted: its live deployment is no longer one the reconciler keeps running.</summary>
    public static void RetireLiveDeploymentOfProject(SqliteConnection c, long projectId) =>
        c.Execute("UPDATE deployments SET status = 'retired' WHERE project_id = @projectId AND status = 'live'", new { projectId });

    /// <summary>Cancels a queued deployment outright; true when it was still queued.</summary>
    public static bool CancelQueuedDeployment(SqliteConnection c, long id, string error) =>
        c.Execute("UPDATE deployments SET status = 'cancelled', error = @error, failed_step = 'queued', finished_at = @now WHERE id = @id AND status = 'queued'",
            new { id, error, now = Clock.Now() }) == 1;

    /// <summary>Flags a running deployment for cancellation (the worker also gets told directly); true when it is running.</summary>
    public static bool RequestCancel(SqliteConnection c, long id) =>
        c.Execute("UPDATE deployments SET cancel_requested = 1 WHERE id = @id AND status IN ('cloning', 'building', 'starting', 'health_checking', 'switching')",
            new { id }) == 1;

    /// <summary>
    /// After a crash: every deployment left in a running step is failed with the reason. Returns them so their
    /// leftover containers can be removed (never the live one, which is a different row).
    /// </summary>
    public static List<DeploymentRow> FailInterruptedDeployments(SqliteConnection c)
    {
        var rows = c.Query<DeploymentRow>($"SELECT {Columns} {From} WHERE d.status IN ('cloning', 'building', 'starting', 'health_checking', 'switching')").AsList();
        foreach (var r in rows) FinishUnsuccessfully(c, r.Id, DeployStates.Failed, "interrupted by panel restart");
        return rows;
    }

    /// <summary>Host ports used by containers the panel has running or about to run, so a new container gets a fresh one.</summary>
    public static HashSet<int> ListHostPortsInUse(SqliteConnection c) =>
        c.Query<int>(
            """
            SELECT host_port FROM deployments WHERE host_port IS NOT NULL AND status IN ('starting', 'health_checking', 'switching', 'live')
            UNION SELECT r.host_port FROM deployment_replicas r JOIN deployments d ON d.id = r.deployment_id
            WHERE d.status IN ('starting', 'health_checking', 'switching', 'live')
            """).ToHashSet();
}

/// <summary>The SQL of the live-container reconcile (LiveReconciler) and of the switch recovery (SwitchRecovery).</summary>
public static class LiveStore
{
    public sealed record LiveContainer(long Id, long ProjectId, string Slug, string ContainerName, long? HostPort);

    /// <summary>
    /// Every live deployment that has a container. A plain static site's (StaticSiteDeploy) has none and is left out:
    /// Caddy serves its files, nothing can stop, so nothing here may call it down.
    /// </summary>
    public static List<LiveContainer> ListLiveContainers(SqliteConnection c) =>
        c.Query<LiveContainer>(
            """
            SELECT d.id, d.project_id, p.slug, d.container_name, d.host_port
            FROM deployments d JOIN projects p ON p.id = d.project_id
            WHERE d.status = 'live' AND d.container_name IS NOT NULL
            ORDER BY d.id
            """).AsList();

    /// <summary>Deployments a crash left in the switching step: the route may already point at them.</summary>
    public static List<DeploymentRow> ListSwitchingDeployments(SqliteConnection c) =>
        c.Query<DeploymentRow>($"SELECT {DeployStore.Columns} {DeployStore.From} WHERE d.status = 'switching'").AsList();
}
