using Microsoft.AspNetCore.Http.Features;
using VpsPanel.Features.Api;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Volumes;

/// <summary>
/// /api/projects/{slug}/volumes: the project's volumes (list, replace), and one volume's backup (GET …/archive, a
/// .tar.gz) and restore (POST …/restore with the .tar.gz as the body). Same rules and access as the page.
/// </summary>
public static class VolumeApi
{
    public sealed record VolumeRequest(string? Name, string? MountPath, string? HostPath);

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/projects/{slug}/volumes", async (string slug, HttpContext ctx, Db db, DockerEngine engine) =>
        {
            using var c = db.Open();
            if (ProjectApi.FindVisible(c, ctx, slug) is not { } p) return ProjectApi.NotFound(slug);
            return Results.Ok(await VolumeSizes.ListWithSizesAsync(c, engine, p, ctx.RequestAborted));
        }).WithSummary("The project's volumes: name, mount path, host path (admins' bind mounts), the Docker volume, whether it exists yet, its size in bytes")
          .Produces<List<VolumeSizes.VolumeView>>();

        api.MapPut("/projects/{slug}/volumes", async (string slug, HttpContext ctx, Db db, DockerEngine engine, PanelSettings settings) =>
        {
            using var c = db.Open();
            if (ProjectApi.FindVisible(c, ctx, slug) is not { } p) return ProjectApi.NotFound(slug);
            var (body, error) = await ApiProblem.ReadJson<List<VolumeRequest>>(ctx.Request);
            if (error is not null) return error;
            var list = body!.Select(v => new VolumeInput(v?.Name?.Trim() ?? "", v?.MountPath?.Trim() ?? "", v?.HostPath?.Trim())).ToList();
            var (errors, detail) = await ProjectVolumes.SaveAsync(c, engine, settings, p, list, ctx.User.IsAdmin(), ctx.RequestAborted);
            // A member asking for a host directory is refused for who they are, not for what they typed.
            if (errors.Count > 0 && !ctx.User.IsAdmin() && errors.Values.Any(e => e.StartsWith("Only an admin", StringComparison.Ordinal)))
                return ApiProblem.Result(403, "Only an admin can mount a directory of the host (hostPath); nothing was changed.", errors.ToDictionary(e => e.Key, e => new[] { e.Value }));
            if (errors.Count > 0) return ApiProblem.Invalid(errors);
            if (detail is not null) Audit.AuditLog.Record(c, ctx, "volumes.change", p.Slug, detail);
            return Results.Ok(await VolumeSizes.ListWithSizesAsync(c, engine, p, ctx.RequestAborted));
        }).WithSummary("Replace the project's volumes (used from the next deploy on); a volume left out is unmounted and its data kept as an orphaned volume")
          .WithDescription("JSON body: [{\"name\": \"data\", \"mountPath\": \"/data\", \"hostPath\"?: \"/srv/vpspanel/app\" (admins only, under Storage:HostPathRoot)}]. " +
            "Names: lower-case letters, digits, . _ -; mount paths absolute, not /, not under /proc, /sys or /dev; both unique. Invalid: 422 with `errors` per field; a member's hostPath: 403.")
          .Produces<List<VolumeSizes.VolumeView>>().ProducesProblem(403).ProducesProblem(422);

        api.MapGet("/projects/{slug}/volumes/{name}/archive", async (string slug, string name, HttpContext ctx, Db db, DockerEngine engine) =>
        {
            using var c = db.Open();
            if (ProjectApi.FindVisible(c, ctx, slug) is not { } p) return ProjectApi.NotFound(slug);
            if (ProjectVolumes.ListVolumesOfProject(c, p.Id).FirstOrDefault(v => v.Name == name) is not { } volume) return ApiProblem.NotFound($"The volume \"{name}\" of {slug}");
            return await DownloadAsync(ctx, c, engine, p, volume);
        }).WithSummary("Download a backup of one volume: a .tar.gz of its files, relative to its root, streamed from the app's container (or a helper from its image)")
          .Produces(200, contentType: "application/gzip").ProducesProblem(409);

        api.MapPost("/projects/{slug}/volumes/{name}/restore", async (string slug, string name, HttpContext ctx, Db db, DockerEngine engine, PanelSettings settings) =>
        {
            using var c = db.Open();
            if (ProjectApi.FindVisible(c, ctx, slug) is not { } p) return ProjectApi.NotFound(slug);
            if (ProjectVolumes.ListVolumesOfProject(c, p.Id).FirstOrDefault(v => v.Name == name) is not { } volume) return ApiProblem.NotFound($"The volume \"{name}\" of {slug}");
            var (status, message) = await RestoreAsync(ctx, c, engine, settings, p, volume, ctx.Request.Body);
            return status == 200 ? Results.Ok(new { restored = volume.Name, message }) : ApiProblem.Result(status, message);
        }).WithSummary("Restore one volume from a .tar.gz (the request body, e.g. a downloaded backup): the app is stopped, the volume's contents replaced, the app started again")
          .WithDescription("Body: the archive's bytes (any Content-Type; application/gzip is usual). Refused with 422, changing nothing, when it is not a gzip tar or holds an absolute path or a \"..\" segment.")
          .ProducesProblem(409).ProducesProblem(422);
    }

    /// <summary>Streams the backup as a download (the page's link uses this too).</summary>
    public static async Task<IResult> DownloadAsync(HttpContext ctx, Microsoft.Data.Sqlite.SqliteConnection c, DockerEngine engine, ProjectRow p, VolumeRow volume)
    {
        var started = false;
        try
        {
            await VolumeArchive.BackupAsync(c, engine, p, volume, () =>
            {
                started = true;
                ctx.Response.ContentType = "application/gzip";
                ctx.Response.Headers.ContentDisposition = $"attachment; filename=\"{p.Slug}-{volume.Name}-{DateTime.UtcNow:yyyyMMdd-HHmmss}.tar.gz\"";
                return ctx.Response.Body;
            }, ctx.RequestAborted);
            Audit.AuditLog.Record(c, ctx, "volume.backup", p.Slug, volume.Name);
            return Results.Empty;
        }
        catch (VolumeArchiveException e) when (!started) { return ApiProblem.Result(e.Status, e.Message); }
        catch (Exception e) when (!started && DockerEngine.IsDockerError(e)) { return ApiProblem.Result(502, $"Docker could not read the volume: {DockerErrors.Readable(e)}"); }
    }

    /// <summary>
    /// Saves the upload to a temporary file, checks it, restores; (200, what was done) or (status, why nothing was
    /// changed). The page and the API both come here.
    /// </summary>
    public static async Task<(int Status, string Message)> RestoreAsync(HttpContext ctx, Microsoft.Data.Sqlite.SqliteConnection c, DockerEngine engine, PanelSettings settings,
        ProjectRow p, VolumeRow volume, Stream upload)
    {
        // A volume is bigger than the 8 MiB every other request may send; the file goes to the data dir's disk, not memory.
        if (ctx.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = null;
        var tmpDir = Directory.CreateDirectory(Path.Combine(settings.DataDir, "tmp"));
        var file = Path.Combine(tmpDir.FullName, $"volume-restore-{Guid.NewGuid():N}.tar.gz");
        try
        {
            await using (var fs = File.Create(file)) await upload.CopyToAsync(fs, ctx.RequestAborted);
            if (await VolumeArchive.ArchiveProblemAsync(file, ctx.RequestAborted) is { } problem) return (422, problem);
            var steps = new List<string>();
            await VolumeArchive.RestoreAsync(c, engine, p, volume, file, steps.Add, ctx.RequestAborted);
            Audit.AuditLog.Record(c, ctx, "volume.restore", p.Slug, $"{volume.Name} from an archive of {new FileInfo(file).Length} bytes");
            return (200, string.Join("; ", steps));
        }
        catch (VolumeArchiveException e) { return (e.Status, e.Message); }
        catch (Exception e) when (DockerEngine.IsDockerError(e)) { return (502, $"Docker refused the restore: {DockerErrors.Readable(e)}"); }
        finally
        {
            File.Delete(file);
        }
    }
}
