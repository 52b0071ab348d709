using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing.Template;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Tokens;
using VpsPanel.Features.Users;

namespace VpsPanel.Features.Api;

/// <summary>The REST API under /api: bearer tokens only (no cookies, so no CSRF surface), JSON in and out.</summary>
public static class ApiRoutes
{
    public static bool IsApi(HttpContext ctx) => ctx.Request.Path.StartsWithSegments("/api");

    public static RouteGroupBuilder Map(WebApplication app)
    {
        app.MapOpenApi("/api/openapi.json").AllowAnonymous();
        // Any other /api path or method: a problem+json 404 (or 405) naming the document, instead of a sign-in challenge.
        // This catch-all also wins over the framework's own 405 (which would be a sign-in redirect), so it tells
        // "no such route" from "no such method on this route" itself.
        app.Map("/api/{**rest}", (string rest, HttpContext ctx, EndpointDataSource endpoints) =>
        {
            var allowed = AllowedMethods(endpoints, ctx);
            // A route that takes this method but did not match for another reason is a 404 too.
            if (allowed.Count == 0 || allowed.Contains(ctx.Request.Method)) return ApiProblem.Result(404, $"There is no API route /api/{rest}. The routes are listed in /api/openapi.json.");
            ctx.Response.Headers.Allow = string.Join(", ", allowed);
            return ApiProblem.Result(405, $"/api/{rest} does not take {ctx.Request.Method}; it takes {string.Join(", ", allowed)}. The routes are listed in /api/openapi.json.");
        }).AllowAnonymous().ExcludeFromDescription();
        var api = app.MapGroup("/api").RequireAuthorization(new AuthorizeAttribute { AuthenticationSchemes = BearerAuth.SchemeName });

        api.MapGet("/me", (HttpContext ctx, Db db) =>
        {
            using var c = db.Open();
            var u = UserStore.FindUserById(c, ctx.User.UserId())!;
            return Results.Ok(new { id = u.Id, email = u.Email, role = u.Role });
        }).WithSummary("The user the token belongs to");

        api.MapGet("/tokens", (HttpContext ctx, Db db) =>
        {
            using var c = db.Open();
            return Results.Ok(ApiTokens.ListTokensOfUser(c, ctx.User.UserId()).Select(TokenJson));
        }).WithSummary("Your API tokens (never their secret)");

        api.MapPost("/tokens", async (HttpContext ctx, Db db) =>
        {
            var (body, error) = await ApiProblem.ReadJson<CreateTokenRequest>(ctx.Request);
            if (error is not null) return error;
            var errors = new Dictionary<string, string>();
            if (ApiTokens.NameProblem(body!.Name) is { } n) errors["name"] = n;
            using var c = db.Open();
            if (ApiTokens.ExpiryProblem(body.ExpiresInDays) is { } x) errors["expiresInDays"] = x;
            else if (ApiTokens.OutlivesCreatorProblem(body.ExpiresInDays, ApiTokens.FindExpiryOfToken(c, BearerAuth.TokenOf(ctx.Request)!), DateTime.UtcNow) is { } o)
                errors["expiresInDays"] = o;
            if (errors.Count > 0) return ApiProblem.Invalid(errors);
            var (id, token) = ApiTokens.CreateToken(c, ctx.User.UserId(), body.Name!, body.ExpiresInDays);
            Audit.AuditLog.Record(c, ctx, "token.create", body.Name!.Trim(), $"token {id}, " + (body.ExpiresInDays is { } d ? $"expires in {d} days" : "never expires"));
            return Results.Json(new { id, name = body.Name!.Trim(), token }, statusCode: 201);
        }).WithSummary("Create a token for yourself; the token is in this response only. It may not outlive the token that creates it: expiresInDays is required then, and at most the days that token has left");

        api.MapDelete("/tokens/{id:long}", (long id, HttpContext ctx, Db db) =>
        {
            using var c = db.Open();
            if (!ApiTokens.RevokeToken(c, id, ctx.User.UserId())) return ApiProblem.NotFound($"Token {id}");
            Audit.AuditLog.Record(c, ctx, "token.revoke", $"token {id}");
            return Results.NoContent();
        }).WithSummary("Revoke one of your tokens");

        Variables.VariableApi.Map(api);
        Builds.DockerfileApi.Map(api);
        return api;
    }

    /// <summary>
    /// The methods of the API routes that match the path, constraints included: /api/deployments/abc matches no
    /// route (the id is {id:long}), so it is a 404 for every method, not a 405.
    /// </summary>
    static List<string> AllowedMethods(EndpointDataSource endpoints, HttpContext ctx)
    {
        var policies = ctx.RequestServices.GetRequiredService<ParameterPolicyFactory>();
        return endpoints.Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } raw && raw.StartsWith("/api/", StringComparison.Ordinal) && !raw.Contains("{**", StringComparison.Ordinal))
            .Where(e => Matches(e.RoutePattern, ctx, policies))
            .SelectMany(e => e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? [])
            .Distinct().Order(StringComparer.Ordinal).ToList();
    }

    static bool Matches(Microsoft.AspNetCore.Routing.Patterns.RoutePattern pattern, HttpContext ctx,
        ParameterPolicyFactory policies)
    {
        var values = new RouteValueDictionary();
        if (!new TemplateMatcher(new RouteTemplate(pattern), new RouteValueDictionary()).TryMatch(ctx.Request.Path, values)) return false;
        foreach (var parameter in pattern.Parameters)
            foreach (var reference in parameter.ParameterPolicies)
                if (policies.Create(parameter, reference) is IRouteConstraint constraint &&
                    !constraint.Match(ctx, null, parameter.Name, values, RouteDirection.IncomingRequest))
                    return false;
        return true;
    }

    public sealed record CreateTokenRequest(string? Name, int? ExpiresInDays);

    static object TokenJson(ApiTokenRow t) => new
    {
        id = t.Id, name = t.Name, prefix = t.Prefix, createdAt = t.CreatedAt, expiresAt = t.ExpiresAt,
        lastUsedAt = t.LastUsedAt, revokedAt = t.RevokedAt, state = t.State(DateTime.UtcNow),
    };
}
