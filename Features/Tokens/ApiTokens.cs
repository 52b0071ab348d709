using System.Security.Cryptography;
using System.Text;
using Dapper;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Shared;
using VpsPanel.Features.Users;

namespace VpsPanel.Features.Tokens;

public sealed record ApiTokenRow
{
    public long Id { get; init; }
    public long UserId { get; init; }
    public string UserEmail { get; init; } = "";
    public string Name { get; init; } = "";
    public string Prefix { get; init; } = "";
    public string CreatedAt { get; init; } = "";
    public string? ExpiresAt { get; init; }
    public string? LastUsedAt { get; init; }
    public string? RevokedAt { get; init; }

    public string State(DateTime now) =>
        RevokedAt is not null ? "revoked" : ExpiresAt is not null && string.CompareOrdinal(ExpiresAt, Clock.Format(now)) <= 0 ? "expired" : "active";
}

/// <summary>API tokens: made here, shown once, stored as a hash, checked on every API request.</summary>
public static class ApiTokens
{
    public const string Prefix = "vpp_";
    public const int MaxNameLength = 100;
    public const int MaxExpiryDays = 3650;

    public static string? NameProblem(string? name) =>
        string.IsNullOrWhiteSpace(name) ? "Give the token a name, e.g. the script or machine that will use it."
        : name.Trim().Length > MaxNameLength ? $"A token name can be at most {MaxNameLength} characters."
        : name.Any(char.IsControl) ? "A token name cannot contain control characters."
        : null;

    public static string? ExpiryProblem(int? days) =>
        days is null or (>= 1 and <= MaxExpiryDays) ? null : $"Expiry must be between 1 and {MaxExpiryDays} days, or empty for a token that does not expire.";

    /// <summary>
    /// A token made with another token may not outlive it, else a short-lived token (a CI secret that leaked) could
    /// mint one that never expires. Null when <paramref name="days"/> ends on or before the creator's expiry.
    /// </summary>
    public static string? OutlivesCreatorProblem(int? days, string? creatorExpiresAt, DateTime now)
    {
        if (creatorExpiresAt is null) return null;
        var limit = DateTime.Parse(creatorExpiresAt, null, System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal);
        if (days is { } d && now.AddDays(d) <= limit) return null;
        var maxDays = (int)Math.Floor((limit - now).TotalDays);
        var expires = limit.ToString("yyyy-MM-dd HH:mm 'UTC'");
        return maxDays >= 1
            ? $"The token making this request expires on {expires}, and a token it creates may not outlive it: choose at most {maxDays} day{(maxDays == 1 ? "" : "s")}."
            : $"The token making this request expires on {expires}, in less than a day, and a token it creates may not outlive it (the shortest expiry is 1 day). Create the token on the Tokens page or with `vpspanel token create` instead.";
    }

    /// <summary>When a valid token expires (null: never), or null when the token is unknown.</summary>
    public static string? FindExpiryOfToken(SqliteConnection c, string token) =>
        c.ExecuteScalar<string?>("SELECT expires_at FROM api_tokens WHERE token_hash = @hash", new { hash = Hash(token) });

