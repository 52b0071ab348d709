using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using VpsPanel.Features.Data;
using VpsPanel.Features.Users;

namespace VpsPanel.Features.Auth;

/// <summary>The auth cookie: what it carries, how it is checked on each request, and how a user gets one.</summary>
public static class AuthCookie
{
    public const string AdminPolicy = "admin";
    const string StampClaim = "vpspanel:stamp";

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
        if (ctx.Request.Path.StartsWithSegments("/api") || ctx.Request.Headers["HX-Request"] == "true")
        {
            ctx.Response.StatusCode = status;
            if (status == 401) ctx.Response.Headers["HX-Redirect"] = "/login";
        }
        // The framework makes this absolute from the request's Host header, which the client chooses: keep the
        // path and query only, so a forged Host never comes back in a Location.
        else ctx.Response.Redirect(Uri.TryCreate(ctx.RedirectUri, UriKind.Absolute, out var u) ? u.PathAndQuery : ctx.RedirectUri);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Each request re-reads the user (one indexed SQLite lookup): a disabled user, a changed role or a changed
    /// password (new security stamp) ends the session at once rather than when the cookie expires.
    /// </summary>
    static async Task ValidateAgainstDatabase(CookieValidatePrincipalContext ctx)
    {
        var id = ctx.Principal?.FindFirstValue(ClaimTypes.NameIdentifier);
        var stamp = ctx.Principal?.FindFirstValue(StampClaim);
        UserRow? user = null;
        if (long.TryParse(id, out var userId))
        {
            using var c = ctx.HttpContext.RequestServices.GetRequiredService<Db>().Open();
            user = UserStore.FindUserById(c, userId);
        }
        if (user is null || user.Disabled || user.SecurityStamp != stamp)
        {
            ctx.RejectPrincipal();
            await ctx.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        }
    }

    public static ClaimsPrincipal PrincipalFor(UserRow user) =>
        new(new ClaimsIdentity(
        [
            new Claim(ClaimTypes.NameIdentifier, user.Id.ToString()),
            new Claim(ClaimTypes.Name, user.Email),
            new Claim(ClaimTypes.Role, user.Role),
            new Claim(StampClaim, user.SecurityStamp),
        ], CookieAuthenticationDefaults.AuthenticationScheme));

    public static Task SignInAsync(HttpContext ctx, UserRow user) =>
        ctx.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, PrincipalFor(user));

    public static long UserId(this ClaimsPrincipal p) => long.Parse(p.FindFirstValue(ClaimTypes.NameIdentifier)!);
    public static bool IsAdmin(this ClaimsPrincipal p) => p.IsInRole(Roles.Admin);
}
