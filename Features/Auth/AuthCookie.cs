using System.Security.Claims;
using Htmx;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using VpsPanel.Features.Data;
using VpsPanel.Features.Users;

namespace VpsPanel.Features.Auth;

/// <summary>The auth cookie: what it carries, how it is checked on each request, and how a user gets one.</summary>
public static class AuthCookie
{
    public const string AdminPolicy = "admin";
    const string SessionClaim = "vpspanel:session";

    public static void ConfigureCookie(CookieAuthenticationOptions o)
    {
        o.Cookie.Name = "vpspanel.auth";
        o.Cookie.HttpOnly = true;
        o.Cookie.SameSite = SameSiteMode.Lax;
        // Secure whenever the request came over HTTPS (directly, or through Caddy with forwarded headers).
        o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        o.LoginPath = "/login";
        o.LogoutPath = "/logout";
        o.AccessDeniedPath = "/forbidden";
        o.ExpireTimeSpan = TimeSpan.FromDays(7);
        o.SlidingExpiration = true;
        o.Events.OnValidatePrincipal = ValidateAgainstDatabase;
        // API and htmx callers get status codes, not a redirect to an HTML login page.
        o.Events.OnRedirectToLogin = ctx => RedirectOrStatus(ctx, StatusCodes.Status401Unauthorized);
        o.Events.OnRedirectToAccessDenied = ctx => RedirectOrStatus(ctx, StatusCodes.Status403Forbidden);
    }

