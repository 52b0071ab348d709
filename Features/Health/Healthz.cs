using VpsPanel.Features.Dashboard;

namespace VpsPanel.Features.Health;

/// <summary>
/// GET /healthz: 200 whenever the panel itself works (its database answers), even if Docker or Caddy are down;
/// the body says what is down. 503 only when the panel cannot use its own database.
/// </summary>
public static class Healthz
{
    public static void Map(WebApplication app) =>
        app.MapGet("/healthz", async (SystemStatus status, CancellationToken ct) =>
        {
            var r = await status.CheckAsync(ct);
            object Part(Check c) => new Dictionary<string, object?> { ["ok"] = c.Ok, ["detail"] = c.Detail, ["fix"] = c.Fix };
            var body = new Dictionary<string, object?>
            {
                ["status"] = r.All.All(c => c.Ok) ? "ok" : r.Database.Ok ? "degraded" : "down",
                ["database"] = Part(r.Database),
                ["docker"] = Part(r.Docker),
                ["caddy"] = Part(r.Caddy),
                ["disk"] = Part(r.Disk),
            };
            return Results.Json(body, statusCode: r.Database.Ok ? 200 : 503);
        }).AllowAnonymous();
}
