using System.Security.Cryptography;
using System.Text;
using Dapper;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Auth;

/// <summary>What the per-request check needs about a session, its user and the 2FA requirement, in one row.</summary>
public sealed record SessionUser
{
    public long UserId { get; init; }
    public string Email { get; init; } = "";
    public string Role { get; init; } = "";
    public bool Disabled { get; init; }
    public bool HasTwoFactor { get; init; }
    public bool TwoFactorRequired { get; init; }
    public string LastSeenAt { get; init; } = "";
}

/// <summary>A session as the account page lists it.</summary>
public sealed record SessionRow(string Id, string CreatedAt, string LastSeenAt, string Address);

/// <summary>
/// Server-side sign-in sessions (table sessions): the cookie carries a random token, the table its SHA-256.
/// A cookie is only as good as its row, so deleting rows ends sessions everywhere, copies of the cookie included.
/// </summary>
public static class Sessions
{
    /// <summary>A session nobody used for this long is over, even if a copy of its cookie is still around.</summary>
    public static readonly TimeSpan IdleLimit = TimeSpan.FromDays(7);
    /// <summary>last_seen_at is written at most this often, so a busy page does not write to the database on every request.</summary>
    static readonly TimeSpan TouchEvery = TimeSpan.FromMinutes(1);

    public static string Hash(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    /// <summary>Creates a session for the user; returns the token for the cookie (the table keeps only its hash).</summary>
    public static string StartSession(SqliteConnection c, long userId, string address)
    {
        var token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var now = Clock.Now();
        // Sign-in is a fine moment to forget sessions that went idle, so the table does not grow forever.
        c.Execute("DELETE FROM sessions WHERE last_seen_at < @cutoff", new { cutoff = Clock.Format(DateTime.UtcNow - IdleLimit) });
        c.Execute("INSERT INTO sessions (id, user_id, created_at, last_seen_at, address) VALUES (@id, @userId, @now, @now, @address)",
            new { id = Hash(token), userId, now, address });
        return token;
    }

    /// <summary>The session's user and the panel's 2FA requirement: one lookup by primary key per request. Null when the session is gone.</summary>
    public static SessionUser? FindSessionUser(SqliteConnection c, string token) =>
        c.QuerySingleOrDefault<SessionUser>(
            """
            SELECT u.id AS user_id, u.email, u.role, u.disabled, u.totp_enabled_at IS NOT NULL AS has_two_factor,
                   coalesce((SELECT value = 'true' FROM panel_options WHERE key = @requireKey), 0) AS two_factor_required,
                   s.last_seen_at
            FROM sessions s JOIN users u ON u.id = s.user_id
            WHERE s.id = @id
            """,
            new { id = Hash(token), requireKey = TwoFactor.RequiredOptionKey });

    public static bool IsIdle(SessionUser s) => string.CompareOrdinal(s.LastSeenAt, Clock.Format(DateTime.UtcNow - IdleLimit)) < 0;

    public static bool TouchDue(SessionUser s) => string.CompareOrdinal(s.LastSeenAt, Clock.Format(DateTime.UtcNow - TouchEvery)) < 0;

    public static void TouchIfStale(SqliteConnection c, string token, SessionUser s)
    {
        if (TouchDue(s))
            c.Execute("UPDATE sessions SET last_seen_at = @now WHERE id = @id", new { id = Hash(token), now = Clock.Now() });
    }

    public static List<SessionRow> ListSessionsOfUser(SqliteConnection c, long userId) =>
        c.Query<SessionRow>("SELECT id, created_at, last_seen_at, address FROM sessions WHERE user_id = @userId ORDER BY last_seen_at DESC", new { userId }).AsList();

    public static void EndSession(SqliteConnection c, string token) =>
        c.Execute("DELETE FROM sessions WHERE id = @id", new { id = Hash(token) });

    public static void EndAllSessionsOfUser(SqliteConnection c, long userId, SqliteTransaction? tx = null) =>
        c.Execute("DELETE FROM sessions WHERE user_id = @userId", new { userId }, tx);

    /// <summary>Ends every session of the user except the one with this token (the one making the change).</summary>
    public static void EndOtherSessionsOfUser(SqliteConnection c, long userId, string? keepToken) =>
        c.Execute("DELETE FROM sessions WHERE user_id = @userId AND id <> @keep", new { userId, keep = keepToken is null ? "" : Hash(keepToken) });
}
