using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Dapper;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Servers;

/// <summary>
/// One-time tokens for join.sh: made by an admin, shown once, stored as a hash, good for one redemption within an
/// hour. The swarm's own worker token never goes into a command line people paste (it stays valid until rotated);
/// the one-time token does, and it is worthless once used.
/// </summary>
public static partial class JoinTokens
{
    public const string Prefix = "vpj_";
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);

    public enum Redeemed { Ok, Unknown, Used, Expired }

    [GeneratedRegex("^vpj_[A-Za-z0-9_-]{43}$")]
    private static partial Regex TokenPattern();

    /// <summary>Whether the text has a token's shape (join.sh checks the same before it sends it anywhere).</summary>
    public static bool LooksLikeToken(string? token) => token is not null && TokenPattern().IsMatch(token);

    static string Hash(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token))).ToLowerInvariant();

    /// <summary>Creates a token; returns it (never retrievable again) and when it expires.</summary>
    public static (string Token, DateTime ExpiresAt) CreateJoinToken(SqliteConnection c, long? userId)
    {
        var token = Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var expires = DateTime.UtcNow + Lifetime;
        c.Execute("INSERT INTO swarm_join_tokens (token_hash, created_by, created_at, expires_at) VALUES (@hash, @userId, @now, @expires)",
            new { hash = Hash(token), userId, now = Clock.Now(), expires = Clock.Format(expires) });
        return (token, expires);
    }

    /// <summary>
    /// Checks a token and, with <paramref name="consume"/>, uses it up in the same statement: two joins racing with one
    /// token get one Ok and one Used, never two Ok.
    /// </summary>
    public static Redeemed RedeemJoinToken(SqliteConnection c, string? token, string address, bool consume)
    {
        if (!LooksLikeToken(token)) return Redeemed.Unknown;
        var hash = Hash(token!);
        var now = Clock.Now();
        if (consume && c.Execute("UPDATE swarm_join_tokens SET used_at = @now, used_by_address = @address WHERE token_hash = @hash AND used_at IS NULL AND expires_at > @now",
                new { hash, now, address }) == 1)
            return Redeemed.Ok;
        var row = c.QuerySingleOrDefault<(string? UsedAt, string ExpiresAt)?>("SELECT used_at, expires_at FROM swarm_join_tokens WHERE token_hash = @hash", new { hash });
        return row is not { } r ? Redeemed.Unknown
            : r.UsedAt is not null ? Redeemed.Used
            : string.CompareOrdinal(r.ExpiresAt, now) <= 0 ? Redeemed.Expired
            : consume ? Redeemed.Used : Redeemed.Ok;
    }

    public static string Refusal(Redeemed r) => r switch
    {
        Redeemed.Used => "This join token was already used; each token joins one server. Ask the panel for a new one (Servers → Add server).",
        Redeemed.Expired => "This join token has expired (tokens are good for one hour). Ask the panel for a new one (Servers → Add server).",
        _ => "This join token is not one the panel made. Copy the whole command from Servers → Add server.",
    };
}
