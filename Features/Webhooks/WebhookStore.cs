using System.Security.Cryptography;
using Dapper;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Data;
using VpsPanel.Features.Settings;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Webhooks;

/// <summary>One line of a project's delivery log.</summary>
public sealed record DeliveryRow(
    long Id, string ReceivedAt, string? Provider, string? Event, string? DeliveryId, string? Branch, string? CommitSha,
    string Outcome, string Reason, long? DeploymentId, long Times = 1, string? LastReceivedAt = null)
{
    public string ShortSha => CommitSha is { Length: >= 7 } s ? s[..7] : CommitSha ?? "";
}

/// <summary>What the webhook endpoint needs to know about a project.</summary>
public sealed record WebhookTarget(long Id, string Slug, string Branch, long AutoDeploy, string? WebhookSecretProtected);

/// <summary>
/// The webhook's SQL and secrets: each project's secret (encrypted with Data Protection, generated on first need),
/// its auto-deploy switch, and the delivery log (the last <see cref="KeepDeliveries"/> per project, and apart from
/// those the refused deliveries, counted one row per minute: the last <see cref="KeepDeliveries"/> such minutes).
/// </summary>
public static class WebhookStore
{
    public const int KeepDeliveries = 100;

    /// <summary>
    /// The secret is encrypted rather than hashed because it has to be read back: to compute each delivery's HMAC,
    /// and to show it on the project page for pasting into the Git host. Encrypted rather than plain so that the
    /// database file alone (a backup, a copied file) does not give it away; the key ring lives in &lt;DataDir&gt;/keys.
    /// </summary>
    public const string SecretPurpose = "VpsPanel.Webhooks.Secret.v1";

    /// <summary>256 random bits as hex: accepted by every provider's secret field and easy to copy.</summary>
    public static string NewSecret() => Convert.ToHexString(RandomNumberGenerator.GetBytes(32)).ToLowerInvariant();

    /// <summary>
    /// Absolute from Panel:PublicUrl only. Never from the request's Host header: the client chooses it, so a forged
    /// Host would put an attacker's address in front of the secret's URL. Unset, it is the path alone, and the project
    /// page says to set Panel:PublicUrl.
    /// </summary>
    public static string UrlFor(PanelSettings settings, string slug) => settings.PublicUrl + "/webhooks/" + slug;

    public static WebhookTarget? FindWebhookTargetBySlug(SqliteConnection c, string slug, SqliteTransaction? tx = null) =>
        c.QuerySingleOrDefault<WebhookTarget>(
            // A project on the repository's default branch ('') deploys pushes to the branch its last deploy found (0016_detect_defaults.sql).
            "SELECT id, slug, CASE WHEN branch = '' THEN coalesce(default_branch, '') ELSE branch END AS branch, auto_deploy, webhook_secret_protected FROM projects WHERE slug = @slug",
            new { slug }, tx);

    /// <summary>The project an environment belongs to, or the project itself (Projects/ProjectEnvironments).</summary>
    public static long FindRootProjectId(SqliteConnection c, long projectId, SqliteTransaction? tx = null) =>
        c.ExecuteScalar<long>("SELECT coalesce(parent_id, id) FROM projects WHERE id = @projectId", new { projectId }, tx);

    /// <summary>The stored secret, decrypted; null when there is none or it cannot be decrypted (the key ring changed).</summary>
    public static string? ReadSecret(IDataProtectionProvider protection, string? stored)
    {
        if (stored is null) return null;
        try { return protection.CreateProtector(SecretPurpose).Unprotect(stored); }
        catch (CryptographicException) { return null; }
    }

    /// <summary>
    /// The project's secret, generating and storing one when it has none (projects created before webhooks existed).
    /// Null when the stored one cannot be decrypted: the page then offers a new one.
    /// </summary>
    public static string? EnsureSecret(SqliteConnection c, IDataProtectionProvider protection, long projectId)
    {
        var stored = c.ExecuteScalar<string?>("SELECT webhook_secret_protected FROM projects WHERE id = @projectId", new { projectId });
        if (stored is null)
        {
            // Only fills an empty slot: two first views racing end with one secret, the one both then read.
            c.Execute("UPDATE projects SET webhook_secret_protected = @p WHERE id = @projectId AND webhook_secret_protected IS NULL",
                new { projectId, p = protection.CreateProtector(SecretPurpose).Protect(NewSecret()) });
            stored = c.ExecuteScalar<string?>("SELECT webhook_secret_protected FROM projects WHERE id = @projectId", new { projectId });
        }
        return ReadSecret(protection, stored);
    }

