using VpsPanel.Features.Api;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Hygiene;

/// <summary>POST /api/system/cleanup and GET /api/system/disk (admins); `vpspanel cleanup` calls the first.</summary>
public static class DiskApi
{
    public sealed record CleanupJson(
        int ImagesRemoved, int ImagesKept, long BytesReclaimed, long ImageBytes, long BuildCacheBytes, int BuildDirsRemoved, long BuildDirBytes,
        int LogsRemoved, long LogBytes, List<string> RemovedImages, List<string> Notes, string Summary, string StartedAt, string FinishedAt);

    public sealed record DiskJson(string What, string Path, long? FreeBytes, long? TotalBytes, bool Low, bool Warning);

    public static CleanupJson Json(CleanupResult r) =>
        new(r.ImagesRemoved, r.ImagesKept, r.BytesReclaimed, r.ImageBytes, r.BuildCacheBytes, r.BuildDirsRemoved, r.BuildDirBytes,
            r.LogsRemoved, r.LogBytes, r.RemovedImages, r.Notes, r.Summary, r.StartedAt, r.FinishedAt);

    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/system/cleanup", async (HttpContext ctx, DiskCleanup cleanup) =>
        {
            if (!ctx.User.IsAdmin()) return ApiProblem.Result(403, "Only admins can run the disk cleanup.");
            var r = await cleanup.RunAsync("api", ctx.RequestAborted);
            Audit.AuditLog.Record(ctx, "disk.cleanup", "panel", r.Summary);
            return Results.Json(Json(r), ApiProblem.JsonOptions);
        }).WithSummary("Run the disk cleanup now (admins): keeps the newest Disk:KeepImages images per project, the live and pinned ones; " +
                       "removes this panel's other images, build cache unused for Disk:RetentionDays, stray build dirs and logs; answers what was reclaimed")
          .Produces<CleanupJson>().ProducesProblem(403);

        api.MapGet("/system/disk", async (HttpContext ctx, PanelSettings settings, DockerEngine engine) =>
        {
            if (!ctx.User.IsAdmin()) return ApiProblem.Result(403, "Only admins can read the disk status.");
            var disks = await DiskGuard.MeasureAsync(settings, engine, ctx.RequestAborted);
            return Results.Json(disks.Select(d => new DiskJson(d.What, d.Path, d.Free, d.Total, d.Below(settings.DiskMinFreeBytes), d.Below(2 * settings.DiskMinFreeBytes))),
                ApiProblem.JsonOptions);
        }).WithSummary("Free space of the data dir and Docker's root (admins); low: below Disk:MinFreeMb (builds are refused), warning: below twice that")
          .Produces<List<DiskJson>>().ProducesProblem(403);
    }
}
