using System.Globalization;
using Dapper;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Api;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Audit;

/// <summary>One audit_log row as the page and the API show it.</summary>
public sealed record AuditRow
{
    public long Id { get; init; }
    public string At { get; init; } = "";
    public long? UserId { get; init; }
    public string UserEmail { get; init; } = "";
    public string Action { get; init; } = "";
    public string Target { get; init; } = "";
    public string Detail { get; init; } = "";
    public string Address { get; init; } = "";
    public string Via { get; init; } = "";
}

/// <summary>The filters of the page and the API, already checked: emails/actions as text, times as stored UTC text.</summary>
public sealed record AuditFilter(string User, string ActionPrefix, string? Since, string? Until);

/// <summary>
/// The audit log: every slice calls <see cref="Record(SqliteConnection, HttpContext, string, string, string)"/> (or
/// <see cref="RecordCli"/>) in one line right where its change is committed. Rows are append-only (triggers in
/// migration 0013) and pruned after Audit:RetentionDays by <see cref="AuditPruneJob"/>. Details never carry secrets:
/// variable changes name keys only, tokens their name, never a value.
/// </summary>
public static class AuditLog
{
    public const int MaxDetail = 500;
    public const int MaxPageSize = 1000;

    /// <summary>A change made over HTTP: the signed-in user (or the token's user), the client's address, web or api.</summary>
    public static void Record(SqliteConnection c, HttpContext ctx, string action, string target, string detail = "", SqliteTransaction? tx = null)
    {
        long? userId = long.TryParse(ctx.User.FindFirst(System.Security.Claims.ClaimTypes.NameIdentifier)?.Value, out var id) ? id : null;
        var via = ApiRoutes.IsApi(ctx) ? "api" : "web";
        Insert(c, userId, userId is null ? "" : ctx.User.Identity?.Name ?? "", action, target, detail, Address(ctx), via, tx);
    }

    /// <summary>The same, on a connection of its own (for handlers that have none open).</summary>
    public static void Record(HttpContext ctx, string action, string target, string detail = "")
    {
        using var c = ctx.RequestServices.GetRequiredService<Db>().Open();
        Record(c, ctx, action, target, detail);
    }

    /// <summary>Over HTTP where the request carries no session for the user (a sign-in, a signed webhook): the caller names the user.</summary>
    public static void RecordAs(SqliteConnection c, HttpContext ctx, long? userId, string userEmail, string action, string target, string detail, string via,
        SqliteTransaction? tx = null) =>
        Insert(c, userId, userEmail, action, target, detail, Address(ctx), via, tx);

    /// <summary>From the server's shell: no panel user, address "cli".</summary>
    public static void RecordCli(SqliteConnection c, string action, string target, string detail = "") =>
        Insert(c, null, "", action, target, detail, "cli", "cli", null);

    /// <summary>The panel itself, on a schedule (the daily backup): no user, address "job".</summary>
    public static void RecordJob(SqliteConnection c, string action, string target, string detail = "") =>
        Insert(c, null, "", action, target, detail, "job", "job", null);

    /// <summary>
    /// A backup or a restore, from the shell or the scheduled job, into the database file the settings name. Made
    /// after the backup (so the archive does not hold its own row) and after a restore (so the restored log says it
    /// was restored). A backup from before the audit log has no table to write to: nothing is recorded then, and
    /// the panel's next start creates the table.
    /// </summary>
    public static void RecordBackup(Settings.PanelSettings settings, string action, string file, string via, string detail = "")
    {
        using var c = Db.OpenFile(settings.DatabasePath);
        if (!c.ExecuteScalar<bool>("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_log')")) return;
        Insert(c, null, "", action, file, detail, via, via, null);
    }

    /// <summary>A change that named keys (variables): the keys, never the values.</summary>
    public static string Keys(IEnumerable<string> keys) => "keys: " + string.Join(", ", keys.Order(StringComparer.Ordinal));

    /// <summary>A project's domains as saved: the primary first, with what the aliases and www do.</summary>
    public static string Domains(IEnumerable<Caddy.SiteDomain> domains, bool redirectAliases, bool redirectWww) =>
        (string.Join(", ", domains.Select(d => d.HttpOnly ? d.Host + " (http only)" : d.Host)) is { Length: > 0 } list ? list : "(none)") +
        (redirectAliases ? "; aliases redirect" : "") + (redirectWww ? "; www redirect" : "");

