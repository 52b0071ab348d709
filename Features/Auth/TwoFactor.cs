using System.Security.Cryptography;
using System.Text;
using Dapper;
using Htmx;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Data.Sqlite;
using OtpNet;
using QRCoder;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Auth;

/// <summary>
/// Two-factor sign-in with TOTP (RFC 6238: 6 digits, 30 s, SHA-1, what every authenticator app speaks) and one-time
/// recovery codes. The secret is encrypted with Data Protection like the other secrets; a code is accepted once
/// (the last accepted time step is kept), one step early or late for clocks that drift. API tokens are not affected.
/// </summary>
public static class TwoFactor
{
    public const string SecretPurpose = "VpsPanel.Auth.Totp.v1";
    /// <summary>panel_options key: "true" when every user must have two-factor sign-in (set on the Users page).</summary>
    public const string RequiredOptionKey = "auth.require_two_factor";
    public const string EnrolPath = "/account/two-factor";
    /// <summary>HttpContext.Items key set by the cookie check when the user must still set up two-factor sign-in.</summary>
    public const string EnrolmentDueKey = "vpspanel:two-factor-due";
    public const int RecoveryCodeCount = 10;
    const string Issuer = "VpsPanel";
    static readonly VerificationWindow Window = new(previous: 1, future: 1);

    sealed record TwoFactorRow
    {
        public string? TotpSecretProtected { get; init; }
        public string? TotpPendingProtected { get; init; }
    }

    static TwoFactorRow? FindTwoFactorOfUser(SqliteConnection c, long userId) =>
        c.QuerySingleOrDefault<TwoFactorRow>("SELECT totp_secret_protected, totp_pending_protected FROM users WHERE id = @userId", new { userId });

    public static bool IsEnabled(SqliteConnection c, long userId) =>
        c.ExecuteScalar<bool>("SELECT totp_enabled_at IS NOT NULL FROM users WHERE id = @userId", new { userId });

    public static bool IsRequired(SqliteConnection c) =>
        c.ExecuteScalar<string?>("SELECT value FROM panel_options WHERE key = @key", new { key = RequiredOptionKey }) == "true";