    static string Hash(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token))).ToLowerInvariant();

    /// <summary>Creates a token for the user; returns the id and the token text, which is never retrievable again.</summary>
    public static (long Id, string Token) CreateToken(SqliteConnection c, long userId, string name, int? expiresInDays)
    {
        var token = Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var id = c.ExecuteScalar<long>(
            """
            INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at, expires_at)
            VALUES (@userId, @name, @hash, @prefix, @now, @expires)
            RETURNING id
            """,
            new
            {
                userId, name = name.Trim(), hash = Hash(token), prefix = token[..(Prefix.Length + 6)], now = Clock.Now(),
                expires = expiresInDays is { } d ? Clock.Format(DateTime.UtcNow.AddDays(d)) : null,
            });
        return (id, token);
    }

    static readonly TimeSpan LastUsedPrecision = TimeSpan.FromMinutes(1);

    /// <summary>
    /// A token that is not revoked, with its enabled user and its own times. Expiry is checked by
    /// <see cref="IsValidNow"/> rather than in the SQL, so the row can be kept until the next commit (Data/ReadCache,
    /// as Api/BearerAuth does) and still stop working the second it expires.
    /// </summary>
    public sealed record UnrevokedToken(UserRow User, string? ExpiresAt, string? LastUsedAt)
    {
        public bool IsValidNow(string now) => ExpiresAt is null || string.CompareOrdinal(ExpiresAt, now) > 0;
        /// <summary>last_used_at is kept to the minute (the Tokens page shows it so): older than that, it is written again.</summary>
        public bool LastUsedStale(DateTime utcNow) => LastUsedAt is null || string.CompareOrdinal(LastUsedAt, Clock.Format(utcNow - LastUsedPrecision)) < 0;
    }

    /// <summary>The token hash of a presented token, or null for text that cannot be one of ours.</summary>
    public static string? HashOfPresented(string token) =>
        token.StartsWith(Prefix, StringComparison.Ordinal) && token.Length <= 200 ? Hash(token) : null;

    /// <summary>The token's own columns next to its user's (Dapper's second object; its first column is never null).</summary>
    sealed record TokenTimes(long TokenId, string? ExpiresAt, string? LastUsedAt);

    public static UnrevokedToken? FindUnrevokedTokenOfEnabledUser(SqliteConnection c, string hash) =>
        c.Query<UserRow, TokenTimes, UnrevokedToken>(
            """
            SELECT u.id, u.email, u.password_hash, u.role, u.disabled, u.security_stamp, u.created_at,
                   t.id AS token_id, t.expires_at, t.last_used_at
            FROM api_tokens t JOIN users u ON u.id = t.user_id
            WHERE t.token_hash = @hash AND t.revoked_at IS NULL AND u.disabled = 0
            """,
            (user, times) => new(user, times.ExpiresAt, times.LastUsedAt), new { hash }, splitOn: "token_id").SingleOrDefault();

    /// <summary>
    /// Records the use, at most once a minute: a write on every API call was a commit per request, and each commit
    /// makes the pages' cache (Data/ReadCache) read everything again (issue 20, target 6).
    /// </summary>
    public static void TouchLastUsedIfStale(SqliteConnection c, string hash, DateTime utcNow) =>
        c.Execute("UPDATE api_tokens SET last_used_at = @now WHERE token_hash = @hash AND (last_used_at IS NULL OR last_used_at < @staleBefore)",
            new { hash, now = Clock.Format(utcNow), staleBefore = Clock.Format(utcNow - LastUsedPrecision) });

    const string ListColumns = "t.id, t.user_id, u.email AS user_email, t.name, t.prefix, t.created_at, t.expires_at, t.last_used_at, t.revoked_at";

    public static List<ApiTokenRow> ListTokensOfUser(SqliteConnection c, long userId) =>
        c.Query<ApiTokenRow>($"SELECT {ListColumns} FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.user_id = @userId ORDER BY t.id DESC", new { userId }).AsList();

    public static List<ApiTokenRow> ListAllTokens(SqliteConnection c) =>
        c.Query<ApiTokenRow>($"SELECT {ListColumns} FROM api_tokens t JOIN users u ON u.id = t.user_id ORDER BY t.id DESC").AsList();

    /// <summary>Revokes a token of this user (or of anyone, when <paramref name="userId"/> is null); false when there is none to revoke.</summary>
    public static bool RevokeToken(SqliteConnection c, long id, long? userId) =>
        c.Execute("UPDATE api_tokens SET revoked_at = @now WHERE id = @id AND revoked_at IS NULL AND (@userId IS NULL OR user_id = @userId)",
            new { id, userId, now = Clock.Now() }) == 1;
}