    /// <summary>After UseForwardedHeaders, so behind Caddy this is the client's address, not Caddy's.</summary>
    static string Address(HttpContext ctx) => ctx.Connection.RemoteIpAddress is { } ip
        ? (ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip).ToString()
        : "unknown";

    static void Insert(SqliteConnection c, long? userId, string userEmail, string action, string target, string detail, string address, string via, SqliteTransaction? tx) =>
        Data.KeptSql.Execute(c,
            """
            INSERT INTO audit_log (at, user_id, user_email, action, target, detail, address, via)
            VALUES (@at, @userId, @userEmail, @action, @target, @detail, @address, @via)
            """,
            new { at = Clock.Now(), userId, userEmail = Cut(userEmail, 254), action, target = Cut(target, 300), detail = Cut(detail, MaxDetail), address, via }, tx);

    static string Cut(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";

    /// <summary>Newest first. User matches part of the email (case-insensitive); action matches from the start.</summary>
    public static List<AuditRow> ListNewestFirst(SqliteConnection c, AuditFilter f, int limit, int offset = 0, long? beforeId = null) =>
        c.Query<AuditRow>(
            """
            SELECT id, at, user_id, user_email, action, target, detail, address, via FROM audit_log
            WHERE (@user = '' OR user_email LIKE '%' || @user || '%' ESCAPE '\')
              AND (@action = '' OR substr(action, 1, length(@action)) = @action)
              AND (@since IS NULL OR at >= @since)
              AND (@until IS NULL OR at <= @until)
              AND (@beforeId IS NULL OR id < @beforeId)
            ORDER BY id DESC
            LIMIT @limit OFFSET @offset
            """,
            new { user = EscapeLike(f.User), action = f.ActionPrefix, since = f.Since, until = f.Until, limit, offset, beforeId }).AsList();

    static string EscapeLike(string s) => s.Replace(@"\", @"\\").Replace("%", @"\%").Replace("_", @"\_");

    /// <summary>Deletes rows older than the retention; returns how many. The delete trigger lets exactly these through.</summary>
    public static int PruneOlderThan(SqliteConnection c, int retentionDays) =>
        c.Execute("DELETE FROM audit_log WHERE at < @cutoff", new { cutoff = Clock.Format(DateTime.UtcNow.AddDays(-retentionDays)) });

    /// <summary>
    /// Checks the filter values the page's form and the API share; errors are keyed by the query parameter's name.
    /// A date (2026-12-01) means the whole day: since from its start, until to its end. A time is taken as UTC
    /// unless it names an offset.
    /// </summary>
    public static (AuditFilter Filter, Dictionary<string, string> Errors) ParseFilter(string? user, string? action, string? since, string? until)
    {
        var errors = new Dictionary<string, string>();
        user = (user ?? "").Trim();
        action = (action ?? "").Trim().ToLowerInvariant();
        if (user.Length > 254) errors["user"] = "A user filter can be at most 254 characters.";
        if (action.Length > 64 || action.Any(ch => ch is not (>= 'a' and <= 'z') and not '.' and not '_'))
            errors["action"] = "An action filter is the start of an action name: letters, dots and underscores (e.g. auth. or deploy.queue).";
        var s = ParseTime(since, endOfDay: false, "since", errors);
        var u = ParseTime(until, endOfDay: true, "until", errors);
        if (s is not null && u is not null && string.CompareOrdinal(s, u) > 0) errors["until"] = "The end of the range is before its start.";
        return (new AuditFilter(user, action, s, u), errors);
    }

    static string? ParseTime(string? value, bool endOfDay, string field, Dictionary<string, string> errors)
    {
        value = (value ?? "").Trim();
        if (value == "") return null;
        if (DateTime.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var day))
            return Clock.Format(endOfDay ? day.AddDays(1).AddMilliseconds(-1) : day);
        if (value.Length <= 40 && value.Contains('T') && DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t))
            return Clock.Format(t.UtcDateTime);
        errors[field] = "Enter a date like 2026-12-01 or a UTC time like 2026-12-01T13:45:00Z.";
        return null;
    }
}