    public static void SetRequired(SqliteConnection c, bool required) =>
        c.Execute("INSERT INTO panel_options (key, value, updated_at) VALUES (@key, @value, @now) " +
                  "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            new { key = RequiredOptionKey, value = required ? "true" : "false", now = Clock.Now() });

    /// <summary>
    /// The secret the enrolment page shows (base32), made on first view and kept until confirmed, so reloading the
    /// page does not invalidate an authenticator the user already scanned.
    /// </summary>
    public static string PendingSecret(SqliteConnection c, IDataProtectionProvider protection, long userId)
    {
        var p = protection.CreateProtector(SecretPurpose);
        if (FindTwoFactorOfUser(c, userId)?.TotpPendingProtected is { } stored) return p.Unprotect(stored);
        var secret = Base32Encoding.ToString(KeyGeneration.GenerateRandomKey(20));
        c.Execute("UPDATE users SET totp_pending_protected = @pending WHERE id = @userId", new { userId, pending = p.Protect(secret) });
        return secret;
    }

    /// <summary>Turns two-factor sign-in on when the code matches the pending secret; returns the recovery codes (shown once) or null.</summary>
    public static List<string>? ConfirmEnrolment(SqliteConnection c, IDataProtectionProvider protection, long userId, string? code)
    {
        var p = protection.CreateProtector(SecretPurpose);
        if (FindTwoFactorOfUser(c, userId)?.TotpPendingProtected is not { } pending) return null;
        var secret = p.Unprotect(pending);
        if (MatchStep(secret, code) is not { } step) return null;
        using var tx = c.BeginTransaction();
        c.Execute(
            """
            UPDATE users SET totp_secret_protected = @secret, totp_pending_protected = NULL, totp_enabled_at = @now,
                             totp_last_step = @step, updated_at = @now
            WHERE id = @userId
            """,
            new { userId, secret = p.Protect(secret), step, now = Clock.Now() }, tx);
        var codes = ReplaceRecoveryCodes(c, userId, tx);
        tx.Commit();
        return codes;
    }

    /// <summary>Turns two-factor sign-in off and forgets the secret and recovery codes (the account page, and `user reset-2fa`).</summary>
    public static void RemoveTwoFactor(SqliteConnection c, long userId)
    {
        using var tx = c.BeginTransaction();
        c.Execute(
            """
            UPDATE users SET totp_secret_protected = NULL, totp_pending_protected = NULL, totp_enabled_at = NULL,
                             totp_last_step = NULL, updated_at = @now
            WHERE id = @userId
            """, new { userId, now = Clock.Now() }, tx);
        c.Execute("DELETE FROM recovery_codes WHERE user_id = @userId", new { userId }, tx);
        tx.Commit();
    }

    /// <summary>
    /// True when the code is the user's current TOTP code (or one step either side) and that step was not used
    /// before; the step is then used up. The check and the write are one UPDATE, so two requests racing with the
    /// same code cannot both pass.
    /// </summary>
    public static bool VerifyAndUseCode(SqliteConnection c, IDataProtectionProvider protection, long userId, string? code)
    {
        if (FindTwoFactorOfUser(c, userId)?.TotpSecretProtected is not { } stored) return false;
        if (MatchStep(protection.CreateProtector(SecretPurpose).Unprotect(stored), code) is not { } step) return false;
        return c.Execute("UPDATE users SET totp_last_step = @step WHERE id = @userId AND (totp_last_step IS NULL OR totp_last_step < @step)",
            new { userId, step }) == 1;
    }

    static long? MatchStep(string secret, string? code)
    {
        var digits = (code ?? "").Replace(" ", "");
        if (digits.Length != 6 || !digits.All(char.IsAsciiDigit)) return null;
        return new Totp(Base32Encoding.ToBytes(secret)).VerifyTotp(digits, out var step, Window) ? step : null;
    }

    /// <summary>True when the code is one of the user's unused recovery codes; it is used up.</summary>
    public static bool UseRecoveryCode(SqliteConnection c, long userId, string? code)
    {
        var normalized = NormalizeRecoveryCode(code);
        if (normalized.Length != 10) return false;
        return c.Execute("UPDATE recovery_codes SET used_at = @now WHERE user_id = @userId AND code_hash = @hash AND used_at IS NULL",
            new { userId, hash = Sessions.Hash(normalized), now = Clock.Now() }) == 1;
    }

    public static int CountUnusedRecoveryCodes(SqliteConnection c, long userId) =>
        c.ExecuteScalar<int>("SELECT count(*) FROM recovery_codes WHERE user_id = @userId AND used_at IS NULL", new { userId });

    /// <summary>New recovery codes replace all old ones (used or not); returns them for showing once.</summary>
    public static List<string> ReplaceRecoveryCodes(SqliteConnection c, long userId, SqliteTransaction? tx = null)
    {
        c.Execute("DELETE FROM recovery_codes WHERE user_id = @userId", new { userId }, tx);
        var codes = new List<string>();
        for (var i = 0; i < RecoveryCodeCount; i++)
        {
            // 10 characters of a 32-letter alphabet without look-alikes (0/o, 1/l): 50 random bits, typed as xxxxx-xxxxx.
            var code = RandomNumberGenerator.GetString("abcdefghijkmnpqrstuvwxyz23456789", 10);
            c.Execute("INSERT INTO recovery_codes (user_id, code_hash) VALUES (@userId, @hash)", new { userId, hash = Sessions.Hash(code) }, tx);
            codes.Add(code[..5] + "-" + code[5..]);
        }
        return codes;
    }

    static string NormalizeRecoveryCode(string? code) =>
        new((code ?? "").Where(ch => ch is not ('-' or ' ')).Select(char.ToLowerInvariant).ToArray());

    /// <summary>The otpauth:// URI authenticator apps read from the QR code.</summary>
    public static string OtpAuthUri(string email, string secret) =>
        $"otpauth://totp/{Uri.EscapeDataString(Issuer)}:{Uri.EscapeDataString(email)}?secret={secret}&issuer={Uri.EscapeDataString(Issuer)}&algorithm=SHA1&digits=6&period=30";

    /// <summary>The QR code as inline SVG markup: rendered here, so the page needs no script and no image URL (the CSP allows neither inline script nor data: images).</summary>
    public static string QrSvg(string text)
    {
        using var data = QRCodeGenerator.GenerateQrCode(text, QRCodeGenerator.ECCLevel.M);
        using var svg = new SvgQRCode(data);
        return svg.GetGraphic(4, "#000000", "#ffffff", drawQuietZones: true, sizingMode: SvgQRCode.SizingMode.ViewBoxAttribute);
    }

    /// <summary>
    /// Middleware: a signed-in user who must set up two-factor sign-in (an admin requires it) sees only the
    /// enrolment page until they have. The API (bearer tokens), webhooks and static files are not pages and pass.
    /// </summary>
    public static Task SendToEnrolment(HttpContext ctx, RequestDelegate next)
    {
        var path = ctx.Request.Path;
        if (!ctx.Items.ContainsKey(EnrolmentDueKey) || path == EnrolPath || path == "/logout" || path == "/error"
            || path.StartsWithSegments("/static") || path.StartsWithSegments("/api") || path.StartsWithSegments("/healthz")
            || path.StartsWithSegments("/webhooks") || path.StartsWithSegments("/caddy"))
            return next(ctx);
        if (ctx.Request.IsHtmx())
        {
            ctx.Response.Htmx(h => h.Redirect(EnrolPath));
            ctx.Response.StatusCode = StatusCodes.Status204NoContent;
        }
        else ctx.Response.Redirect(EnrolPath);
        return Task.CompletedTask;
    }
}

/// <summary>
/// Between the password and the code: a short-lived, encrypted cookie naming the user whose password was right.
/// It carries the user's security stamp, which a password change replaces, so a pending sign-in does not outlive it.
/// </summary>
public static class SecondStep
{
    const string CookieName = "vpspanel.2fa";
    const string Purpose = "VpsPanel.Auth.SecondStep.v1";
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);

