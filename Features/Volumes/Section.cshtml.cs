using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Volumes;

/// <summary>
/// /projects/{id}/volumes: the project's volumes with their mount paths and sizes; add, remove, download a backup,
/// restore one (with confirmation). The project page loads the section from here with htmx (hx-select="#volumes"),
/// after its own request: the sizes come from the engine's disk-usage report, which takes a moment.
/// </summary>
public sealed class SectionModel(Db db, DockerEngine engine, PanelSettings settings) : PageModel
{
    public ProjectRow? Project { get; private set; }
    public List<VolumeSizes.VolumeView> Volumes { get; private set; } = [];
    public string? DockerProblem { get; private set; }
    public Dictionary<string, string> Errors { get; } = [];
    public VolumeInput Typed { get; private set; } = new("", "", null);
    public string? Done { get; private set; }
    public string HostPathRoot => settings.HostPathRoot;

    async Task<bool> LoadAsync(long id, CancellationToken ct)
    {
        using var c = db.Open();
        Project = ProjectStore.FindProjectVisibleTo(c, id, User.UserId(), User.IsAdmin());
        if (Project is null) return false;
        try { Volumes = await VolumeSizes.ListWithSizesAsync(c, engine, Project, ct); }
        catch (Exception e) when (DockerEngine.IsDockerError(e))
        {
            DockerProblem = $"Sizes are not shown: {DockerErrors.Readable(e)}";
            Volumes = ProjectVolumes.ListVolumesOfProject(c, id).Select(v => new VolumeSizes.VolumeView(v.Name, v.MountPath, v.HostPath, null, false, null)).ToList();
        }
        return true;
    }

    public async Task<IActionResult> OnGetAsync(long id, CancellationToken ct)
    {
        if (!await LoadAsync(id, ct)) return NotFound();
        Done = Request.Query["done"].ToString() is { Length: > 0 } d ? d : null;
        return Page();
    }

    public async Task<IActionResult> OnPostAddAsync(long id, string? name, string? mountPath, string? hostPath, CancellationToken ct)
    {
        if (!await LoadAsync(id, ct)) return NotFound();
        Typed = new VolumeInput(name?.Trim() ?? "", mountPath?.Trim() ?? "", string.IsNullOrWhiteSpace(hostPath) ? null : hostPath.Trim());
        using var c = db.Open();
        var list = ProjectVolumes.ListVolumesOfProject(c, id).Select(v => v.Input).Append(Typed).ToList();
        var (errors, detail) = await ProjectVolumes.SaveAsync(c, engine, settings, Project!, list, User.IsAdmin(), ct);
        if (errors.Count > 0)
        {
            // The list's last entry is the one typed here; its messages go next to its fields.
            var prefix = $"volumes[{list.Count - 1}].";
            foreach (var (k, v) in errors) Errors[k.StartsWith(prefix, StringComparison.Ordinal) ? k[prefix.Length..] : "form"] = v;
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Page();
        }
        if (detail is not null) Audit.AuditLog.Record(c, HttpContext, "volumes.change", Project!.Slug, detail);
        return Shared.PostRedirect.To(HttpContext, $"/projects/{id}/volumes?done=added");
    }

    public async Task<IActionResult> OnPostRemoveAsync(long id, string? name, CancellationToken ct)
    {
        if (!await LoadAsync(id, ct)) return NotFound();
        using var c = db.Open();
        var saved = ProjectVolumes.ListVolumesOfProject(c, id);
        if (saved.All(v => v.Name != name)) return NotFound();
        var (errors, detail) = await ProjectVolumes.SaveAsync(c, engine, settings, Project!, saved.Where(v => v.Name != name).Select(v => v.Input).ToList(), User.IsAdmin(), ct);
        if (errors.Count > 0)
        {
            Errors["form"] = errors.Values.First();
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Page();
        }
        if (detail is not null) Audit.AuditLog.Record(c, HttpContext, "volumes.change", Project!.Slug, detail);
        return Shared.PostRedirect.To(HttpContext, $"/projects/{id}/volumes?done=removed");
    }

    public async Task<IActionResult> OnGetArchiveAsync(long id, string? name, CancellationToken ct)
    {
        if (!await LoadAsync(id, ct)) return NotFound();
        using var c = db.Open();
        if (ProjectVolumes.ListVolumesOfProject(c, id).FirstOrDefault(v => v.Name == name) is not { } volume) return NotFound();
        var result = await VolumeApi.DownloadAsync(HttpContext, c, engine, Project!, volume);
        if (Response.HasStarted) return new EmptyResult();
        // Refused before a byte was sent: say why on the page.
        Errors["form"] = result is Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult problem ? problem.ProblemDetails.Detail ?? "The backup failed." : "The backup failed.";
        Response.StatusCode = StatusCodes.Status409Conflict;
        return Page();
    }

    public async Task<IActionResult> OnPostRestoreAsync(long id, string? name, string? confirm, IFormFile? archive, CancellationToken ct)
    {
        if (!await LoadAsync(id, ct)) return NotFound();
        using var c = db.Open();
        if (ProjectVolumes.ListVolumesOfProject(c, id).FirstOrDefault(v => v.Name == name) is not { } volume) return NotFound();
        if (archive is null || archive.Length == 0) Errors["restore-" + volume.Name] = "Choose a .tar.gz backup to restore.";
        else if (confirm != "yes") Errors["restore-" + volume.Name] = "Tick the box to confirm: the app is stopped and the volume's contents are replaced.";
        if (Errors.Count > 0)
        {
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Page();
        }
        await using var upload = archive!.OpenReadStream();
        var (status, message) = await VolumeApi.RestoreAsync(HttpContext, c, engine, settings, Project!, volume, upload);
        if (status != 200)
        {
            Errors["restore-" + volume.Name] = message;
            Response.StatusCode = status == 422 ? StatusCodes.Status422UnprocessableEntity : StatusCodes.Status409Conflict;
            return Page();
        }
        return Shared.PostRedirect.To(HttpContext, $"/projects/{id}/volumes?done=restored");
    }
}
