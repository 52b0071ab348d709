using System.Net;
using VpsPanel.Features.Data;

namespace VpsPanel.Features.Domains;

/// <summary>
/// GET /caddy/ask?domain=x: Caddy's on-demand TLS asks this before it requests a certificate (on_demand_tls { ask … }
/// in the main Caddyfile). 200 only for names the panel answers on; 404 for anything else, so nobody can make Caddy
/// ask a CA for certificates for arbitrary names. Anonymous (Caddy has no session) but loopback only: a request that
/// came through the proxy carries the client's address (forwarded headers), so it is refused.
/// </summary>
public static class CaddyAsk
{
    public static void Map(WebApplication app) =>
        app.MapGet("/caddy/ask", (HttpContext ctx, string? domain, Db db) =>
        {
            if (ctx.Connection.RemoteIpAddress is not { } ip || !IPAddress.IsLoopback(ip))
                return Results.Text("only Caddy on this host may ask\n", statusCode: 403);
            var host = DomainName.Normalize(domain, allowIpLiteral: true).Domain;
            if (host is null || host.StartsWith("*.", StringComparison.Ordinal)) return Results.Text("unknown domain\n", statusCode: 404);
            using var c = db.Open();
            return ProjectDomains.IsKnownHost(ProjectDomains.ListClaims(c), host, Settings.PanelOptions.Load(c).BaseDomain)
                ? Results.Text("ok\n")
                : Results.Text("unknown domain\n", statusCode: 404);
        }).AllowAnonymous().ExcludeFromDescription();
}