    public static void Begin(HttpContext ctx, IDataProtectionProvider protection, Users.UserRow user, string returnUrl)
    {
        var value = protection.CreateProtector(Purpose).ToTimeLimitedDataProtector()
            .Protect($"{user.Id}\n{user.SecurityStamp}\n{returnUrl}", Lifetime);
        ctx.Response.Cookies.Append(CookieName, value, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Secure = ctx.Request.IsHttps,
            Path = "/login",
            MaxAge = Lifetime,
        });
    }

    /// <summary>The user (still enabled, same password) and where to go after, or null when there is no valid pending sign-in.</summary>
    public static (Users.UserRow User, string ReturnUrl)? Find(HttpContext ctx, SqliteConnection c, IDataProtectionProvider protection)
    {
        if (ctx.Request.Cookies[CookieName] is not { } value) return null;
        string plain;
        try { plain = protection.CreateProtector(Purpose).ToTimeLimitedDataProtector().Unprotect(value); }
        catch (CryptographicException) { return null; }
        var parts = plain.Split('\n', 3);
        if (parts.Length != 3 || !long.TryParse(parts[0], out var id)) return null;
        var user = Users.UserStore.FindUserById(c, id);
        if (user is null || user.Disabled || user.SecurityStamp != parts[1]) return null;
        return (user, parts[2]);
    }

    public static void End(HttpContext ctx) => ctx.Response.Cookies.Delete(CookieName, new CookieOptions { Path = "/login" });
}
