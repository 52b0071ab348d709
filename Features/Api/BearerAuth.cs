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
public sealed class BearerAuth(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, Db db)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";

    /// <summary>The token text of an `Authorization: Bearer` header, or null when the request has none.</summary>
    public static string? TokenOf(HttpRequest request)
    {
        string header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
    }

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (TokenOf(Request) is not { } token) return Task.FromResult(AuthenticateResult.NoResult());
        using var c = db.Open();
        var user = ApiTokens.FindUserByValidToken(c, token);
        if (user is null) return Task.FromResult(AuthenticateResult.Fail("invalid token"));
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(AuthCookie.PrincipalFor(user), SchemeName)));
    }

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
