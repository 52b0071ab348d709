namespace VpsPanel.Features.Hygiene;

/// <summary>
/// /favicon.ico: browsers ask for it on every page whatever the layout links, and it was a 404 (and a line in every
/// access log). It answers with the same small SVG the layout links (/static/img/favicon.svg); browsers take an SVG
/// from that address by its content type.
/// </summary>
public static class Favicon
{
    public static void Map(WebApplication app) =>
        app.MapMethods("/favicon.ico", ["GET", "HEAD"], (HttpContext ctx) =>
        {
            ctx.Response.Headers.CacheControl = "public, max-age=86400";
            var stream = typeof(Favicon).Assembly.GetManifestResourceStream("wwwroot/img/favicon.svg");
            return stream is null ? Results.NotFound() : Results.Stream(stream, "image/svg+xml");
        }).AllowAnonymous();
}