    /// <summary>Replaces the secret with a new one (a leaked or undecryptable secret); returns it.</summary>
    public static string ReplaceSecret(SqliteConnection c, IDataProtectionProvider protection, long projectId, SqliteTransaction? tx = null)
    {
        var secret = NewSecret();
        c.Execute("UPDATE projects SET webhook_secret_protected = @p WHERE id = @projectId",
            new { projectId, p = protection.CreateProtector(SecretPurpose).Protect(secret) }, tx);
        return secret;
    }

    public static bool FindAutoDeploy(SqliteConnection c, long projectId) =>
        c.ExecuteScalar<bool>("SELECT auto_deploy FROM projects WHERE id = @projectId", new { projectId });

    public static void UpdateAutoDeploy(SqliteConnection c, long projectId, bool autoDeploy, SqliteTransaction? tx = null) =>
        c.Execute("UPDATE projects SET auto_deploy = @autoDeploy WHERE id = @projectId", new { projectId, autoDeploy }, tx);

    public sealed record NewDelivery(
        long ProjectId, string? Provider, string? Event, string? DeliveryId, string? Branch = null, string? CommitSha = null);

    /// <summary>
    /// Records a delivery and trims the project's log to the newest <see cref="KeepDeliveries"/> (refused deliveries'
    /// minute rows are trimmed apart, so a flood of them never pushes these out). A 'queued' or 'skipped' row whose
    /// delivery id was already queued violates the unique index: null is returned and nothing is written.
    /// </summary>
    /// <paramref name="outer"/>: the caller's transaction (a push is stored in one); without one, this is its own.
    /// <paramref name="trim"/>: false when the caller trims the log itself before its commit (<see cref="TrimDeliveries"/>).
    public static long? InsertDelivery(SqliteConnection c, NewDelivery d, string outcome, string reason, long? deploymentId = null,
        SqliteTransaction? outer = null, bool trim = true)
    {
        using var own = outer is null ? c.BeginTransaction() : null;
        var tx = outer ?? own!;
        long id;
        try
        {
            id = KeptSql.Scalar<long>(c,
                """
                INSERT INTO webhook_deliveries (project_id, received_at, provider, event, delivery_id, branch, commit_sha, outcome, reason, deployment_id)
                VALUES (@ProjectId, @now, @Provider, @Event, @DeliveryId, @Branch, @CommitSha, @outcome, @reason, @deploymentId)
                RETURNING id
                """,
                new { d.ProjectId, now = Clock.Now(), d.Provider, d.Event, d.DeliveryId, d.Branch, d.CommitSha, outcome, reason, deploymentId }, tx);
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 19 && outcome is "queued" or "skipped")
        {
            return null;
        }
        if (trim) TrimDeliveries(c, d.ProjectId, tx);
        own?.Commit();
        return id;
    }

    /// <summary>Trims the project's delivery log (not its refused-minute rows) to the newest <see cref="KeepDeliveries"/>.</summary>
    public static void TrimDeliveries(SqliteConnection c, long projectId, SqliteTransaction tx) =>
        c.Execute(
            """
            DELETE FROM webhook_deliveries WHERE project_id = @projectId AND refused_minute IS NULL
              AND id < (SELECT min(id) FROM (SELECT id FROM webhook_deliveries WHERE project_id = @projectId AND refused_minute IS NULL
                                             ORDER BY id DESC LIMIT @KeepDeliveries))
            """, new { projectId, KeepDeliveries }, tx);

