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

    /// <summary>
    /// bcrypt cost: 2^12 rounds. Measured on the 2-core dev box (README "Passwords"): about 0.25 s a hash idle, more
    /// under load. Raising it later is safe: a hash with a lower cost is replaced at its user's next sign-in.
    /// </summary>
    public const int BcryptWorkFactor = 12;

    /// <summary>
    /// bcrypt reads only the first 72 bytes of its input, so a long password (up to <see cref="MaxPasswordLength"/>
    /// characters, 4 bytes each in UTF-8) would be cut silently. The library's SHA-384 pre-hash ("enhanced") feeds
    /// bcrypt a 64-character base64 digest of all the bytes instead: every character counts, and no password the
    /// old hasher accepted is refused now (refusing would lock out users whose long password still signs in).
    /// </summary>
    const BCrypt.Net.HashType PreHash = BCrypt.Net.HashType.SHA384;

    // Hashes from before bcrypt (ASP.NET Core Identity's PBKDF2 format): still verified, replaced at the next sign-in.
    static readonly PasswordHasher<UserRow> OldHasher = new();

    public static string HashPassword(string password) => BCrypt.Net.BCrypt.EnhancedHashPassword(password, PreHash, BcryptWorkFactor);

    static bool IsBcrypt(string hash) => hash.StartsWith("$2", StringComparison.Ordinal);

    public static bool VerifyPassword(UserRow user, string password)
    {
        if (!IsBcrypt(user.PasswordHash))
            return user.PasswordHash != "" && OldHasher.VerifyHashedPassword(user, user.PasswordHash, password) != PasswordVerificationResult.Failed;
        try { return BCrypt.Net.BCrypt.EnhancedVerify(password, user.PasswordHash, PreHash); }
        // A damaged hash in the row: no sign-in, no 500. (The library throws SaltParseException for a bad salt, but
        // ArgumentOutOfRangeException for one that is too short.)
        catch (Exception e) when (e is BCrypt.Net.SaltParseException or ArgumentException) { return false; }
    }

    /// <summary>Whether a (verified) hash should be made again: an old-format hash, or bcrypt with a lower cost than now.</summary>
    public static bool NeedsRehash(string hash)
    {
        if (!IsBcrypt(hash)) return true;
        try { return BCrypt.Net.BCrypt.PasswordNeedsRehash(hash, BcryptWorkFactor); }
        catch (Exception e) when (e is BCrypt.Net.SaltParseException or ArgumentException) { return true; }
    }

    /// <summary>
    /// After a right password: replaces an old-format (or cheaper) hash with a current one. The security stamp and the
    /// sessions stay: the password is the same, only its hash changed. Guarded by the old hash, so a password changed
    /// in between is not overwritten.
    /// </summary>
    public static void RehashIfNeeded(SqliteConnection c, UserRow user, string password)
    {
        if (!NeedsRehash(user.PasswordHash)) return;
        c.Execute("UPDATE users SET password_hash = @hash WHERE id = @id AND password_hash = @old",
            new { id = user.Id, hash = HashPassword(password), old = user.PasswordHash });
    }

    /// <summary>A hash of a random password, for <see cref="CheckPassword"/> to verify against when there is no user.</summary>
    static readonly Lazy<UserRow> NoUser = new(() => new UserRow { PasswordHash = HashPassword(Convert.ToHexString(RandomNumberGenerator.GetBytes(16))) });

    /// <summary>
    /// Whether the password is the user's. Verifies a hash whether or not the user exists (a dummy bcrypt one when
    /// not), so the time taken does not reveal which emails have accounts.
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