    static Task RedirectOrStatus(RedirectContext<CookieAuthenticationOptions> ctx, int status)
    {
        if (ctx.Request.Path.StartsWithSegments("/api") || ctx.Request.IsHtmx())
        {
            ctx.Response.StatusCode = status;
            if (status == 401) ctx.Response.Htmx(h => h.Redirect("/login"));
        }
        // The framework makes this absolute from the request's Host header, which the client chooses: keep the
        // path and query only, so a forged Host never comes back in a Location.
        else ctx.Response.Redirect(Uri.TryCreate(ctx.RedirectUri, UriKind.Absolute, out var u) ? u.PathAndQuery : ctx.RedirectUri);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Each request looks its session up (one lookup by primary key, joined with its user): a signed-out session,
    /// a disabled user, a changed role or a changed password (which delete the rows) ends the session at once,
    /// every copy of the cookie included, rather than when the cookie expires (issue 11, finding 10).
    /// The row is kept in Data/ReadCache until the database changes: every one of those changes is a commit, which
    /// moves PRAGMA data_version, so the next request reads the row again (issue 20: the lookup was 3% of a page view).
    /// </summary>
    static async Task ValidateAgainstDatabase(CookieValidatePrincipalContext ctx)
    {
        var principal = ctx.Principal;
        var token = principal?.SessionToken();
        SessionUser? s = null;
        if (principal is not null && token is not null)
        {
            var services = ctx.HttpContext.RequestServices;
            var db = services.GetRequiredService<Db>();
            s = services.GetRequiredService<ReadCache>().Get("session:" + Sessions.Hash(token), () =>
            {
                using var c = db.Open();
                return Sessions.FindSessionUser(c, token) ?? NoSession;
            });
            if (ReferenceEquals(s, NoSession)) s = null;
            if (s is not null && !Sessions.IsIdle(s) && Sessions.TouchDue(s))
            {
                using var c = db.Open();
                Sessions.TouchIfStale(c, token, s);
            }
        }
        if (principal is null || s is null || s.Disabled || Sessions.IsIdle(s)
            || s.UserId.ToString() != principal.FindFirstValue(ClaimTypes.NameIdentifier)
            || s.Role != principal.FindFirstValue(ClaimTypes.Role))
        {
            ctx.RejectPrincipal();
            await ctx.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return;
        }
        if (s.TwoFactorRequired && !s.HasTwoFactor) ctx.HttpContext.Items[TwoFactor.EnrolmentDueKey] = true;
    }

    /// <summary>
    /// Wraps the cookie's ticket format so the same cookie is decrypted and read once, not on every request: the
    /// decryption (AES-CBC + HMAC) and the ticket's deserialization were 5% of a page view's CPU (issue 20, perf of
    /// bench/pages.sh). Nothing about trust changes: a cookie string is always read to the same ticket, expiry is
    /// still checked by the cookie handler after this, and the session behind it is still looked up on every request
    /// (<see cref="ValidateAgainstDatabase"/>), so a signed-out or disabled session is refused at once.
    /// </summary>
    public static void KeepReadTickets(IServiceCollection s) =>
        s.PostConfigure<CookieAuthenticationOptions>(CookieAuthenticationDefaults.AuthenticationScheme, o =>
        {
            if (o.TicketDataFormat is { } format and not ReadTickets) o.TicketDataFormat = new ReadTickets(format);
        });

    /// <summary>Tickets read from cookie strings, each handed out as a copy (the handler may change what it gets).</summary>
    sealed class ReadTickets(ISecureDataFormat<AuthenticationTicket> inner) : ISecureDataFormat<AuthenticationTicket>
    {
        // A few browsers per user; a cookie string changes when the sign-in is renewed. Past the bound the whole
        // set is dropped (cheap, and a flood of forged cookies never gets in: only cookies that decrypt are kept).
        const int MaxKept = 256;
        readonly System.Collections.Concurrent.ConcurrentDictionary<(string Text, string? Purpose), AuthenticationTicket> _read = new();

        public string Protect(AuthenticationTicket data) => inner.Protect(data);
        public string Protect(AuthenticationTicket data, string? purpose) => inner.Protect(data, purpose);
        public AuthenticationTicket? Unprotect(string? protectedText) => Unprotect(protectedText, null);

        public AuthenticationTicket? Unprotect(string? protectedText, string? purpose)
        {
            if (protectedText is null) return null;
            if (_read.TryGetValue((protectedText, purpose), out var kept)) return kept.Clone();
            var ticket = inner.Unprotect(protectedText, purpose);
            if (ticket is null) return null;
            if (_read.Count >= MaxKept) _read.Clear();
            _read[(protectedText, purpose)] = ticket.Clone();
            return ticket;
        }
    }

    /// <summary>Kept in the cache for a token without a session (signed out, or never one), so it is not read again until a commit.</summary>
    static readonly SessionUser NoSession = new();

    public static ClaimsPrincipal PrincipalFor(UserRow user, string? sessionToken = null) =>
        new(new ClaimsIdentity(
        [
            new Claim(ClaimTypes.NameIdentifier, user.Id.ToString()),
            new Claim(ClaimTypes.Name, user.Email),
            new Claim(ClaimTypes.Role, user.Role),
            .. sessionToken is null ? Array.Empty<Claim>() : [new Claim(SessionClaim, sessionToken)],
        ], CookieAuthenticationDefaults.AuthenticationScheme));

    /// <summary>Starts a server-side session for the user and gives the browser its cookie.</summary>
    public static Task SignInAsync(HttpContext ctx, UserRow user)
    {
        using var c = ctx.RequestServices.GetRequiredService<Db>().Open();
        var token = Sessions.StartSession(c, user.Id, ClientAddress(ctx));
        return ctx.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, PrincipalFor(user, token));
    }

    /// <summary>Ends this session on the server (so copies of the cookie stop working too) and removes the cookie.</summary>
    public static Task SignOutAsync(HttpContext ctx)
    {
        if (ctx.User.SessionToken() is { } token)
        {
            using var c = ctx.RequestServices.GetRequiredService<Db>().Open();
            Sessions.EndSession(c, token);
        }
        return ctx.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
    }

    /// <summary>The client's address as the panel sees it: the connection's, or the trusted proxy's last hop.</summary>
    public static string ClientAddress(HttpContext ctx) => ctx.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    public static string? SessionToken(this ClaimsPrincipal p) => p.FindFirstValue(SessionClaim);
    public static long UserId(this ClaimsPrincipal p) => long.Parse(p.FindFirstValue(ClaimTypes.NameIdentifier)!);
    public static bool IsAdmin(this ClaimsPrincipal p) => p.IsInRole(Roles.Admin);
}