    /// <summary>
    /// Counts a refused delivery (bad signature, unknown sender, too large, too slow, unreadable) into the project's
    /// row for this minute: the URL is public, so one row per refusal would let anyone push the real deliveries out of
    /// the log. The row keeps the first time, the last time, the count and the last reason. One statement (an upsert
    /// on the per-minute unique index), so refusals racing in still make one row.
    /// </summary>
    /// <paramref name="outer"/>: the caller's transaction; without one, this is its own.
    public static void CountRefusedDelivery(SqliteConnection c, NewDelivery d, string reason, SqliteTransaction? outer = null)
    {
        var now = Clock.Now();
        using var own = outer is null ? c.BeginTransaction() : null;
        var tx = outer ?? own!;
        c.Execute(
            """
            INSERT INTO webhook_deliveries (project_id, received_at, provider, event, delivery_id, outcome, reason, times, last_received_at, refused_minute)
            VALUES (@ProjectId, @now, @Provider, @Event, @DeliveryId, 'rejected', @reason, 1, @now, @minute)
            ON CONFLICT (project_id, refused_minute) WHERE refused_minute IS NOT NULL DO UPDATE SET
                times = times + 1, last_received_at = excluded.last_received_at, reason = excluded.reason,
                provider = excluded.provider, event = excluded.event, delivery_id = excluded.delivery_id
            """, new { d.ProjectId, now, d.Provider, d.Event, d.DeliveryId, reason, minute = now[..16] }, tx);
        c.Execute(
            """
            DELETE FROM webhook_deliveries WHERE project_id = @ProjectId AND refused_minute IS NOT NULL
              AND id < (SELECT min(id) FROM (SELECT id FROM webhook_deliveries WHERE project_id = @ProjectId AND refused_minute IS NOT NULL
                                             ORDER BY id DESC LIMIT @KeepDeliveries))
            """, new { d.ProjectId, KeepDeliveries }, tx);
        own?.Commit();
    }

    public static void UpdateDelivery(SqliteConnection c, long id, string outcome, long deploymentId, string reason, SqliteTransaction? tx = null) =>
        KeptSql.Execute(c, "UPDATE webhook_deliveries SET outcome = @outcome, deployment_id = @deploymentId, reason = @reason WHERE id = @id",
            new { id, outcome, deploymentId, reason }, tx);

    /// <summary>The worker skipped a push's deployment (its commit turned out older, see PushOrder): its delivery says so.</summary>
    public static void UpdateDeliveriesOfSkippedDeployment(SqliteConnection c, long deploymentId, string reason) =>
        c.Execute("UPDATE webhook_deliveries SET outcome = 'skipped', reason = @reason WHERE deployment_id = @deploymentId AND outcome = 'queued'",
            new { deploymentId, reason });

    /// <summary>
    /// The worker failed a push's deployment before it ran (its commit is not in the repository, see PushOrder): its
    /// delivery, still 'queued' (it did queue that deployment), says so.
    /// </summary>
    public static void UpdateDeliveriesOfFailedDeployment(SqliteConnection c, long deploymentId, string reason, SqliteTransaction? tx = null) =>
        KeptSql.Execute(c, "UPDATE webhook_deliveries SET reason = @reason WHERE deployment_id = @deploymentId AND outcome = 'queued'",
            new { deploymentId, reason }, tx);

    /// <summary>The deployment an earlier copy of this delivery queued (or found already queued or live).</summary>
    public static long? FindDeploymentOfQueuedDelivery(SqliteConnection c, long projectId, string deliveryId, SqliteTransaction? tx = null) =>
        c.ExecuteScalar<long?>(
            "SELECT deployment_id FROM webhook_deliveries WHERE project_id = @projectId AND delivery_id = @deliveryId AND outcome IN ('queued', 'skipped')",
            new { projectId, deliveryId }, tx);

    /// <summary>The kept log, newest first: at most <see cref="KeepDeliveries"/> deliveries and as many refused-per-minute rows.</summary>
    public static List<DeliveryRow> ListDeliveriesOfProject(SqliteConnection c, long projectId) =>
        c.Query<DeliveryRow>(
            """
            SELECT id, received_at, provider, event, delivery_id, branch, commit_sha, outcome, reason, deployment_id, times, last_received_at
            FROM webhook_deliveries WHERE project_id = @projectId ORDER BY id DESC
            """, new { projectId }).AsList();
}
