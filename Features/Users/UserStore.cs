using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Dapper;
using Microsoft.AspNetCore.Identity;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Users;

/// <summary>A users row. Init properties rather than a positional record: Dapper then converts SQLite's INTEGER to bool.</summary>
public sealed record UserRow
{
    public long Id { get; init; }
    public string Email { get; init; } = "";
    public string PasswordHash { get; init; } = "";
    public string Role { get; init; } = "";
    public bool Disabled { get; init; }
    public string SecurityStamp { get; init; } = "";
    public string CreatedAt { get; init; } = "";
    public bool IsAdmin => Role == Roles.Admin;
}

public static class Roles
{
    public const string Admin = "admin";
    public const string Member = "member";
    public static bool IsValid(string? r) => r is Admin or Member;
}

/// <summary>
/// The user queries and input rules shared by setup, sign-in, the users pages and the CLI.
/// Every rule returns a message a person can act on, or null when the value is fine.
/// </summary>
public static partial class UserStore
{
    public const int MinPasswordLength = 12;
    public const int MaxPasswordLength = 1024;
    public const int MaxEmailLength = 254;

    static readonly PasswordHasher<UserRow> Hasher = new();

    [GeneratedRegex(@"^[^@\s<>""]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")]
    private static partial Regex EmailPattern();

    public static string NormalizeEmail(string? email) => (email ?? "").Trim();

    public static string? EmailProblem(string email)
    {
        if (email == "") return "Enter an email address.";
        if (email.Length > MaxEmailLength) return $"An email address can be at most {MaxEmailLength} characters.";
        if (!EmailPattern().IsMatch(email)) return "Enter a valid email address, like name@example.com.";
        return null;
    }

    public static string? PasswordProblem(string? password)
    {
        if (string.IsNullOrEmpty(password)) return "Enter a password.";
        if (password.Length < MinPasswordLength) return $"The password must be at least {MinPasswordLength} characters long.";
        if (password.Length > MaxPasswordLength) return $"The password can be at most {MaxPasswordLength} characters long.";
        return null;
    }

    public static string HashPassword(string password) => Hasher.HashPassword(null!, password);

    public static bool VerifyPassword(UserRow user, string password) =>
        Hasher.VerifyHashedPassword(user, user.PasswordHash, password) != PasswordVerificationResult.Failed;

    /// <summary>A hash of a random password, for <see cref="CheckPassword"/> to verify against when there is no user.</summary>
    static readonly Lazy<UserRow> NoUser = new(() => new UserRow { PasswordHash = HashPassword(Convert.ToHexString(RandomNumberGenerator.GetBytes(16))) });

    /// <summary>
    /// Whether the password is the user's. Verifies a hash whether or not the user exists (a dummy one when not),
    /// so the time taken does not reveal which emails have accounts.
    /// </summary>
    public static bool CheckPassword(UserRow? user, string? password)
    {
        if (password is null || password.Length > MaxPasswordLength) return false;
        var ok = VerifyPassword(user ?? NoUser.Value, password);
        return user is not null && ok;
    }

    public static string NewSecurityStamp() => Convert.ToHexString(RandomNumberGenerator.GetBytes(16));

    const string Columns = "id, email, password_hash, role, disabled, security_stamp, created_at";

    public static bool AnyUserExists(SqliteConnection c) =>
        c.ExecuteScalar<bool>("SELECT EXISTS (SELECT 1 FROM users)");

    public static UserRow? FindUserByEmail(SqliteConnection c, string email) =>
        c.QuerySingleOrDefault<UserRow>($"SELECT {Columns} FROM users WHERE email = @email", new { email });

    public static UserRow? FindUserById(SqliteConnection c, long id) =>
        c.QuerySingleOrDefault<UserRow>($"SELECT {Columns} FROM users WHERE id = @id", new { id });

    public static List<UserRow> ListUsersByEmail(SqliteConnection c) =>
        c.Query<UserRow>($"SELECT {Columns} FROM users ORDER BY email").AsList();

    public static HashSet<long> ListUserIdsWithTwoFactor(SqliteConnection c) =>
        c.Query<long>("SELECT id FROM users WHERE totp_enabled_at IS NOT NULL").ToHashSet();

    public static int CountEnabledAdmins(SqliteConnection c) =>
        c.ExecuteScalar<int>("SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0");

    /// <summary>Inserts a user; returns null when the email is already taken.</summary>
    public static long? InsertUser(SqliteConnection c, string email, string password, string role, SqliteTransaction? tx = null)
    {
        var now = Clock.Now();
        return c.ExecuteScalar<long?>(
            """
            INSERT INTO users (email, password_hash, role, disabled, security_stamp, created_at, updated_at)
            VALUES (@email, @hash, @role, 0, @stamp, @now, @now)
            ON CONFLICT (email) DO NOTHING
            RETURNING id
            """,
            new { email, hash = HashPassword(password), role, stamp = NewSecurityStamp(), now }, tx);
    }

    /// <summary>
    /// New password and new stamp (which ends a pending two-factor sign-in); every session of the user ends except
    /// <paramref name="keepSessionToken"/>'s (the user's own, when they change it themselves).
    /// </summary>
    public static void UpdatePasswordAndEndSessions(SqliteConnection c, long id, string password, string? keepSessionToken = null)
    {
        using var tx = c.BeginTransaction();
        c.Execute("UPDATE users SET password_hash = @hash, security_stamp = @stamp, updated_at = @now WHERE id = @id",
            new { id, hash = HashPassword(password), stamp = NewSecurityStamp(), now = Clock.Now() }, tx);
        c.Execute("DELETE FROM sessions WHERE user_id = @id AND id <> @keep",
            new { id, keep = keepSessionToken is null ? "" : Auth.Sessions.Hash(keepSessionToken) }, tx);
        tx.Commit();
    }

    /// <summary>A changed role or status ends all the user's sessions: they sign in again with the new rights, or not at all.</summary>
    public static void UpdateRoleAndDisabled(SqliteConnection c, long id, string role, bool disabled)
    {
        var changed = c.Execute("UPDATE users SET role = @role, disabled = @disabled, security_stamp = @stamp, updated_at = @now WHERE id = @id AND (disabled <> @disabled OR role <> @role)",
            new { id, role, disabled, stamp = NewSecurityStamp(), now = Clock.Now() });
        if (changed == 1) Auth.Sessions.EndAllSessionsOfUser(c, id);
    }
}
