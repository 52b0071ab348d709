using VpsPanel.Features.Api;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;

namespace VpsPanel.Features.Metrics;

/// <summary>
/// The series, as JSON: through the API (bearer tokens) and, for the charts on the pages, the same answers on
/// cookie routes, since the API takes no cookies. A project's metrics: its owner and admins (anyone else gets 404, as
/// for everything of a project they cannot see); the host's: admins.
/// </summary>
public static class MetricsEndpoints
{
    public static void Map(WebApplication app, RouteGroupBuilder api)
    {
        api.MapGet("/projects/{slug}/metrics", (string slug, string? range, HttpContext ctx, Db db) =>
        {
            using var c = db.Open();
            if (Projects.ProjectApi.FindVisible(c, ctx, slug) is not { } p) return Projects.ProjectApi.NotFound(slug);
            return ProjectAnswer(c, p.Id, range);
        }).WithSummary("The project's containers' CPU %, memory used and limit, network and block I/O rates (bytes/s), summed per point in time: " +
                       "?range=1h (10 s points), 24h (1-minute averages) or 7d (1-hour averages)")
          .Produces<MetricsSeries.ProjectSeries>().ProducesProblem(404).ProducesProblem(422);

        api.MapGet("/system/metrics", (string? range, HttpContext ctx, Db db) =>
        {
            if (!ctx.User.IsAdmin()) return ApiProblem.Result(403, "Only admins can read the host's metrics.");
            using var c = db.Open();
            return HostAnswer(c, range);
        }).WithSummary("The host's CPU %, memory, free space of the data dir and of Docker's root, and Docker's disk use (admins): ?range=1h, 24h or 7d")
          .Produces<MetricsSeries.HostSeries>().ProducesProblem(403).ProducesProblem(422);

        app.MapGet("/projects/{id:long}/metrics", (long id, string? range, HttpContext ctx, Db db) =>
        {
            using var c = db.Open();
            if (Projects.ProjectStore.FindProjectVisibleTo(c, id, ctx.User.UserId(), ctx.User.IsAdmin()) is null) return Results.NotFound();
            return ProjectAnswer(c, id, range);
        }).ExcludeFromDescription();

        app.MapGet("/metrics/host", (string? range, HttpContext ctx, Db db) =>
        {
            if (!ctx.User.IsAdmin()) return ApiProblem.Result(403, "Only admins can read the host's metrics.");
            using var c = db.Open();
            return HostAnswer(c, range);
        }).ExcludeFromDescription();
    }

    static long Now => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    static IResult ProjectAnswer(Microsoft.Data.Sqlite.SqliteConnection c, long projectId, string? range) =>
        MetricsSeries.ParseRange(range) is { } r
            ? Results.Json(MetricsSeries.ForProject(c, projectId, r, Now), ApiProblem.JsonOptions)
            : ApiProblem.Invalid(new Dictionary<string, string> { ["range"] = MetricsSeries.RangeProblem });

    static IResult HostAnswer(Microsoft.Data.Sqlite.SqliteConnection c, string? range) =>
        MetricsSeries.ParseRange(range) is { } r
            ? Results.Json(MetricsSeries.ForHost(c, r, Now), ApiProblem.JsonOptions)
            : ApiProblem.Invalid(new Dictionary<string, string> { ["range"] = MetricsSeries.RangeProblem });
}
