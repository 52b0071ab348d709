using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Authentication;
using VpsPanel.Features.Api;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Dashboard;

namespace VpsPanel.Features.Health;

/// <summary>
/// GET /healthz: 200 whenever the panel itself works (its database takes reads and writes), even if Docker or Caddy
/// are down; the body says what is down. 503 when the panel cannot use its own database.
/// Anyone (a load balancer, an uptime monitor) gets the status and ok/failing per component; the details (data dir,
/// versions, Caddy's admin address, free disk, how to fix) are for signed-in admins only, by cookie or admin token:
/// they map the host for an attacker and help nobody else.
/// </summary>
public static class Healthz
{
    public sealed record Part(bool Ok, string? Detail = null, string? Fix = null);

    public sealed record Body(string Status, Part Database, Part Docker, Part Caddy, Part Disk);

    public static void Map(WebApplication app) =>
        app.MapGet("/healthz", async (HttpContext ctx, SystemStatus status, CancellationToken ct) =>
        {
            var r = await status.CheckAsync(ct);
            var details = await IsAdminAsync(ctx);
            Part ToPart(Check c) => details ? new(c.Ok, c.Detail, c.Fix) : new(c.Ok);
            var body = new Body(
                Status: r.All.All(c => c.Ok) ? "ok" : r.Database.Ok ? "degraded" : "down",
                Database: ToPart(r.Database), Docker: ToPart(r.Docker), Caddy: ToPart(r.Caddy), Disk: ToPart(r.Disk));
            // The source-generated serializer: the published binary is trimmed, and trimmed apps have
            // reflection-based System.Text.Json switched off (it would throw NotSupportedException here).
            return Results.Json(body, HealthzJson.Default.Body, statusCode: r.Database.Ok ? 200 : 503);
        }).AllowAnonymous();

    /// <summary>The cookie is read by the default scheme already; a bearer token is only read on /api, so ask for it here.</summary>
    static async Task<bool> IsAdminAsync(HttpContext ctx)
    {
        if (ctx.User.Identity?.IsAuthenticated == true) return ctx.User.IsAdmin();
        if (ctx.Request.Headers.Authorization.Count == 0) return false;
        var bearer = await ctx.AuthenticateAsync(BearerAuth.SchemeName);
        return bearer.Succeeded && bearer.Principal.IsAdmin();
    }
}

// Null details are left out, so the anonymous body is just {"ok":true} per component.
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(Healthz.Body))]
internal partial class HealthzJson : JsonSerializerContext;
