using System.Text.Json.Serialization;
using VpsPanel.Features.Dashboard;

namespace VpsPanel.Features.Health;

/// <summary>
/// GET /healthz: 200 whenever the panel itself works (its database answers), even if Docker or Caddy are down;
/// the body says what is down. 503 only when the panel cannot use its own database.
/// </summary>
public static class Healthz
{
    public sealed record Part(bool Ok, string Detail, string? Fix);

    public sealed record Body(string Status, Part Database, Part Docker, Part Caddy, Part Disk);

    public static void Map(WebApplication app) =>
        app.MapGet("/healthz", async (SystemStatus status, CancellationToken ct) =>
        {
            var r = await status.CheckAsync(ct);
            static Part ToPart(Check c) => new(c.Ok, c.Detail, c.Fix);
            var body = new Body(
                Status: r.All.All(c => c.Ok) ? "ok" : r.Database.Ok ? "degraded" : "down",
                Database: ToPart(r.Database), Docker: ToPart(r.Docker), Caddy: ToPart(r.Caddy), Disk: ToPart(r.Disk));
            // The source-generated serializer: the published binary is trimmed, and trimmed apps have
            // reflection-based System.Text.Json switched off (it would throw NotSupportedException here).
            return Results.Json(body, HealthzJson.Default.Body, statusCode: r.Database.Ok ? 200 : 503);
        }).AllowAnonymous();
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(Healthz.Body))]
internal partial class HealthzJson : JsonSerializerContext;
