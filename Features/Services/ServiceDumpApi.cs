using Microsoft.AspNetCore.DataProtection;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Api;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Services;

/// <summary>/api/services/{name}/dumps: make, list, download and restore dumps, and the dump schedule. Same access as the service.</summary>
public static class ServiceDumpApi
{
    public sealed record ScheduleRequest(string? Schedule, long? Keep);
    public sealed record ScheduleJson(string Schedule, long Keep);

    public sealed record DumpJson(long Id, string Service, string Status, string? File, long? SizeBytes, string? Error, string Trigger, string StartedAt, string? FinishedAt);

    public static DumpJson JsonOf(DumpRow d) => new(d.Id, d.ServiceName, d.Status, d.File, d.SizeBytes, d.Error, d.Trigger, d.StartedAt, d.FinishedAt);

    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/services/{name}/dumps", (string name, HttpContext ctx, Db db, DockerEngine engine, IDataProtectionProvider protection, PanelSettings settings, ILogger<DumpJob> log) =>
        {
            using var c = db.Open();
            if (Find(c, ctx, name) is not { } s) return NotFound(name);
            var id = ServiceDumps.Start(db, engine, protection, settings, s, "manual", log);
            Audit.AuditLog.Record(c, ctx, "service.dump", s.Name, $"dump {id}");
            return Results.Json(new { id }, ApiProblem.JsonOptions, statusCode: 202);
        }).WithSummary("Make a dump now, in the background: 202 with its id; GET …/dumps shows when it ended (status ok or failed with its error)");

        api.MapGet("/services/{name}/dumps", (string name, HttpContext ctx, Db db) =>
        {
            using var c = db.Open();
            return Find(c, ctx, name) is { } s ? Results.Ok(ServiceDumps.ListDumpsOfService(c, s.Id).Select(JsonOf).ToList()) : NotFound(name);
        }).WithSummary("The service's dumps, newest first: status running, ok (with file and sizeBytes) or failed (with error)").Produces<List<DumpJson>>();

        api.MapGet("/services/{name}/dumps/{id:long}/file", (string name, long id, HttpContext ctx, Db db, PanelSettings settings) =>
        {
            using var c = db.Open();
            if (Find(c, ctx, name) is not { } s) return NotFound(name);
            if (ServiceDumps.FindDumpOfService(c, s.Id, id) is not { Status: "ok", File: { } file })
                return ApiProblem.NotFound($"A finished dump {id} of {s.Name}");
            Audit.AuditLog.Record(c, ctx, "service.dump.download", s.Name, $"dump {id} ({file})");
            return Results.File(Path.Combine(ServiceDumps.Dir(settings, s.Name), file), "application/octet-stream", $"{s.Name}-{file}");
        }).WithSummary("Download a dump's file");

        api.MapPost("/services/{name}/dumps/{id:long}/restore", async (string name, long id, HttpContext ctx, Db db, DockerEngine engine, IDataProtectionProvider protection, PanelSettings settings) =>
        {
            ServiceRow? s;
            DumpRow? d;
            using (var c = db.Open())
            {
                s = Find(c, ctx, name);
                d = ServiceDumps.FindDumpVisibleTo(c, id, ctx.User.UserId(), ctx.User.IsAdmin());
            }
            if (s is null) return NotFound(name);
            if (d is null) return ApiProblem.NotFound($"The dump {id}");
            if (await RestoreDump.RunAsync(db, engine, protection, settings, s, d, ctx.RequestAborted) is { } problem) return ApiProblem.Result(409, problem);
            Audit.AuditLog.Record(ctx, "service.dump.restore", s.Name, $"dump {id} of {d.ServiceName} ({d.File})");
            return Results.Ok(new { service = s.Name, restored = id });
        }).WithSummary("Restore a dump into the service (its data is replaced); a dump of another service of the same engine is allowed, of another engine refused (409)");

        api.MapGet("/services/{name}/dumps/schedule", (string name, HttpContext ctx, Db db) =>
        {
            using var c = db.Open();
            return Find(c, ctx, name) is { } s ? Results.Ok(ToJson(ServiceDumps.ScheduleOf(c, s.Id))) : NotFound(name);
        }).WithSummary("The dump schedule (a Quartz cron, UTC; empty = on demand only) and how many dumps are kept").Produces<ScheduleJson>();

        api.MapPut("/services/{name}/dumps/schedule", async (string name, HttpContext ctx, Db db) =>
        {
            var (body, error) = await ApiProblem.ReadJson<ScheduleRequest>(ctx.Request);
            if (error is not null) return error;
            using var c = db.Open();
            if (Find(c, ctx, name) is not { } s) return NotFound(name);
            var before = ServiceDumps.ScheduleOf(c, s.Id);
            var schedule = body!.Schedule ?? before.Schedule;
            var keep = body.Keep ?? before.Keep;
            if (ServiceDumps.ScheduleProblems(schedule, keep) is { Count: > 0 } errors) return ApiProblem.Invalid(errors);
            ServiceDumps.UpdateSchedule(c, s.Id, schedule.Trim(), keep);
            Audit.AuditLog.Record(c, ctx, "service.dump.schedule", s.Name, $"\"{before.Schedule}\" keep {before.Keep} -> \"{schedule.Trim()}\" keep {keep}");
            return Results.Ok(ToJson(ServiceDumps.ScheduleOf(c, s.Id)));
        }).WithSummary("Change the dump schedule and retention")
          .WithDescription("JSON body: {\"schedule\"?: \"0 0 3 * * ?\" (Quartz cron with seconds, UTC; \"\" = on demand only), \"keep\"?: 1-1000}. Invalid: 422 with `errors` per field.")
          .Produces<ScheduleJson>().ProducesProblem(422);
    }

    static ScheduleJson ToJson(DumpSchedule d) => new(d.Schedule, d.Keep);

    static IResult NotFound(string name) => ApiProblem.NotFound($"The service \"{name}\"");

    static ServiceRow? Find(SqliteConnection c, HttpContext ctx, string name) => ServiceStore.FindServiceByNameVisibleTo(c, name, ctx.User.UserId(), ctx.User.IsAdmin());
}
