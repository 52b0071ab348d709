using Microsoft.AspNetCore.DataProtection;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Api;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Deployments;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Services;

/// <summary>
/// /api/services: the service pages as JSON, same rules (the same action files) and access: a service the token's
/// user may not see is a 404. The password is never in an answer; linked projects get it as variables.
/// </summary>
public static class ServiceApi
{
    public sealed record CreateRequest(string? Engine, string? Name, string? Version, long? MemoryMb, int? PublicPort);
    public sealed record LinkRequest(string? Project, bool? Redeploy);
    public sealed record VersionRequest(string? Version);

    public sealed record ServiceJson(
        string Name, string Engine, string Version, string Status, string Image, long MemoryMb, long? PublicPort,
        string Host, int Port, List<string> Links, string Owner, string? Error, string CreatedAt);

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/services", async (HttpContext ctx, Db db, DockerEngine engine) =>
        {
            using var c = db.Open();
            var list = new List<ServiceJson>();
            foreach (var s in ServiceStore.ListServicesVisibleTo(c, ctx.User.UserId(), ctx.User.IsAdmin())) list.Add(await JsonOf(c, engine, s, ctx.RequestAborted));
            return Results.Ok(list);
        }).WithSummary("Database services you can see (admins: all)").Produces<List<ServiceJson>>();

        api.MapPost("/services", async (HttpContext ctx, Db db, DockerEngine engine, IDataProtectionProvider protection, PanelSettings settings) =>
        {
            var (body, error) = await ApiProblem.ReadJson<CreateRequest>(ctx.Request);
            if (error is not null) return error;
            var (s, errors) = await CreateService.RunAsync(db, engine, protection, settings,
                new CreateService.Input(body!.Engine, body.Name, body.Version, body.MemoryMb, body.PublicPort), ctx.User.UserId(), ctx.RequestAborted);
            if (s is null) return ApiProblem.Invalid(errors);
            using var c = db.Open();
            Audit.AuditLog.Record(c, ctx, "service.create", s.Name, $"{s.Engine} {s.Version}, {s.MemoryMb} MiB" + (s.PublicPort is { } p ? $", public port {p}" : ""));
            return Results.Json(await JsonOf(c, engine, s, ctx.RequestAborted), ApiProblem.JsonOptions, statusCode: 201);
        }).WithSummary("Create a database service; its password is generated and never shown by the API")
          .WithDescription("JSON body: {\"engine\": \"postgres|mariadb|redis\", \"name\" (a DNS label: the host name apps connect to), \"version\"? (the image tag; default: the tag of Services:Images:<Engine>), " +
                           "\"memoryMb\"? (default 512), \"publicPort\"? (published on every address; 1024-65535, outside Deploy:PortRange, free)}. Invalid fields: 422 with `errors` per field. " +
                           "A container Docker refused still makes the service, with status failed and `error`.")
          .Produces<ServiceJson>(201).ProducesProblem(422);

        api.MapGet("/services/{name}", async (string name, HttpContext ctx, Db db, DockerEngine engine) =>
        {
            using var c = db.Open();
            return Find(c, ctx, name) is { } s ? Results.Ok(await JsonOf(c, engine, s, ctx.RequestAborted)) : NotFound(name);
        }).WithSummary("One service, with the projects linked to it").Produces<ServiceJson>();

        api.MapDelete("/services/{name}", async (string name, bool? deleteVolume, HttpContext ctx, Db db, DockerEngine engine) =>
        {
            ServiceRow? s;
            using (var c = db.Open()) s = Find(c, ctx, name);
            if (s is null) return NotFound(name);
            if (await DeleteService.RunAsync(db, engine, s, deleteVolume == true, ctx.RequestAborted) is { } problem) return ApiProblem.Result(409, problem);
            Audit.AuditLog.Record(ctx, "service.delete", s.Name, deleteVolume == true ? "with its volume" : "volume kept");
            return Results.NoContent();
        }).WithSummary("Delete a service (?deleteVolume=true also deletes its data); 409 while projects are linked to it");

        api.MapPost("/services/{name}/links", async (string name, HttpContext ctx, Db db, DockerEngine engine, DeployWorker worker) =>
        {
            var (body, error) = await ApiProblem.ReadJson<LinkRequest>(ctx.Request);
            if (error is not null) return error;
            ServiceRow? s;
            ProjectRow? p;
            using (var c = db.Open())
            {
                s = Find(c, ctx, name);
                if (s is null) return NotFound(name);
                p = ProjectApi.FindVisible(c, ctx, body!.Project?.Trim() ?? "");
            }
            if (p is null) return ApiProblem.Invalid(new Dictionary<string, string> { ["project"] = $"there is no project \"{body.Project}\" you can see" });
            var (problem, deployment) = await LinkService.LinkAsync(db, engine, worker, s, p, body.Redeploy == true, ctx.User.UserId(), ctx.RequestAborted);
            if (problem is not null) return ApiProblem.Result(409, problem);
            Audit.AuditLog.Record(ctx, "service.link", s.Name, $"project {p.Slug}" + (deployment is { } d ? $", redeploy {d}" : ""));
            return Results.Json(new { service = s.Name, project = p.Slug, deploymentId = deployment }, ApiProblem.JsonOptions, statusCode: 201);
        }).WithSummary("Link a service to a project: the project gets its connection variables (DATABASE_URL or REDIS_URL and DB_*/REDIS_* parts) from its next deployment")
          .WithDescription("JSON body: {\"project\": \"<slug>\", \"redeploy\"?: true (queue a deployment now when the project is live; `deploymentId` in the answer)}. 409 when already linked, or the project has a service of that kind.");

        api.MapDelete("/services/{name}/links/{project}", async (string name, string project, bool? redeploy, HttpContext ctx, Db db, DockerEngine engine, DeployWorker worker) =>
        {
            ServiceRow? s;
            ProjectRow? p;
            using (var c = db.Open())
            {
                s = Find(c, ctx, name);
                p = ProjectApi.FindVisible(c, ctx, project);
            }
            if (s is null) return NotFound(name);
            if (p is null) return ProjectApi.NotFound(project);
            var (unlinked, _) = await LinkService.UnlinkAsync(db, engine, worker, s, p, redeploy == true, ctx.User.UserId(), ctx.RequestAborted);
            if (!unlinked) return ApiProblem.NotFound($"A link from {s.Name} to {p.Slug}");
            Audit.AuditLog.Record(ctx, "service.unlink", s.Name, $"project {p.Slug}");
            return Results.NoContent();
        }).WithSummary("Unlink a service from a project (?redeploy=true queues a deployment of the project)");

        foreach (var action in ServicePower.Actions)
            api.MapPost($"/services/{{name}}/{action}", async (string name, HttpContext ctx, Db db, DockerEngine engine) =>
            {
                ServiceRow? s;
                using (var c = db.Open()) s = Find(c, ctx, name);
                if (s is null) return NotFound(name);
                if (await ServicePower.RunAsync(db, engine, s, action, ctx.RequestAborted) is { } problem) return ApiProblem.Result(502, problem);
                Audit.AuditLog.Record(ctx, "service." + action, s.Name);
                using var c2 = db.Open();
                return Results.Ok(await JsonOf(c2, engine, ServiceStore.FindServiceById(c2, s.Id)!, ctx.RequestAborted));
            }).WithSummary($"{char.ToUpperInvariant(action[0])}{action[1..]} the service's container").Produces<ServiceJson>();

        api.MapPut("/services/{name}/version", async (string name, HttpContext ctx, Db db, DockerEngine engine, IDataProtectionProvider protection, PanelSettings settings) =>
        {
            var (body, error) = await ApiProblem.ReadJson<VersionRequest>(ctx.Request);
            if (error is not null) return error;
            ServiceRow? s;
            using (var c = db.Open()) s = Find(c, ctx, name);
            if (s is null) return NotFound(name);
            if (await ChangeServiceVersion.RunAsync(db, engine, protection, settings, s, body!.Version, ctx.RequestAborted) is { } problem)
                return ApiProblem.Invalid(new Dictionary<string, string> { ["version"] = problem });
            Audit.AuditLog.Record(ctx, "service.version", s.Name, $"{s.Version} -> {body.Version?.Trim()}");
            using var c2 = db.Open();
            return Results.Ok(await JsonOf(c2, engine, ServiceStore.FindServiceById(c2, s.Id)!, ctx.RequestAborted));
        }).WithSummary("Change the version: within the major version the container is recreated on the same volume; another major version is refused (422) with the steps to move by dump and restore")
          .WithDescription("JSON body: {\"version\": \"17.2\"}").Produces<ServiceJson>().ProducesProblem(422);

        api.MapGet("/services/{name}/logs", async (string name, string? tail, HttpContext ctx, Db db, DockerEngine engine, IDataProtectionProvider protection) =>
        {
            ServiceRow? s;
            string panel;
            using (var c = db.Open()) { s = Find(c, ctx, name); panel = PanelIdentity.Of(c); }
            if (s is null) return NotFound(name);
            if (ContainerLogsModel.TailProblem(tail, out var n) is { } problem) return ApiProblem.Invalid(new Dictionary<string, string> { ["tail"] = problem });
            ContainerLogs? logs;
            try { logs = await ServiceLogs.ReadMaskedAsync(engine, protection, panel, s, n, ctx.RequestAborted); }
            catch (Exception e) when (DockerEngine.IsDockerError(e)) { return ApiProblem.Result(503, $"The logs cannot be read from Docker: {DockerErrors.Readable(e)}"); }
            if (logs is null) return ApiProblem.Result(409, $"{s.Name} has no container");
            return Results.Text(string.Concat(logs.Lines.Select(l => Shared.Ansi.Strip(l.Text) + "\n")), "text/plain; charset=utf-8");
        }).WithSummary($"The last ?tail= lines (default {ContainerLogsModel.DefaultTail}) of the service's container, its password masked").Produces<string>(200, "text/plain");
    }

    static IResult NotFound(string name) => ApiProblem.NotFound($"The service \"{name}\"");

    static ServiceRow? Find(SqliteConnection c, HttpContext ctx, string name) => ServiceStore.FindServiceByNameVisibleTo(c, name, ctx.User.UserId(), ctx.User.IsAdmin());

    /// <summary>The status is the engine's when it answers (running (healthy) …), else the last one the panel recorded.</summary>
    public static async Task<string> StatusOf(SqliteConnection c, DockerEngine engine, ServiceRow s, CancellationToken ct)
    {
        if (s.Status is "failed" or "creating") return s.Status;
        try { return await ServiceContainer.LiveStatusAsync(await engine.ClientAsync(ct), PanelIdentity.Of(c), s.Name, ct); }
        catch (Exception e) when (DockerEngine.IsDockerError(e)) { return s.Status; }
    }

    static async Task<ServiceJson> JsonOf(SqliteConnection c, DockerEngine engine, ServiceRow s, CancellationToken ct) =>
        new(s.Name, s.Engine, s.Version, await StatusOf(c, engine, s, ct), s.Image, s.MemoryMb, s.PublicPort, s.Name, ServiceEngines.Find(s.Engine)!.Port,
            ServiceStore.ListProjectsLinkedToService(c, s.Id).Select(p => p.Slug).ToList(), s.OwnerEmail, s.StatusError, s.CreatedAt);
}
