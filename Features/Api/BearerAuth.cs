using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Tokens;

namespace VpsPanel.Features.Api;

/// <summary>
/// `Authorization: Bearer vpp_…` for /api. The token carries its user's rights; a revoked or expired token,
/// or one of a disabled user, is a 401 with a problem+json body saying so.
/// </summary>
public sealed class BearerAuth(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, Db db, ReadCache cache)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";

    /// <summary>The token text of an `Authorization: Bearer` header, or null when the request has none.</summary>
    public static string? TokenOf(HttpRequest request)
    {
        string header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
    }

    /// <summary>
    /// The token's row is kept in Data/ReadCache until the next commit (a revoked token, a disabled user or a changed
    /// role is a commit, so the next request reads it again), and its expiry is checked against the clock on every
    /// request. Issue 20: the lookup and its last-used write were 13% of a GET /api/projects at 1,000 projects.
    /// </summary>
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (TokenOf(Request) is not { } token) return Task.FromResult(AuthenticateResult.NoResult());
        var hash = ApiTokens.HashOfPresented(token);
        var found = hash is null ? NoToken : cache.Get("token:" + hash, () =>
        {
            using var c = db.Open();
            return ApiTokens.FindUnrevokedTokenOfEnabledUser(c, hash) ?? NoToken;
        });
        var utcNow = DateTime.UtcNow;
        if (ReferenceEquals(found, NoToken) || !found.IsValidNow(Shared.Clock.Format(utcNow))) return Task.FromResult(AuthenticateResult.Fail("invalid token"));
        if (found.LastUsedStale(utcNow))
        {
            using var c = db.Open();
            ApiTokens.TouchLastUsedIfStale(c, hash!, utcNow);
        }
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(AuthCookie.PrincipalFor(found.User), SchemeName)));
    }

    /// <summary>Kept for a hash with no usable token, so a wrong token is not looked up again until a commit.</summary>
    static readonly ApiTokens.UnrevokedToken NoToken = new(new(), null, null);

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "Bearer";
        var hasHeader = Request.Headers.Authorization.Count > 0;
        await ApiProblem.Write(Context, StatusCodes.Status401Unauthorized, hasHeader
            ? "The API token is not valid: it is unknown, revoked or expired, or its user is disabled. Create a new one on the Tokens page or with `vpspanel token create`."
            : "This API needs a token: send `Authorization: Bearer <token>`. Create one on the Tokens page or with `vpspanel token create`.");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        ApiProblem.Write(Context, StatusCodes.Status403Forbidden, "Your token's user is not allowed to do this; it needs an admin.");
}
